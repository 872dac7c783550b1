"""One trial: fit a (model, strategy) on a fold's training part, score both parts.

Why a trial reads everything from paths (``Workspace``) rather than taking
arrays: the executor may run it in another process or on another machine, and
the decoded images of a data set are hundreds of megabytes.
"""

from __future__ import annotations

import ast
import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.core.environment import library_versions
from benchmarks.core.errors import UserError
from benchmarks.core.plugins import allow
from benchmarks.data.external import external_figures
from benchmarks.data.image_cache import preprocessed_images
from benchmarks.grid import explanations, families
from benchmarks.grid.configuration import Configuration, Trial
from benchmarks.grid.families import Family, FitContext
from benchmarks.grid.record import Metrics, Timings, TrialRecord
from benchmarks.grid.store import RunStore
from benchmarks.grid.strategies import Resampled, class_counts, resample
from benchmarks.grid.workspace import Workspace
from benchmarks.scoring.metrics import evaluate

logger = logging.getLogger(__name__)

#: TensorFlow intra-op threads of every CNN fit, whatever --jobs or the machine.
#: A CNN's figures depend on its thread count, so a fixed count keeps them the
#: same under any --jobs, executor or core count (docs/results-isic9.md has the
#: timings behind the choice).
CNN_THREADS = 2
#: Scalar metrics whose train-minus-evaluation gap a record keeps.
GAP_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "melanoma_sensitivity",
    "melanoma_auc",
)


@functools.lru_cache(maxsize=4)
def _table(run_dir: str) -> pd.DataFrame:
    return RunStore(run_dir).manifest()


@functools.lru_cache(maxsize=8)
def _features(run_dir: str, preprocessing: str, external: str | None) -> np.ndarray:
    path = RunStore(run_dir).features_path(preprocessing, external)
    return np.load(path, mmap_mode="r")


@functools.lru_cache(maxsize=8)
def _external_table(run_dir: str, name: str) -> pd.DataFrame:
    return RunStore(run_dir).manifest(name)


@functools.lru_cache(maxsize=4)
def _images(path: str, preprocessing: str) -> np.ndarray:
    return preprocessed_images(path, preprocessing)


def split_rows(table: pd.DataFrame, fold: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, evaluation rows) of a fold, or of the final fit."""
    folds = table["fold"].to_numpy()
    if fold is None:
        train = np.flatnonzero(folds >= 0)
        return train, np.flatnonzero(table["split"].to_numpy() == "test")
    return np.flatnonzero((folds >= 0) & (folds != fold)), np.flatnonzero(folds == fold)


def _option_value(text: str) -> Any:
    """A --model-option value: a Python literal where it reads as one (16,
    0.5, True), else the text itself (a file name)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def fit_context(trial: Trial, workspace: Workspace, n_train: int, n_fit: int):
    """What the trial's family factory reads."""
    return FitContext(
        model=trial.model,
        strategy=trial.strategy,
        fold=trial.fold,
        profile=workspace.profile,
        seed=workspace.seed,
        n_threads=workspace.n_threads,
        n_train=n_train,
        n_fit=n_fit,
        options={
            name: _option_value(value)
            for name, value in workspace.options(trial.model).items()
        },
        precision=workspace.precision,
        classes=tuple(workspace.classes),
    )


def _fit(
    trial: Trial,
    workspace: Workspace,
    family: Family,
    fitted: Resampled,
    n_train: int,
    monitor: tuple[np.ndarray, np.ndarray] | None,
) -> Any:
    """The trial's estimator fitted on its resampled rows, calibrated as the
    run's ``--calibration`` says (``_calibrated``)."""
    context = fit_context(trial, workspace, n_train, len(fitted.y))
    if workspace.calibration != "none" and _calibrates(trial, workspace, family):
        splits = _calibration_splits(fitted, workspace.seed)
        if splits is not None:
            return _calibrated(family, context, fitted, splits, workspace.calibration)
        logger.warning(
            "%s: too few training images of some class to calibrate; left as is",
            trial.key,
        )
    return families.fit_estimator(
        family, context, fitted.X, fitted.y, fitted.sample_weight, monitor
    )


#: Slices of a training part that post-hoc calibration cross-fits over.
CALIBRATION_FOLDS = 3


def _calibrates(trial: Trial, workspace: Workspace, family: Family) -> bool:
    """Whether --calibration applies: every family but those reading images.

    Why not the networks: a Keras fit per slice would triple the slowest
    trials, and the cnn's embeddings feed hybrid, so its estimator must stay
    the one that embeds. Temperature scaling on a held-out slice would cost it
    a third of its training images instead; neither was worth it here.
    """
    return families.IMAGES not in family.inputs and not families.embedded(
        trial.model, workspace.plugins
    )


def _calibration_splits(
    fitted: Resampled, seed: int
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """(rows to fit, rows to calibrate on) of each slice, as positions in
    ``fitted``; None when a class has too few images to slice.

    Slices are drawn over the training images the strategy kept, not over its
    rows: every copy of an image sits on the same side, so an oversampled
    copy never scores itself. The calibration rows are each image once, as
    it was (no copies, no made rows, no weights), so the calibrated
    probabilities answer for the class mix the data has. Rows a sampler
    made (SMOTE) are fitted in every slice.
    """
    from sklearn.model_selection import StratifiedKFold

    origins, first = np.unique(fitted.drawn, return_index=True)
    kept = origins >= 0
    origins, first = origins[kept], first[kept]
    labels = np.asarray(fitted.y)[first]
    _, counts = np.unique(labels, return_counts=True)
    n_splits = min(CALIBRATION_FOLDS, int(counts.min()))
    if n_splits < 2:
        return None
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    splits = []
    for _, held in folds.split(first, labels):
        fit_rows = np.flatnonzero(~np.isin(fitted.drawn, origins[held]))
        splits.append((fit_rows, first[held]))
    return splits


def _calibrated(
    family: Family,
    context: FitContext,
    fitted: Resampled,
    splits: list[tuple[np.ndarray, np.ndarray]],
    method: str,
) -> Any:
    """scikit-learn's CalibratedClassifierCV over ``splits``: one model per
    slice fitted on the other slices (weights and all), its probabilities
    calibrated on its own slice, the calibrated probabilities averaged.

    The estimator sits in a one-step Pipeline so that the strategy's weights
    reach it by name and never the calibrators.
    """
    import inspect

    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import Pipeline

    estimator = family.make(context)
    if not hasattr(estimator, "get_params"):
        raise UserError(
            f"{family.name}: --calibration needs a scikit-learn style estimator "
            "(get_params, for copies per slice); run it with --calibration none"
        )
    arguments = {}
    if fitted.sample_weight is not None:
        name = "sample_weight"
        steps = getattr(estimator, "steps", None)
        if "sample_weight" not in inspect.signature(estimator.fit).parameters and steps:
            name = f"{steps[-1][0]}__sample_weight"
        arguments[f"model__{name}"] = fitted.sample_weight
    calibrated = CalibratedClassifierCV(
        Pipeline([("model", estimator)]), method=method, cv=splits, ensemble=True
    )
    return calibrated.fit(fitted.X, fitted.y, **arguments)


@dataclass(frozen=True)
class RunInputs:
    """A run folder's inputs for every row of the run, or of one external set
    (``external``): features, cached images (preprocessed as the run says)
    and the embeddings its parts' trials stored."""

    trial: Trial
    workspace: Workspace
    external: str | None = None

    @property
    def preprocessing(self) -> str:
        return self.workspace.preprocessing

    def features(self, preprocessing: str) -> np.ndarray:
        return _features(self.workspace.run_dir, preprocessing, self.external)

    def images(self, size: int, preprocessing: str) -> np.ndarray:
        paths = (
            self.workspace.image_paths
            if self.external is None
            else self.workspace.external_image_paths[self.external]
        )
        return _images(paths[size], preprocessing)

    def embeddings(self, model: str) -> np.ndarray:
        need = self.trial.on(model)
        key = (
            need.key if self.external is None else external_key(need.key, self.external)
        )
        source = self.workspace.store.embedding_path(key)
        if not source.is_file():
            raise RuntimeError(f"{self.trial.key}: run {need.key} first (no {source})")
        return np.load(source)


def external_key(key: str, name: str) -> str:
    """Where a trial's embeddings of an external set are stored."""
    return f"{key}--external-{name}"


def _score_externals(
    trial: Trial, workspace: Workspace, family: Family, estimator: Any = None
) -> tuple[dict, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A final fit's figures, scores and (for a family others read) embeddings
    of every external set: ``estimator`` scores them, or for a family that
    combines its parts, their stored external scores are combined."""
    figures: dict = {}
    scores: dict[str, np.ndarray] = {}
    embedded: dict[str, np.ndarray] = {}
    if trial.fold is not None:
        return figures, scores, embedded
    for name in workspace.externals:
        column = f"external_{name}_proba"
        if family.fits:
            X = np.asarray(
                families.design_matrix(family, RunInputs(trial, workspace, name))
            )
            proba = families.class_probabilities(estimator, X, workspace.classes)
            if families.embedded(trial.model, workspace.plugins):
                embedded[name] = estimator.embed(X)
        else:
            needs = families.needs(trial, workspace.plugins)
            proba = family.combine(
                [workspace.store.scores(need.key)[column] for need in needs]
            )
        labels = _external_table(workspace.run_dir, name)["label"].to_numpy()
        figures[name] = external_figures(
            labels, proba, workspace.classes, workspace.positive
        )
        scores[column] = proba.astype(np.float32)
    return figures, scores, embedded


def fit_configuration(
    configuration: Configuration,
    workspace: Workspace,
    source: families.InputSource,
    y: np.ndarray,
) -> dict[str, Any]:
    """The fitted estimators of a configuration's final fit, by family: its own
    and its parts', each fitted on ``source``'s rows as its final trial was.

    Why: ``train`` saves the model of a configuration's final fit for triage;
    this fits it as those trials do (same strategy, epochs, seeds, no
    evaluation part), so the saved model is the one whose Test figures the run
    reports.
    """
    fitted_source = families.FittedSource(source, {}, workspace.plugins)
    for name in families.with_parts([configuration.model], workspace.plugins):
        family = families.family(name, workspace.plugins)
        if not family.fits:
            continue
        trial = Trial(name, configuration.strategy, None)
        X = families.design_matrix(family, fitted_source)
        resampled = resample(trial.strategy, X, y, seed=workspace.seed)
        fitted_source.estimators[name] = _fit(
            trial, workspace, family, resampled, len(y), None
        )
    return fitted_source.estimators


def _curves(estimator: Any) -> dict[str, Any]:
    history = getattr(estimator, "history_", None)
    if not history:
        return {}
    best = getattr(estimator, "best_epoch_", getattr(estimator, "best_iteration_", 0))
    unit = "epoch" if hasattr(estimator, "best_epoch_") else "round"
    return {"unit": unit, "best": int(best), **{k: list(v) for k, v in history.items()}}


@dataclass(frozen=True)
class TrialResult:
    """What a finished trial hands back for the store.

    Why a trial does not write the run folder itself: on a Dask cluster it runs
    on another machine, and one process (the one running the grid) writing
    every file keeps the store's atomic writes and resume rules in one place.
    """

    record: TrialRecord
    scores: dict[str, np.ndarray]
    embeddings: np.ndarray | None = None
    external_embeddings: dict[str, np.ndarray] = field(default_factory=dict)

    def save(self, store: RunStore) -> None:
        """Embeddings first (a family reading them may start next), then scores
        and the record that marks the trial done."""
        key = self.record.key
        if self.embeddings is not None:
            store.write_array(store.embedding_path(key), self.embeddings)
        for name, values in self.external_embeddings.items():
            store.write_array(store.embedding_path(external_key(key, name)), values)
        store.write_trial(self.record, self.scores)


def _scored(
    trial: Trial,
    workspace: Workspace,
    labels: np.ndarray,
    rows: tuple[np.ndarray, np.ndarray],
    proba: tuple[np.ndarray, np.ndarray],
) -> dict[str, Any]:
    """The record's figures: metrics on both parts and their train-minus gaps,
    as ``TrialRecord`` fields."""
    (train, evaluation), (proba_train, proba_evaluation) = rows, proba
    part = "test" if trial.fold is None else "validation"
    metrics = {
        "train": evaluate(
            labels[train], proba_train, workspace.classes, workspace.positive
        )
    }
    # A final fit of data without a Test split scores only external sets.
    if len(evaluation):
        metrics[part] = evaluate(
            labels[evaluation],
            proba_evaluation,
            workspace.classes,
            workspace.positive,
        )
    gap = {
        name: None
        if part not in metrics
        or metrics["train"][name] is None
        or metrics[part][name] is None
        else metrics["train"][name] - metrics[part][name]
        for name in GAP_METRICS
    }
    return {
        "key": trial.key,
        "model": trial.model,
        "strategy": trial.strategy,
        "fold": trial.fold,
        "evaluated_on": part,
        "seed": workspace.seed,
        "n_train": len(train),
        "n_evaluated": len(evaluation),
        "class_counts_before": class_counts(labels[train]),
        "metrics": Metrics(**metrics),
        "gap": gap,
    }


def _compute_combined(trial: Trial, family: Family, workspace: Workspace):
    """The family's combination of its parts' probabilities, row by row.

    Why it needs no leak check of its own: it fits nothing, and each part's
    scores of the evaluation rows come from a model that never saw them.
    """
    started = time.perf_counter()
    store = workspace.store
    done = store.done()
    needs = families.needs(trial, workspace.plugins)
    missing = [need.key for need in needs if need.key not in done]
    if missing:
        raise RuntimeError(f"{trial.key}: run {', '.join(missing)} first")
    parts = [store.scores(need.key) for need in needs]
    first = parts[0]
    for name in ("train_rows", "evaluation_rows"):
        if any(not np.array_equal(part[name], first[name]) for part in parts):
            raise RuntimeError(
                f"{trial.key}: its parts scored different {name.replace('_', ' ')}; "
                "the run folder is damaged, run the grid again"
            )
    proba_train = family.combine([part["train_proba"] for part in parts])
    proba_evaluation = family.combine([part["evaluation_proba"] for part in parts])
    combine_seconds = time.perf_counter() - started

    table = _table(workspace.run_dir)
    labels = table["label"].astype(str).to_numpy()
    rows = (first["train_rows"], first["evaluation_rows"])
    scored = _scored(trial, workspace, labels, rows, (proba_train, proba_evaluation))
    # Every part resamples its fold by the same strategy and seed, so the class
    # counts are the first part's; what it fitted is in its own record.
    source = store.record(needs[0].key)
    timings = Timings(
        fit_seconds=0.0,
        predict_seconds=combine_seconds,
        wall_seconds=time.perf_counter() - started,
        train_images_per_second=None,
        predict_images_per_second=(len(rows[0]) + len(rows[1]))
        / max(combine_seconds, 1e-9),
    )
    figures, external_scores, _ = _score_externals(trial, workspace, family)
    record = TrialRecord(
        **scored,
        parts=tuple(need.key for need in needs),
        n_fitted=source.n_fitted,
        n_synthetic=source.n_synthetic,
        class_counts_after=source.class_counts_after,
        curves={},
        timings=timings,
        versions=library_versions(),
        external=figures or None,
    )
    scores = {
        "train_rows": rows[0],
        "train_proba": proba_train.astype(np.float32),
        "evaluation_rows": rows[1],
        "evaluation_proba": proba_evaluation.astype(np.float32),
        "fitted_rows": first["fitted_rows"],
        **external_scores,
    }
    return TrialResult(record, scores)


def _explain(
    trial: Trial,
    estimator: Any,
    family: Family,
    workspace: Workspace,
    X_evaluation: np.ndarray,
    labels: np.ndarray,
    evaluation: np.ndarray,
    proba_evaluation: np.ndarray,
) -> tuple[dict | None, dict[str, np.ndarray]]:
    """Why a fold trial scores as it does: per-column importance (trees,
    linear) or Grad-CAM maps of a few melanomas (networks);
    benchmarks/grid/explanations.py. A final fit explains nothing."""
    if trial.fold is None:
        return None, {}
    return explanations.trial_explanations(
        estimator,
        family,
        X_evaluation,
        labels[evaluation],
        proba_evaluation,
        workspace.classes,
        workspace.positive,
        evaluation,
    )


def compute_trial(trial: Trial, workspace: Workspace) -> TrialResult:
    """Fit and score one trial; writes nothing (``TrialResult.save`` does)."""
    # A worker process: its parent was allowed these (``Workspace.of``).
    allow(workspace.plugins)
    family = families.family(trial.model, workspace.plugins)
    if not family.fits:
        return _compute_combined(trial, family, workspace)
    started = time.perf_counter()
    table = _table(workspace.run_dir)
    labels = table["label"].astype(str).to_numpy()
    rows = split_rows(table, trial.fold)
    train, evaluation = rows
    inputs = families.design_matrix(family, RunInputs(trial, workspace))
    X_train, X_evaluation = np.asarray(inputs[train]), np.asarray(inputs[evaluation])
    fitted = resample(trial.strategy, X_train, labels[train], seed=workspace.seed)

    fit_started = time.perf_counter()
    monitor = None if trial.fold is None else (X_evaluation, labels[evaluation])
    estimator = _fit(trial, workspace, family, fitted, len(train), monitor)
    fit_seconds = time.perf_counter() - fit_started

    predict_started = time.perf_counter()
    proba_train = families.class_probabilities(estimator, X_train, workspace.classes)
    proba_evaluation = families.class_probabilities(
        estimator, X_evaluation, workspace.classes
    )
    predict_seconds = time.perf_counter() - predict_started
    explain_started = time.perf_counter()
    importance, explained = _explain(
        trial,
        estimator,
        family,
        workspace,
        X_evaluation,
        labels,
        evaluation,
        proba_evaluation,
    )
    explain_seconds = time.perf_counter() - explain_started
    embeddings = None
    if families.embedded(trial.model, workspace.plugins):
        embeddings = estimator.embed(np.asarray(inputs))
    scored = _scored(trial, workspace, labels, rows, (proba_train, proba_evaluation))
    timings = Timings(
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
        explain_seconds=explain_seconds,
        wall_seconds=time.perf_counter() - started,
        train_images_per_second=getattr(
            estimator, "images_per_second_", len(fitted.y) / fit_seconds
        ),
        predict_images_per_second=(len(train) + len(evaluation))
        / max(predict_seconds, 1e-9),
    )
    figures, external_scores, external_embeddings = _score_externals(
        trial, workspace, family, estimator
    )
    record = TrialRecord(
        **scored,
        n_fitted=len(fitted.y),
        n_synthetic=fitted.n_synthetic,
        class_counts_after=class_counts(fitted.y),
        resampling_notes=tuple(fitted.notes) or None,
        curves=_curves(estimator),
        timings=timings,
        versions=library_versions(),
        importance=importance or None,
        external=figures or None,
    )
    drawn = np.where(fitted.drawn >= 0, train[np.maximum(fitted.drawn, 0)], -1)
    scores = {
        "train_rows": train,
        "train_proba": proba_train.astype(np.float32),
        "evaluation_rows": evaluation,
        "evaluation_proba": proba_evaluation.astype(np.float32),
        "fitted_rows": drawn,
        **external_scores,
        **explained,
    }
    return TrialResult(record, scores, embeddings, external_embeddings)


def run_trial(trial: Trial, workspace: Workspace) -> TrialRecord:
    """Fit, score and store one trial in this process; returns its record."""
    result = compute_trial(trial, workspace)
    result.save(workspace.store)
    return result.record
