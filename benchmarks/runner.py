"""A run: prepare the data once, then execute the grid of trials, resumably.

Preparation follows DESIGN's flow: manifest -> audit (its policies applied) ->
group-aware folds -> image cache / features -> trials -> leaderboard. Each
trial's record is written the moment it finishes; a re-run of the same command
finds the same run folder (its name is a hash of config and data) and runs only
the trials without a record.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock

from benchmarks import external, families, grid
from benchmarks.audit import AuditReport, audit
from benchmarks.cache import atomic_write, atomic_write_json, cache_dir, sweep_stale
from benchmarks.config import RunConfig
from benchmarks.configuration import Trial
from benchmarks.datasets import INFO, drop_unreadable, relative_path
from benchmarks.environment import library_versions, machine
from benchmarks.errors import UserError
from benchmarks.executors import Executor, Outcome, TrialFailure, make_executor
from benchmarks.feature_cache import load_features
from benchmarks.folds import assign_folds, source_folds
from benchmarks.image_cache import load_images
from benchmarks.labels import read_label_map
from benchmarks.leaderboard import leaderboard_of
from benchmarks.shortcuts import shortcut_probes
from benchmarks.sources import load_sources, source_names
from benchmarks.spreadsheet import csv_bytes
from benchmarks.store import RunStore
from benchmarks.trials import CNN_THREADS
from benchmarks.workspace import Workspace

logger = logging.getLogger(__name__)

#: Splits pooled for cross-validation; 'test' is held out for the final fits.
CV_SPLITS = ("train", "val")


@dataclass(frozen=True)
class Prepared:
    """A run folder ready for trials, held by this process (``lock``)."""

    store: RunStore
    workspace: Workspace
    trials: list[Trial]
    resumed: bool
    lock: FileLock


def _positive_class(config: RunConfig, manifest: pd.DataFrame) -> str:
    labels = set(manifest["label"].astype(str))
    if config.positive_class is not None:
        chosen = config.positive_class
    else:
        info = INFO.get(manifest.attrs.get("dataset", ""))
        chosen = info.melanoma_class if info else "melanoma"
    if chosen not in labels:
        raise UserError(
            f"--positive-class {chosen}: no such class in the data; choose one of "
            f"{', '.join(sorted(labels))}"
        )
    return chosen


def _apply_policies(
    config: RunConfig, report: AuditReport
) -> tuple[np.ndarray, dict[str, int]]:
    """Rows kept after --conflicts and --test-leaks, and how many each dropped."""
    manifest = report.manifest
    keep = np.ones(len(manifest), dtype=bool)
    position = {path: index for index, path in enumerate(manifest["path"])}
    dropped = {"conflicts": 0, "test_leaks": 0}
    for group in report.groups:
        if group["kind"] != "exact":
            continue
        rows = np.array([position[path] for path in group["files"]])
        if group["conflict"] and config.conflicts == "drop":
            dropped["conflicts"] += int(keep[rows].sum())
            keep[rows] = False
        if group["leak"] and config.test_leaks == "drop":
            in_test = rows[manifest["split"].to_numpy()[rows] == "test"]
            dropped["test_leaks"] += int(keep[in_test].sum())
            keep[in_test] = False
    return keep, dropped


def _fingerprint(table: pd.DataFrame) -> str:
    """What the data holds, independent of where it lives."""
    rows = sorted(zip(table["sha256"], table["label"], table["split"], strict=True))
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def _shortcuts(
    table: pd.DataFrame,
    positive: str,
    folds: np.ndarray,
    config: RunConfig,
    cache: str | None,
) -> dict:
    """The shortcut probes on the run's own folds (stratified ones over the
    pooled sources in a leave-source-out run: a cue that tells the sources
    apart is what they look for); a set too small to probe says why instead."""
    own = folds if config.scheme == "stratified" else None
    try:
        return shortcut_probes(
            table, positive, folds=own, seed=config.seed, cache=cache
        )
    except UserError as error:
        return {"skipped": str(error), "flagged": []}


def _external_sets(
    config: RunConfig,
    label_map: dict[str, str] | None,
    training: pd.DataFrame,
    classes: tuple[str, ...],
    positive: str,
    cache: str | None,
) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Each ``--external`` set's scorable rows and its facts for audit.json."""
    if not config.external:
        return {}
    loaded = {}
    for name, path in config.external:
        rows, facts = external.load_external(
            external.ExternalSource(name, path),
            training,
            classes,
            positive,
            near_threshold=config.near_threshold,
            label_map=label_map,
            cache=cache,
        )
        logger.info(
            "external set %s: %d images scored, %d dropped as training images",
            name,
            facts["scored"],
            facts["in_training_data"],
        )
        loaded[name] = (rows, facts)
    return loaded


def prepare(config: RunConfig, out: str | Path, cache: str | None = None) -> Prepared:
    """Load, audit and fold the data and write the run folder's inputs."""
    label_map = read_label_map(config.label_map) if config.label_map else None
    manifest = load_sources(
        config.data,
        label_map=label_map,
        images=config.images,
        id_column=config.id_column,
        label_column=config.label_column,
        group_column=config.group_column,
        cache=cache,
        seed=config.seed,
    )
    report = audit(manifest, near_threshold=config.near_threshold)
    readable = report.manifest["readable"].to_numpy()
    if not readable.all():
        # Names the files (audit.json lists them all); with --strict, stops.
        drop_unreadable(report.manifest, strict=config.strict)
    keep, dropped = _apply_policies(config, report)
    keep &= readable
    table = report.manifest[keep].reset_index(drop=True)
    groups = report.copy_group[keep]
    positive = _positive_class(config, table)

    in_cv = table["split"].isin(CV_SPLITS).to_numpy()
    trained_on = sorted(set(table["label"].astype(str)[in_cv]))
    if len(trained_on) < 2:
        raise UserError(
            f"--data {', '.join(config.data)}: the training images hold "
            f"{len(trained_on)} class ({', '.join(trained_on) or 'none'}); a "
            "benchmark needs two or more, one class folder (or label) each"
        )
    folds = np.full(len(table), -1, dtype=np.int64)
    if config.scheme == "leave-source-out":
        folds[in_cv] = source_folds(
            table["source"].to_numpy()[in_cv],
            groups[in_cv],
            source_names(config.data),
        )
    else:
        folds[in_cv] = assign_folds(
            table["label"].to_numpy()[in_cv],
            groups[in_cv],
            n_folds=config.n_folds,
            seed=config.seed,
        )
    has_test = bool((table["split"] == "test").any())
    fingerprint = _fingerprint(table)
    classes = tuple(sorted(table["label"].astype(str).unique()))
    externals = _external_sets(
        config, label_map, report.manifest, classes, positive, cache
    )
    run_id = config.run_id(
        fingerprint + "".join(external.fingerprint(t) for t, _ in externals.values())
    )
    store = RunStore(Path(out) / run_id)
    lock = store.lock()
    try:
        swept = store.sweep_temporary() + sweep_stale(cache_dir(cache))
        if swept:
            logger.info("removed %d temporary file(s) a stopped run left", swept)
        resumed = store.claim(
            {
                "run_id": run_id,
                "config": config.to_dict(),
                "profile": config.settings.__dict__,
                "dataset": manifest.attrs.get("dataset", ""),
                "data_fingerprint": fingerprint,
                "positive_class": positive,
                "classes": list(classes),
                "grid": [
                    [item.model, item.strategy] for item in grid.configurations(config)
                ],
                "versions": library_versions(),
                "machine": machine(),
            }
        )
        if not resumed or not store.inputs_intact():
            # A resumed run whose audit.json or manifest.parquet was lost or
            # damaged writes them again: they follow from the data and config.
            facts = report.to_dict()
            facts["policy"] = {
                "conflicts": config.conflicts,
                "test_leaks": config.test_leaks,
                "dropped_conflicting_images": dropped["conflicts"],
                "dropped_test_leak_images": dropped["test_leaks"],
                "dropped_unreadable_images": int((~readable).sum()),
            }
            facts["external"] = {name: about for name, (_, about) in externals.items()}
            facts["shortcuts"] = _shortcuts(table, positive, folds, config, cache)
            atomic_write_json(store.path("audit.json"), facts)
            described = pd.DataFrame(
                {
                    "file": [relative_path(path, table) for path in table["path"]],
                    "label": table["label"].astype(str),
                    "split": table["split"],
                    "group": groups,
                    "fold": folds,
                    "sha256": table["sha256"],
                    "source": table["source"],
                    "width": table["width"],
                    "height": table["height"],
                }
            )
            atomic_write(
                store.path("manifest.parquet"),
                lambda stream: described.to_parquet(stream, index=False),
            )

        trials = grid.trials(config, has_test or bool(externals))
        specs = [
            families.family(name, grid.plugins(config))
            for name in dict.fromkeys(trial.model for trial in trials)
        ]
        feature_preprocessing = sorted(
            {
                spec.input_preprocessing(config.preprocessing)
                for spec in specs
                if spec.reads_features
            }
        )
        for preprocessing in feature_preprocessing:
            if store.features_path(preprocessing).exists():
                continue
            logger.info(
                "features (%s): computing or reading from the cache", preprocessing
            )
            # Source by source: each source's table is cached as a run on it
            # alone caches it, so combining sources computes nothing twice.
            features = np.concatenate(
                [
                    load_features(
                        rows.reset_index(drop=True),
                        cache=cache,
                        preprocessing=preprocessing,
                    ).to_numpy(np.float32)
                    for _, rows in table.groupby("source", sort=False)
                ]
            )
            store.write_array(store.features_path(preprocessing), features)
        sizes = sorted(
            {spec.image_size for spec in specs if spec.image_size is not None}
        )
        image_paths = {
            size: str(load_images(table, size, cache=cache).filename) for size in sizes
        }
        external_paths = {}
        for name, (rows, _) in externals.items():
            folder = store.external_dir(name)
            if not (folder / "manifest.parquet").exists():
                columns = rows[["file", "label", "group", "sha256"]]
                atomic_write(
                    folder / "manifest.parquet",
                    lambda stream, frame=columns: frame.to_parquet(stream, index=False),
                )
            for preprocessing in feature_preprocessing:
                path = store.features_path(preprocessing, name)
                if path.exists():
                    continue
                logger.info("features (%s) of external set %s", preprocessing, name)
                values = load_features(
                    rows, cache=cache, preprocessing=preprocessing
                ).to_numpy(np.float32)
                store.write_array(path, values)
            external_paths[name] = {
                size: str(load_images(rows, size, cache=cache).filename)
                for size in sizes
            }
        workspace = Workspace.of(
            store.info(), store.run_dir, CNN_THREADS, image_paths, external_paths
        )
        return Prepared(store, workspace, trials, resumed, lock)
    except BaseException:
        lock.release()
        raise


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s"


class Progress:
    """'trial k/n' lines with elapsed time and an ETA from the trials so far
    (per model family, since a seed-cnn trial costs ten cnn trials)."""

    def __init__(self, todo: list[Trial], total: int, write: Callable[[str], None]):
        self.remaining = list(todo)
        self.total = total
        self.done = total - len(todo)
        self.write = write
        self.started = time.perf_counter()
        self.seconds: dict[str, list[float]] = {}

    def _eta(self) -> float | None:
        if not self.seconds:
            return None
        overall = float(
            np.mean([s for values in self.seconds.values() for s in values])
        )
        return sum(
            float(np.mean(self.seconds.get(trial.model, [overall])))
            for trial in self.remaining
        )

    def finished(self, trial: Trial, outcome: Outcome) -> None:
        self.done += 1
        self.remaining.remove(trial)
        if isinstance(outcome, TrialFailure):
            what = f"FAILED ({outcome.error})"
        else:
            record = outcome.record
            wall = record["timings"]["wall_seconds"]
            self.seconds.setdefault(trial.model, []).append(wall)
            part = record["evaluated_on"]
            score = record["metrics"][part]["balanced_accuracy"]
            what = f"{part} balanced accuracy {score:.3f} in {_minutes(wall)}"
        eta = self._eta()
        self.write(
            f"trial {self.done}/{self.total} {trial.key}: {what} | elapsed "
            f"{_minutes(time.perf_counter() - self.started)}"
            + ("" if eta is None else f", ETA {_minutes(eta)}")
        )


def run(
    config: RunConfig,
    out: str | Path = "runs",
    *,
    cache: str | None = None,
    write: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> RunStore:
    """Run (or resume) the grid; returns the run folder's store.

    A trial that fails twice leaves an error record (``RunStore.errors``) and
    the rest of the grid goes on; re-running the same command retries it.
    """
    with make_executor(config) as executor:
        return _run(config, executor, out, cache, write)


def _run(
    config: RunConfig,
    executor: Executor,
    out: str | Path,
    cache: str | None,
    write: Callable[[str], None],
) -> RunStore:
    prepared = prepare(config, out, cache)
    try:
        return _run_prepared(prepared, executor, write)
    finally:
        prepared.lock.release()


def _run_prepared(
    prepared: Prepared, executor: Executor, write: Callable[[str], None]
) -> RunStore:
    store, workspace = prepared.store, prepared.workspace
    for key in store.set_aside_damaged():
        write(
            f"trial {key}: its record is damaged; moved to damaged/, computing it again"
        )
    done = store.done()
    todo = [trial for trial in prepared.trials if trial.key not in done]
    if prepared.resumed:
        write(
            f"resuming {store.run_dir}: {len(prepared.trials) - len(todo)} of "
            f"{len(prepared.trials)} trials already done"
        )
    progress = Progress(todo, len(prepared.trials), write)

    def finished(trial: Trial, outcome: Outcome) -> None:
        outcome.save(store)
        progress.finished(trial, outcome)

    if todo:
        executor.run(todo, workspace, finished)
    board = leaderboard_of(store)
    atomic_write(
        store.path("leaderboard.csv"),
        lambda stream: stream.write(csv_bytes(board)),
    )
    failures = store.errors()
    if failures:
        write(
            f"{len(failures)} of {len(prepared.trials)} trials failed (errors in "
            f"{store.errors_dir}): "
            + ", ".join(f"{failure['key']}: {failure['error']}" for failure in failures)
        )
    return store
