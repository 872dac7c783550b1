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
from benchmarks.grid import estimate, progress, run_plan, strategies
from benchmarks.grid.config import RunConfig
from benchmarks.grid.configuration import Trial
from benchmarks.grid.executors import Executor, Outcome, make_executor, trials_at_once
from benchmarks.grid.run_plan import RunPlan
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
    plan: RunPlan
    resumed: bool
    lock: FileLock

    @property
    def trials(self) -> list[Trial]:
        return list(self.plan.trials)


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
    """Each row's cross-validation fold (-1: Test)."""
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
    return folds


def _check_folds(plan: RunPlan, table: pd.DataFrame, folds: np.ndarray) -> None:
    """Refuse a grid with a strategy that cannot run on a fold's training part."""
    in_cv = table["split"].isin(CV_SPLITS).to_numpy()
    labels = table["label"].astype(str).to_numpy()
    strategies.check_parts(
        plan.strategies,
        {
            f"fold {fold}": class_counts(labels[in_cv & (folds != fold)])
            for fold in range(plan.config.n_folds)
        },
    )


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


@dataclass(frozen=True)
class _Audited:
    """The data after its audit and the audit policies: the rows kept."""

    report: AuditReport
    table: pd.DataFrame
    groups: np.ndarray
    readable: np.ndarray
    dropped: dict[str, int]


def _audit(config: RunConfig, manifest: pd.DataFrame) -> _Audited:
    """Audit the data and keep the rows --conflicts, --test-leaks and
    readability allow."""
    with progress.activity(f"auditing {len(manifest)} images"):
        report = audit(manifest, near_threshold=config.near_threshold)
    readable = report.manifest["readable"].to_numpy()
    if not readable.all():
        # Names the files (audit.json lists them all); with --strict, stops.
        drop_unreadable(report.manifest, strict=config.strict)
    keep, dropped = _apply_policies(config, report)
    keep &= readable
    table = report.manifest[keep].reset_index(drop=True)
    return _Audited(report, table, report.copy_group[keep], readable, dropped)


def _check_classes(config: RunConfig, table: pd.DataFrame) -> None:
    """Refuse training images of fewer than two classes."""
    in_cv = table["split"].isin(CV_SPLITS).to_numpy()
    trained_on = sorted(set(table["label"].astype(str)[in_cv]))
    if len(trained_on) < 2:
        raise UserError(
            f"--data {', '.join(config.data)}: the training images hold "
            f"{len(trained_on)} class ({', '.join(trained_on) or 'none'}); a "
            "benchmark needs two or more, one class folder (or label) each"
        )


def prepare(config: RunConfig, out: str | Path, cache: str | None = None) -> Prepared:
    """Load, audit and fold the data, plan the run and write its inputs."""
    # --jobs bounds the processes that decode and extract too (a cluster's
    # run does those here, on every core).
    jobs = None if config.executor == "dask" else trials_at_once(config)
    manifest = _load_manifest(config, cache)
    audited = _audit(config, manifest)
    table = audited.table
    positive = _positive_class(config, table)
    _check_classes(config, table)
    folds = _folds(config, table, audited.groups)
    fingerprint = _fingerprint(table)
    classes = tuple(sorted(table["label"].astype(str).unique()))
    label_map = read_label_map(config.label_map) if config.label_map else None
    externals = _external_sets(
        config, label_map, audited.report.manifest, classes, positive, cache
    )
    test_rows = int((table["split"] == "test").sum())
    plan = run_plan.plan_run(
        config,
        has_test=test_rows > 0,
        sizes=estimate.sizes_of_folds(folds, test_rows),
        fingerprint=fingerprint
        + "".join(external.fingerprint(t) for t, _ in externals.values()),
    )
    _check_folds(plan, table, folds)
    store = RunStore(Path(out) / plan.run_id)
    lock = store.lock()
    try:
        swept = store.sweep_temporary() + sweep_stale(cache_dir(cache))
        if swept:
            logger.info("removed %d temporary file(s) a stopped run left", swept)
        resumed = store.claim(
            {
                "run_id": plan.run_id,
                "config": config.to_dict(),
                "profile": config.settings.__dict__,
                "dataset": manifest.attrs.get("dataset", ""),
                "data_fingerprint": fingerprint,
                "positive_class": positive,
                "classes": list(classes),
                "grid": [[item.model, item.strategy] for item in plan.configurations],
                "versions": library_versions(),
                "machine": machine(),
            }
        )
        if not resumed or not store.inputs_intact():
            # A resumed run whose audit.json or manifest.parquet was lost or
            # damaged writes them again: they follow from the data and config.
            inputs = (audited, folds, externals, positive)
            _write_audit(store, config, inputs, cache, jobs)
        _write_features(plan, store, table, cache, jobs)
        images = _decode_images(plan, table, cache, jobs)
        external_images = _write_external_inputs(plan, store, externals, cache, jobs)
        workspace = Workspace.of(
            store.info(), store.run_dir, CNN_THREADS, images, external_images
        )
        return Prepared(store, workspace, plan, resumed, lock)
    except BaseException:
        lock.release()
        raise


def _write_audit(
    store: RunStore,
    config: RunConfig,
    inputs: tuple[_Audited, np.ndarray, dict, str],
    cache: str | None,
    jobs: int | None,
) -> None:
    """audit.json (the audit, its policies, the external sets, the shortcut
    probes and the masks) and manifest.parquet (each kept row and its fold)."""
    audited, folds, externals, positive = inputs
    table, readable, dropped = audited.table, audited.readable, audited.dropped
    facts = audited.report.to_dict()
    facts["policy"] = {
        "conflicts": config.conflicts,
        "test_leaks": config.test_leaks,
        "dropped_conflicting_images": dropped["conflicts"],
        "dropped_test_leak_images": dropped["test_leaks"],
        "dropped_unreadable_images": int((~readable).sum()),
    }
    facts["external"] = {name: about for name, (_, about) in externals.items()}
    facts["shortcuts"] = _shortcuts(table, positive, folds, config, cache, jobs)
    facts["segmentation"] = audit_masks(table, cache=cache, n_jobs=jobs)
    atomic_write_json(store.path("audit.json"), facts)
    described = pd.DataFrame(
        {
            "file": [relative_path(path, table) for path in table["path"]],
            "label": table["label"].astype(str),
            "split": table["split"],
            "group": audited.groups,
            "fold": folds,
            "sha256": table["sha256"],
            # train keeps both hashes, so that triage can name training images.
            "phash": table["phash"],
            "source": table["source"],
            "width": table["width"],
            "height": table["height"],
        }
    )
    atomic_write(
        store.path("manifest.parquet"),
        lambda stream: described.to_parquet(stream, index=False),
    )


def _write_features(
    plan: RunPlan,
    store: RunStore,
    table: pd.DataFrame,
    cache: str | None,
    jobs: int | None,
) -> None:
    """The run folder's feature table of each preprocessing the plan reads."""
    for preprocessing in plan.features:
        if store.features_path(preprocessing).exists():
            continue
        logger.info("features (%s): computing or reading from the cache", preprocessing)
        # Source by source: each source's table is cached as a run on it
        # alone caches it, so combining sources computes nothing twice.
        fresh = not _cached_features(table, preprocessing, cache)
        started = time.perf_counter()
        with progress.activity(f"features ({preprocessing}) of {len(table)} images"):
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


def _decode_images(
    plan: RunPlan, table: pd.DataFrame, cache: str | None, jobs: int | None
) -> dict[int, str]:
    """The decoded image array of each side the plan reads, preprocessed as
    its networks read them."""
    sizes = plan.image_sizes
    with progress.activity(f"images at {', '.join(map(str, sizes))} px"):
        paths = {
            size: str(load_images(table, size, cache=cache, n_jobs=jobs).filename)
            for size in sizes
        }
        # Once here, not once per worker: every trial then reads them.
        for size, preprocessing in plan.images:
            preprocessed_images(paths[size], preprocessing)
    return paths


def _write_external_inputs(
    plan: RunPlan,
    store: RunStore,
    externals: dict[str, tuple[pd.DataFrame, dict]],
    cache: str | None,
    jobs: int | None,
) -> dict[str, dict[int, str]]:
    """Each external set's manifest and features in the run folder; its
    decoded images' paths by side."""
    paths = {}
    for name, (rows, _) in externals.items():
        folder = store.external_dir(name)
        if not (folder / "manifest.parquet").exists():
            columns = rows[["file", "label", "group", "sha256"]]
            atomic_write(
                folder / "manifest.parquet",
                lambda stream, frame=columns: frame.to_parquet(stream, index=False),
            )
        for preprocessing in plan.features:
            path = store.features_path(preprocessing, name)
            if path.exists():
                continue
            logger.info("features (%s) of external set %s", preprocessing, name)
            values = load_features(
                rows, cache=cache, preprocessing=preprocessing, n_jobs=jobs
            ).to_numpy(np.float32)
            store.write_array(path, values)
        paths[name] = {
            size: str(load_images(rows, size, cache=cache, n_jobs=jobs).filename)
            for size in plan.image_sizes
        }
    return paths


def grid_estimate(
    plan: RunPlan, trials: list[Trial], rates: estimate.Rates, jobs: int = 1
) -> estimate.Estimate:
    """The cost model's estimate of the plan's ``trials``, ``jobs`` at a time,
    at this machine's ``rates``."""
    works = {trial: plan.works[trial] for trial in trials}
    return estimate.estimate_grid(works, rates, jobs=jobs)


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
    plan = prepared.plan
    todo = plan.todo(store.done())
    if prepared.resumed:
        write(
            f"resuming {store.run_dir}: {len(plan.trials) - len(todo)} of "
            f"{len(plan.trials)} trials already done"
        )
    rates = estimate.Rates.of(estimate.read_history(cache))
    guess = grid_estimate(plan, todo, rates, jobs)
    if todo:
        write(
            f"estimated {progress.minutes(guess.total(jobs=jobs))} for {len(todo)} "
            f"trials ({_by_family(todo, guess)})"
        )
    shown = progress.GridProgress(
        todo, len(plan.trials), guess, write, jobs=jobs, live=live
    )

    def finished(trial: Trial, outcome: Outcome) -> None:
        outcome.save(store)
        shown.finished(trial, outcome)
        if not isinstance(outcome, TrialFailure):
            seconds = outcome.record.timings.wall_seconds
            estimate.record_timings(
                [estimate.timing_entry(trial, plan.works[trial], seconds, jobs)],
                cache,
            )

    if todo:
        with shown:
            executor.run(todo, workspace, finished)
    failures = store.errors()
    if failures:
        write(
            f"{len(failures)} of {len(plan.trials)} trials failed (errors in "
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
    manifest = _load_manifest(config, cache)
    table = manifest[manifest["readable"]].reset_index(drop=True)
    # What the run refuses before its audit, the dry run refuses too; its folds
    # group by the manifest's groups (the run's audit may join a few more).
    _positive_class(config, table)
    folds = _folds(config, table, table["group"].astype(str).to_numpy())
    split = table["split"].to_numpy()
    n_cv = int(np.isin(split, CV_SPLITS).sum())
    n_test = int((split == "test").sum())
    # The run folder's name follows from the data only when no audit policy
    # drops images and no external set joins the fingerprint.
    known = config.conflicts == config.test_leaks == "keep" and not config.external
    plan = run_plan.plan_run(
        config,
        has_test=n_test > 0,
        sizes=estimate.sizes_of_counts(n_cv, n_test, config.n_folds),
        fingerprint=_fingerprint(table) if known else None,
    )
    _check_folds(plan, table, folds)
    for _, path in config.external:
        if not Path(path).exists():
            raise UserError(
                f"--external {path}: no such file or folder; check the path"
            )
    lines = ["dry run: nothing is computed"]
    unreadable = len(manifest) - len(table)
    lines.append(
        f"data: {manifest.attrs.get('dataset') or ', '.join(config.data)}: "
        f"{len(table)} images ({n_cv} cross-validated, {n_test} Test"
        + (f"; {unreadable} unreadable, skipped" if unreadable else "")
        + ")"
    )
    lines.extend(_grid_lines(plan, has_test=n_test > 0))
    store, done, folder = _run_folder(plan, out)
    lines.append(folder)
    rates = estimate.Rates.of(estimate.read_history(cache))
    cached, steps = _input_steps(plan, table, store, cache, rates)
    lines.append("cache: " + ("; ".join(cached) or "nothing this grid reads"))
    if report:
        steps["report"] = rates.step("report")
    lines.append(_estimate_line(plan, plan.todo(done), steps, rates))
    return "\n".join(lines)


def _grid_lines(plan: RunPlan, *, has_test: bool) -> list[str]:
    """The dry run's description of the grid."""
    config, trials = plan.config, plan.trials
    per_family: dict[str, int] = {}
    for trial in trials:
        per_family[trial.model] = per_family.get(trial.model, 0) + 1
    finals = sum(trial.fold is None for trial in trials)
    scored = ["Test"] if has_test else []
    scored += [name for name, _ in plan.external]
    return [
        f"grid: {len(trials)} trials",
        "  families: " + ", ".join(f"{name} {n}" for name, n in per_family.items()),
        "  preprocessing: " + ", ".join((config.preprocessing, *config.variants)),
        "  strategies: " + ", ".join(dict.fromkeys(trial.strategy for trial in trials)),
        f"  folds: {config.n_folds} ({config.scheme})",
        f"  final fits: {finals}"
        + (f", scoring {', '.join(scored)}" if finals and scored else ""),
        "  external scoring: "
        + (", ".join(name for name, _ in plan.external) or "none"),
    ]


def _run_folder(
    plan: RunPlan, out: str | Path
) -> tuple[RunStore | None, set[str], str]:
    """The run folder a run would use (None: named once the audit has run),
    the planned trials it holds, and a line saying so."""
    if plan.run_id is None:
        return None, set(), f"run folder: in {out}, named once the audit has run"
    store = RunStore(Path(out) / plan.run_id)
    if not (store.run_dir / "config.json").exists():
        return store, set(), f"run folder: {store.run_dir} (new)"
    done = store.done() & {trial.key for trial in plan.trials}
    return (
        store,
        done,
        f"run folder: {store.run_dir}: {len(done)} of {len(plan.trials)} trials "
        "done (a run resumes there)",
    )


def _input_steps(
    plan: RunPlan,
    table: pd.DataFrame,
    store: RunStore | None,
    cache: str | None,
    rates: estimate.Rates,
) -> tuple[list[str], dict[str, float]]:
    """What the cache holds of the plan's inputs, and the estimated seconds
    of the audit and of each input still to compute."""
    from benchmarks.data.image_cache import images_path, preprocessed_path

    steps = {"audit": len(table) * rates.step("audit")}
    cached = []
    for preprocessing in plan.features:
        in_folder = store is not None and store.features_path(preprocessing).exists()
        if in_folder or _cached_features(table, preprocessing, cache):
            cached.append(f"features ({preprocessing}) cached")
        else:
            cached.append(f"features ({preprocessing}) to compute")
            steps[f"features ({preprocessing})"] = len(table) * rates.step("features")
    for size in plan.image_sizes:
        if images_path(table["sha256"], size, cache).exists():
            cached.append(f"images at {size} px cached")
        else:
            cached.append(f"images at {size} px to decode")
            steps[f"images {size} px"] = len(table) * rates.step("decode")
    for size, preprocessing in plan.images:
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
    return cached, steps


def _estimate_line(
    plan: RunPlan,
    todo: list[Trial],
    steps: dict[str, float],
    rates: estimate.Rates,
) -> str:
    """The dry run's estimated wall time: the trials to run and the steps."""
    jobs = trials_at_once(plan.config)
    guess = grid_estimate(plan, todo, rates, jobs)
    total = guess.total(jobs=jobs) + sum(steps.values())
    models = dict.fromkeys(trial.model for trial in plan.trials)
    recorded = any(estimate.base_family(n) in rates.by_family for n in models)
    basis = (
        "calibrated by timings recorded on this machine"
        if recorded
        else "from priors (no trial timed on this machine yet)"
    )
    return (
        f"estimated wall time: {progress.minutes(total)} for {len(todo)} trials"
        + f", {jobs} at a time"
        + (f" ({_by_family(todo, guess)})" if todo else "")
        + "; "
        + ", ".join(f"{name} {progress.minutes(s)}" for name, s in steps.items())
        + f"; {basis}"
    )
