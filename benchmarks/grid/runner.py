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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock

from benchmarks.core.cache import (
    atomic_write,
    atomic_write_json,
    cache_dir,
    sweep_stale,
)
from benchmarks.core.environment import library_versions, machine
from benchmarks.core.errors import UserError
from benchmarks.data import external
from benchmarks.data.audit import AuditReport, audit
from benchmarks.data.datasets import INFO, drop_unreadable, relative_path
from benchmarks.data.feature_cache import load_features
from benchmarks.data.folds import assign_folds, source_folds
from benchmarks.data.image_cache import load_images, preprocessed_images
from benchmarks.data.labels import read_label_map
from benchmarks.data.segment import audit_masks
from benchmarks.data.shortcuts import shortcut_probes
from benchmarks.data.sources import load_sources, source_names
from benchmarks.grid import estimate, families, progress, strategies
from benchmarks.grid import plan as grid
from benchmarks.grid.config import RunConfig
from benchmarks.grid.configuration import Trial
from benchmarks.grid.executors import Executor, Outcome, make_executor, trials_at_once
from benchmarks.grid.store import RunStore, TrialFailure
from benchmarks.grid.strategies import class_counts
from benchmarks.grid.trials import CNN_THREADS
from benchmarks.grid.workspace import Workspace

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


def _folds(config: RunConfig, table: pd.DataFrame, groups: np.ndarray) -> np.ndarray:
    """Each row's cross-validation fold (-1: Test), once every strategy of the
    grid is known to run on every fold's training part."""
    in_cv = table["split"].isin(CV_SPLITS).to_numpy()
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
    labels = table["label"].astype(str).to_numpy()
    strategies.check_parts(
        (item.strategy for item in grid.configurations(config)),
        {
            f"fold {fold}": class_counts(labels[in_cv & (folds != fold)])
            for fold in range(config.n_folds)
        },
    )
    return folds


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
    jobs: int | None,
) -> dict:
    """The shortcut probes on the run's own folds (stratified ones over the
    pooled sources in a leave-source-out run: a cue that tells the sources
    apart is what they look for); a set too small to probe says why instead."""
    own = folds if config.scheme == "stratified" else None
    try:
        return shortcut_probes(
            table, positive, folds=own, seed=config.seed, cache=cache, n_jobs=jobs
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


def _load_manifest(config: RunConfig, cache: str | None) -> pd.DataFrame:
    """The run's sources as one manifest, labels read through its label map."""
    label_map = read_label_map(config.label_map) if config.label_map else None
    return load_sources(
        config.data,
        label_map=label_map,
        images=config.images,
        id_column=config.id_column,
        label_column=config.label_column,
        group_column=config.group_column,
        cache=cache,
        seed=config.seed,
    )


def prepare(config: RunConfig, out: str | Path, cache: str | None = None) -> Prepared:
    """Load, audit and fold the data and write the run folder's inputs."""
    # --jobs bounds the processes that decode and extract too (a cluster's
    # run does those here, on every core).
    jobs = None if config.executor == "dask" else trials_at_once(config)
    manifest = _load_manifest(config, cache)
    with progress.activity(f"auditing {len(manifest)} images"):
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
    folds = _folds(config, table, groups)
    has_test = bool((table["split"] == "test").any())
    fingerprint = _fingerprint(table)
    classes = tuple(sorted(table["label"].astype(str).unique()))
    label_map = read_label_map(config.label_map) if config.label_map else None
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
            facts["shortcuts"] = _shortcuts(
                table, positive, folds, config, cache, jobs
            )
            facts["segmentation"] = audit_masks(table, cache=cache, n_jobs=jobs)
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
            fresh = not _cached_features(table, preprocessing, cache)
            started = time.perf_counter()
            with progress.activity(
                f"features ({preprocessing}) of {len(table)} images"
            ):
                features = np.concatenate(
                    [
                        load_features(
                            rows.reset_index(drop=True),
                            cache=cache,
                            preprocessing=preprocessing,
                            n_jobs=jobs,
                        ).to_numpy(np.float32)
                        for _, rows in table.groupby("source", sort=False)
                    ]
                )
            store.write_array(store.features_path(preprocessing), features)
            if fresh:  # a computed table times this machine's extraction
                spent = time.perf_counter() - started
                estimate.record_timings(
                    [estimate.step_entry("features", len(table), spent)], cache
                )
        inputs = image_inputs(specs, config.preprocessing)
        sizes = sorted({size for size, _ in inputs})
        with progress.activity(f"images at {', '.join(map(str, sizes))} px"):
            image_paths = {
                size: str(load_images(table, size, cache=cache, n_jobs=jobs).filename)
                for size in sizes
            }
            # Once here, not once per worker: every trial then reads them.
            for size, preprocessing in inputs:
                preprocessed_images(image_paths[size], preprocessing)
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
                    rows, cache=cache, preprocessing=preprocessing, n_jobs=jobs
                ).to_numpy(np.float32)
                store.write_array(path, values)
            external_paths[name] = {
                size: str(load_images(rows, size, cache=cache, n_jobs=jobs).filename)
                for size in sizes
            }
        workspace = Workspace.of(
            store.info(), store.run_dir, CNN_THREADS, image_paths, external_paths
        )
        return Prepared(store, workspace, trials, resumed, lock)
    except BaseException:
        lock.release()
        raise


def image_inputs(
    specs: Iterable[families.Family], preprocessing: str
) -> list[tuple[int, str]]:
    """The (image size, preprocessing) pairs the networks of a grid read."""
    return sorted(
        {
            (spec.image_size, spec.input_preprocessing(preprocessing))
            for spec in specs
            if spec.image_size is not None
        }
    )


def grid_estimate(
    trials: list[Trial],
    workspace: Workspace,
    table: pd.DataFrame,
    cache: str | None,
    jobs: int = 1,
) -> tuple[estimate.Estimate, dict[Trial, estimate.Work]]:
    """The cost model's estimate of ``trials`` on this run's folds, ``jobs`` at
    a time, calibrated by this machine's timing history."""
    test_rows = int((table["split"] == "test").sum())
    sizes = estimate.sizes_of_folds(table["fold"].to_numpy(), test_rows)
    works = estimate.work_of(trials, workspace.profile, sizes, workspace.plugins)
    rates = estimate.Rates.of(estimate.read_history(cache))
    return estimate.estimate_grid(works, rates, jobs=jobs), works


def _by_family(trials: list[Trial], guess: estimate.Estimate) -> str:
    seconds: dict[str, list[float]] = {}
    for trial in trials:
        seconds.setdefault(trial.model, []).append(guess.seconds(trial))
    return ", ".join(
        f"{name} {len(values)} x ~{progress.minutes(sum(values) / len(values))}"
        for name, values in seconds.items()
    )


def run(
    config: RunConfig,
    out: str | Path = "runs",
    *,
    cache: str | None = None,
    write: Callable[[str], None] | None = None,
) -> RunStore:
    """Run (or resume) the grid; returns the run folder's store.

    A trial that fails twice leaves an error record (``RunStore.errors``) and
    the rest of the grid goes on; re-running the same command retries it.
    Progress goes to ``write``, one line per finished trial; by default to
    stderr, as a live bar with the running trials and the ETA on a terminal.
    """
    live = write is None and progress.is_terminal()
    if write is None:

        def write(line: str) -> None:
            print(line, file=sys.stderr)

    with make_executor(config) as executor:
        return _run(config, executor, out, cache, write, live=live)


def _run(
    config: RunConfig,
    executor: Executor,
    out: str | Path,
    cache: str | None,
    write: Callable[[str], None],
    *,
    live: bool = False,
) -> RunStore:
    prepared = prepare(config, out, cache)
    try:
        return _run_prepared(
            prepared,
            executor,
            write,
            cache=cache,
            jobs=trials_at_once(config),
            live=live,
        )
    finally:
        prepared.lock.release()


def _run_prepared(
    prepared: Prepared,
    executor: Executor,
    write: Callable[[str], None],
    *,
    cache: str | None = None,
    jobs: int = 1,
    live: bool = False,
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
    guess, works = grid_estimate(todo, workspace, store.manifest(), cache, jobs)
    if todo:
        write(
            f"estimated {progress.minutes(guess.total(jobs=jobs))} for {len(todo)} "
            f"trials ({_by_family(todo, guess)})"
        )
    shown = progress.GridProgress(
        todo, len(prepared.trials), guess, write, jobs=jobs, live=live
    )

    def finished(trial: Trial, outcome: Outcome) -> None:
        outcome.save(store)
        shown.finished(trial, outcome)
        if not isinstance(outcome, TrialFailure):
            seconds = outcome.record.timings.wall_seconds
            estimate.record_timings(
                [estimate.timing_entry(trial, works[trial], seconds, jobs)], cache
            )

    if todo:
        with shown:
            executor.run(todo, workspace, finished)
    failures = store.errors()
    if failures:
        write(
            f"{len(failures)} of {len(prepared.trials)} trials failed (errors in "
            f"{store.errors_dir}): "
            + ", ".join(f"{failure['key']}: {failure['error']}" for failure in failures)
        )
    return store


def _cached_features(
    table: pd.DataFrame, preprocessing: str, cache: str | None
) -> bool:
    """Whether every source's feature table of ``table`` is in the cache."""
    from benchmarks.data.feature_cache import features_path

    return all(
        features_path(
            rows.reset_index(drop=True), cache=cache, preprocessing=preprocessing
        ).exists()
        for _, rows in table.groupby("source", sort=False)
    )


def dry_run(
    config: RunConfig,
    out: str | Path = "runs",
    *,
    cache: str | None = None,
    report: bool = True,
) -> str:
    """What ``run`` would do, as text: the grid, what the run folder and the
    cache already hold, and the estimated wall time. Computes nothing (it
    reads the data's hashes, which the cache keeps, but runs no audit).

    Why: a full grid takes hours on two cores; a user should know that, and
    what a resume would redo, before starting it.
    """
    from benchmarks.data.image_cache import images_path, preprocessed_path

    manifest = _load_manifest(config, cache)
    table = manifest[manifest["readable"]].reset_index(drop=True)
    # What the run refuses before its audit, the dry run refuses too; its folds
    # group by the manifest's groups (the run's audit may join a few more).
    _positive_class(config, table)
    _folds(config, table, table["group"].astype(str).to_numpy())
    for _, path in config.external:
        if not Path(path).exists():
            raise UserError(
                f"--external {path}: no such file or folder; check the path"
            )
    split = table["split"].to_numpy()
    n_cv = int(np.isin(split, CV_SPLITS).sum())
    n_test = int((split == "test").sum())
    trials = grid.trials(config, n_test > 0 or bool(config.external))
    plugins = grid.plugins(config)
    specs = {
        name: families.family(name, plugins)
        for name in dict.fromkeys(trial.model for trial in trials)
    }
    lines = ["dry run: nothing is computed"]
    unreadable = len(manifest) - len(table)
    lines.append(
        f"data: {manifest.attrs.get('dataset') or ', '.join(config.data)}: "
        f"{len(table)} images ({n_cv} cross-validated, {n_test} Test"
        + (f"; {unreadable} unreadable, skipped" if unreadable else "")
        + ")"
    )
    per_family: dict[str, int] = {}
    for trial in trials:
        per_family[trial.model] = per_family.get(trial.model, 0) + 1
    finals = sum(trial.fold is None for trial in trials)
    lines.append(f"grid: {len(trials)} trials")
    lines.append(
        "  families: " + ", ".join(f"{name} {n}" for name, n in per_family.items())
    )
    lines.append(
        "  preprocessing: " + ", ".join((config.preprocessing, *config.variants))
    )
    lines.append(
        "  strategies: " + ", ".join(dict.fromkeys(trial.strategy for trial in trials))
    )
    lines.append(f"  folds: {config.n_folds} ({config.scheme})")
    scored = ["Test"] if n_test else []
    scored += [name for name, _ in config.external]
    lines.append(
        f"  final fits: {finals}"
        + (f", scoring {', '.join(scored)}" if finals and scored else "")
    )
    lines.append(
        "  external scoring: "
        + (", ".join(name for name, _ in config.external) or "none")
    )

    # The run folder: its name follows from the data only when no audit
    # policy drops images and no external set joins the fingerprint.
    done: set[str] = set()
    store = None
    if config.conflicts == config.test_leaks == "keep" and not config.external:
        store = RunStore(Path(out) / config.run_id(_fingerprint(table)))
    if store is None:
        lines.append(f"run folder: in {out}, named once the audit has run")
    elif (store.run_dir / "config.json").exists():
        done = store.done() & {trial.key for trial in trials}
        lines.append(
            f"run folder: {store.run_dir}: {len(done)} of {len(trials)} trials "
            "done (a run resumes there)"
        )
    else:
        lines.append(f"run folder: {store.run_dir} (new)")

    todo = [trial for trial in trials if trial.key not in done]
    rates = estimate.Rates.of(estimate.read_history(cache))
    sizes = estimate.sizes_of_counts(n_cv, n_test, config.n_folds)
    jobs = trials_at_once(config)
    guess = estimate.estimate_grid(
        estimate.work_of(todo, config.settings, sizes, plugins), rates, jobs=jobs
    )
    steps = {"audit": len(table) * rates.step("audit")}
    cached = []
    for preprocessing in sorted(
        {
            spec.input_preprocessing(config.preprocessing)
            for spec in specs.values()
            if spec.reads_features
        }
    ):
        in_folder = store is not None and store.features_path(preprocessing).exists()
        if in_folder or _cached_features(table, preprocessing, cache):
            cached.append(f"features ({preprocessing}) cached")
        else:
            cached.append(f"features ({preprocessing}) to compute")
            steps[f"features ({preprocessing})"] = len(table) * rates.step("features")
    inputs = image_inputs(specs.values(), config.preprocessing)
    for size in sorted({size for size, _ in inputs}):
        if images_path(table["sha256"], size, cache).exists():
            cached.append(f"images at {size} px cached")
        else:
            cached.append(f"images at {size} px to decode")
            steps[f"images {size} px"] = len(table) * rates.step("decode")
    for size, preprocessing in inputs:
        if preprocessing == "none":
            continue
        plain = images_path(table["sha256"], size, cache)
        if preprocessed_path(plain, preprocessing).exists():
            cached.append(f"images at {size} px ({preprocessing}) cached")
        else:
            cached.append(f"images at {size} px ({preprocessing}) to compute")
            steps[f"images {size} px ({preprocessing})"] = len(table) * rates.step(
                "preprocess"
            )
    lines.append("cache: " + ("; ".join(cached) or "nothing this grid reads"))
    if report:
        steps["report"] = rates.step("report")
    trial_seconds = guess.total(jobs=jobs)
    total = trial_seconds + sum(steps.values())
    recorded = any(estimate.base_family(n) in rates.by_family for n in per_family)
    basis = (
        "calibrated by timings recorded on this machine"
        if recorded
        else "from priors (no trial timed on this machine yet)"
    )
    lines.append(
        f"estimated wall time: {progress.minutes(total)} for {len(todo)} trials"
        + f", {jobs} at a time"
        + (f" ({_by_family(todo, guess)})" if todo else "")
        + "; "
        + ", ".join(f"{name} {progress.minutes(s)}" for name, s in steps.items())
        + f"; {basis}"
    )
    return "\n".join(lines)
