"""One trial: fit a (model, strategy) on a fold's training part, score both parts.

Why a trial reads everything from paths (``Workspace``) rather than taking
arrays: the executor may run it in another process or on another machine, and
the decoded images of a data set are hundreds of megabytes.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.config import FUSED_MODELS, REFERENCE_MODELS, Profile
from benchmarks.environment import library_versions
from benchmarks.metrics import evaluate
from benchmarks.store import RunStore
from benchmarks.strategies import Resampled, class_counts, resample

logger = logging.getLogger(__name__)

#: Input side of each CNN family in the grid (models._cnn explains the choices).
IMAGE_SIZES: dict[str, int] = {"cnn": 48, "seed-cnn": 180}
#: The course trained its network 20 epochs, batch 32, no early stopping.
SEED_CNN_BATCH = 32
#: XGBoost threads a trial. On isic9's handcrafted features (a full-profile fold,
#: 1,792 rows) two threads fitted 2.3-3x slower than one on these 2 cores, and on
#: a synthetic fold no faster: per-round synchronisation outweighs the work.
XGB_THREADS = 1
#: TensorFlow intra-op threads of every CNN fit, whatever --jobs or the machine.
#: A CNN's figures depend on its thread count, so a fixed count keeps them the
#: same under any --jobs, executor or core count. On isic9 (full profile, 2
#: cores) two trials side by side at 2 threads each took 221 s, one after the
#: other 255 s; at 1 thread each 198 s, but that changes every recorded figure.
CNN_THREADS = 2
#: Scalar metrics whose train-minus-evaluation gap a record keeps.
GAP_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "melanoma_sensitivity",
    "melanoma_auc",
)


@dataclass(frozen=True)
class Trial:
    """A (model, strategy) on one fold; fold None is the final fit on all
    training images, evaluated on the Test split."""

    model: str
    strategy: str
    fold: int | None

    @property
    def key(self) -> str:
        part = "final" if self.fold is None else f"fold{self.fold}"
        return f"{self.model}__{self.strategy}__{part}"

    @property
    def needs(self) -> tuple[Trial, ...]:
        """The trials whose output this one reads, of the same strategy and fold:
        hybrid reads the cnn's embeddings, a fused model its parts' scores."""
        if self.model == "hybrid":
            return (Trial("cnn", self.strategy, self.fold),)
        parts = FUSED_MODELS.get(self.model, ())
        return tuple(Trial(part, self.strategy, self.fold) for part in parts)

    @property
    def stage(self) -> int:
        """When it runs: 0 reads nothing, 1 reads stage-0 output, 2 is a
        reference model, last, so that our models' leaderboard is whole first."""
        if self.model in REFERENCE_MODELS:
            return 2
        return 1 if self.needs else 0


@dataclass(frozen=True)
class Workspace:
    """What every trial of a run reads; plain values and paths, so it pickles."""

    run_dir: str
    classes: tuple[str, ...]
    positive: str
    profile: Profile
    seed: int
    n_threads: int
    image_paths: dict[int, str] = field(default_factory=dict)
    colour_constancy: str = "none"

    @property
    def store(self) -> RunStore:
        return RunStore(self.run_dir)


@functools.lru_cache(maxsize=4)
def _table(run_dir: str) -> pd.DataFrame:
    return pd.read_parquet(RunStore(run_dir).path("manifest.parquet"))


@functools.lru_cache(maxsize=4)
def _features(run_dir: str) -> np.ndarray:
    return np.load(RunStore(run_dir).path("features.npy"), mmap_mode="r")


@functools.lru_cache(maxsize=4)
def _images(path: str) -> np.ndarray:
    return np.load(path, mmap_mode="r")


def split_rows(table: pd.DataFrame, fold: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, evaluation rows) of a fold, or of the final fit."""
    folds = table["fold"].to_numpy()
    if fold is None:
        train = np.flatnonzero(folds >= 0)
        return train, np.flatnonzero(table["split"].to_numpy() == "test")
    return np.flatnonzero((folds >= 0) & (folds != fold)), np.flatnonzero(folds == fold)


def _cnn_epochs(
    model: str, profile: Profile, n_before: int, n_fit: int, batch: int
) -> int:
    """Epochs giving every strategy the same image budget as 'none'.

    Oversampling can double a fold; counting epochs over the resampled rows would
    give those strategies twice the training (and time). The profile's step
    floor keeps small data sets from stopping unconverged.
    """
    if model == "seed-cnn":
        return profile.seed_cnn_epochs
    budget = profile.cnn_epochs * n_before
    epochs = max(1, round(budget / n_fit))
    return max(epochs, math.ceil(profile.cnn_min_steps / max(1, n_fit // batch)))


def _fit_cnn(
    trial: Trial,
    workspace: Workspace,
    fitted: Resampled,
    n_before: int,
    monitor: tuple[np.ndarray, np.ndarray] | None,
) -> Any:
    from models import KerasImageClassifier
    from models._keras_classifier import default_batch_size

    is_reference = trial.model == "seed-cnn"
    batch = SEED_CNN_BATCH if is_reference else default_batch_size(len(fitted.y))
    epochs = _cnn_epochs(trial.model, workspace.profile, n_before, len(fitted.y), batch)
    estimator = KerasImageClassifier(
        architecture=trial.model,
        image_size=IMAGE_SIZES[trial.model],
        epochs=epochs,
        batch_size=batch,
        # Fixed epochs on a cosine schedule and every training image: on isic9 an
        # inner hold-out for early stopping cost accuracy and never stopped early.
        patience=None,
        validation_fraction=0.0,
        n_threads=workspace.n_threads,
        seed=workspace.seed,
        # The seed CNN stays the course's network, colours as shot.
        **({} if is_reference else {"colour_constancy": workspace.colour_constancy}),
    )
    # The validation part only draws the learning curves (no early stopping, no
    # weights chosen by it); the final fit has no curves rather than peek at Test.
    return estimator.fit(
        fitted.X,
        fitted.y,
        sample_weight=fitted.sample_weight,
        validation_data=monitor,
    )


def _fit_xgb(workspace: Workspace, fitted: Resampled) -> Any:
    from models import XGBoostClassifier

    profile = workspace.profile
    return XGBoostClassifier(
        n_estimators=profile.xgb_max_rounds,
        learning_rate=profile.xgb_learning_rate,
        random_state=workspace.seed,
        n_jobs=XGB_THREADS,
    ).fit(fitted.X, fitted.y, sample_weight=fitted.sample_weight)


def fit_final(trial: Trial, workspace: Workspace, X: np.ndarray, y: np.ndarray) -> Any:
    """The estimator of a final trial (``trial.fold`` None), fitted on ``X, y``.

    Why: ``train`` saves the model of a configuration's final fit for triage;
    this fits it as that trial does (same strategy, epochs, seeds, no
    evaluation part), so the saved model is the one whose Test figures the
    run reports.
    """
    fitted = resample(trial.strategy, X, y, seed=workspace.seed)
    return _fit(trial, workspace, fitted, len(y), None)


def _fit(
    trial: Trial,
    workspace: Workspace,
    fitted: Resampled,
    n_train: int,
    monitor: tuple[np.ndarray, np.ndarray] | None,
) -> Any:
    """The trial's estimator fitted on its resampled rows, either family."""
    if trial.model in IMAGE_SIZES:
        return _fit_cnn(trial, workspace, fitted, n_train, monitor)
    return _fit_xgb(workspace, fitted)


def _inputs(trial: Trial, workspace: Workspace) -> np.ndarray:
    """The rows the model reads, for every image of the run."""
    if trial.model in IMAGE_SIZES:
        return _images(workspace.image_paths[IMAGE_SIZES[trial.model]])
    features = np.asarray(_features(workspace.run_dir))
    if trial.model == "xgb":
        return features
    (cnn,) = trial.needs
    source = workspace.store.embedding_path(cnn.key)
    if not source.is_file():
        raise RuntimeError(f"{trial.key}: run {cnn.key} first (no {source})")
    return np.hstack([np.load(source), features])


def _probabilities(estimator: Any, X: np.ndarray, classes: tuple[str, ...]):
    """Scores in the run's class order, even if a class was missing in training."""
    proba = np.zeros((len(X), len(classes)))
    columns = [classes.index(str(label)) for label in estimator.classes_]
    proba[:, columns] = estimator.predict_proba(X)
    return proba


def _curves(estimator: Any) -> dict[str, Any]:
    history = {name: list(values) for name, values in estimator.history_.items()}
    best = getattr(estimator, "best_epoch_", getattr(estimator, "best_iteration_", 0))
    unit = "epoch" if hasattr(estimator, "best_epoch_") else "round"
    return {"unit": unit, "best": int(best), **history}


@dataclass(frozen=True)
class TrialResult:
    """What a finished trial hands back for the store.

    Why a trial does not write the run folder itself: on a Dask cluster it runs
    on another machine, and one process (the one running the grid) writing
    every file keeps the store's atomic writes and resume rules in one place.
    """

    record: dict
    scores: dict[str, np.ndarray]
    embeddings: np.ndarray | None = None

    def save(self, store: RunStore) -> None:
        """Embeddings first (a hybrid reads them), then scores and the record
        that marks the trial done."""
        key = self.record["key"]
        if self.embeddings is not None:
            store.write_array(store.embedding_path(key), self.embeddings)
        store.write_trial(self.record, self.scores)


def _scored(
    trial: Trial,
    workspace: Workspace,
    labels: np.ndarray,
    rows: tuple[np.ndarray, np.ndarray],
    proba: tuple[np.ndarray, np.ndarray],
) -> dict:
    """The record's figures: metrics on both parts and their train-minus gaps."""
    (train, evaluation), (proba_train, proba_evaluation) = rows, proba
    part = "test" if trial.fold is None else "validation"
    metrics = {
        "train": evaluate(
            labels[train], proba_train, workspace.classes, workspace.positive
        ),
        part: evaluate(
            labels[evaluation],
            proba_evaluation,
            workspace.classes,
            workspace.positive,
        ),
    }
    gap = {
        name: None
        if metrics["train"][name] is None or metrics[part][name] is None
        else metrics["train"][name] - metrics[part][name]
        for name in GAP_METRICS
    }
    return {
        "key": trial.key,
        "model": trial.model,
        "strategy": trial.strategy,
        "fold": "final" if trial.fold is None else trial.fold,
        "evaluated_on": part,
        "seed": workspace.seed,
        "n_train": len(train),
        "n_evaluated": len(evaluation),
        "class_counts_before": class_counts(labels[train]),
        "metrics": metrics,
        "gap": gap,
    }


def _compute_fused(trial: Trial, workspace: Workspace) -> TrialResult:
    """The mean of the parts' probabilities, row by row.

    Why it needs no leak check of its own: it fits nothing, and each part's
    scores of the evaluation rows come from a model that never saw them.
    """
    started = time.perf_counter()
    store = workspace.store
    done = store.done()
    missing = [need.key for need in trial.needs if need.key not in done]
    if missing:
        raise RuntimeError(f"{trial.key}: run {', '.join(missing)} first")
    parts = [store.scores(need.key) for need in trial.needs]
    first = parts[0]
    for name in ("train_rows", "evaluation_rows"):
        if any(not np.array_equal(part[name], first[name]) for part in parts):
            raise RuntimeError(
                f"{trial.key}: its parts scored different {name.replace('_', ' ')}; "
                "the run folder is damaged, run the grid again"
            )
    proba_train = np.mean([part["train_proba"] for part in parts], axis=0)
    proba_evaluation = np.mean([part["evaluation_proba"] for part in parts], axis=0)
    combine_seconds = time.perf_counter() - started

    table = _table(workspace.run_dir)
    labels = table["label"].astype(str).to_numpy()
    rows = (first["train_rows"], first["evaluation_rows"])
    record = _scored(trial, workspace, labels, rows, (proba_train, proba_evaluation))
    # Every part resamples its fold by the same strategy and seed, so the class
    # counts are the first part's; what it fitted is in its own record.
    source = store.record(trial.needs[0].key)
    record.update(
        {
            "parts": [need.key for need in trial.needs],
            "n_fitted": source["n_fitted"],
            "n_synthetic": source["n_synthetic"],
            "class_counts_after": source["class_counts_after"],
            "curves": {},
            "timings": {
                "fit_seconds": 0.0,
                "predict_seconds": combine_seconds,
                "wall_seconds": time.perf_counter() - started,
                "train_images_per_second": None,
                "predict_images_per_second": (len(rows[0]) + len(rows[1]))
                / max(combine_seconds, 1e-9),
            },
            "versions": library_versions(),
        }
    )
    scores = {
        "train_rows": rows[0],
        "train_proba": proba_train.astype(np.float32),
        "evaluation_rows": rows[1],
        "evaluation_proba": proba_evaluation.astype(np.float32),
        "fitted_rows": first["fitted_rows"],
    }
    return TrialResult(record, scores)


def compute_trial(trial: Trial, workspace: Workspace) -> TrialResult:
    """Fit and score one trial; writes nothing (``TrialResult.save`` does)."""
    if trial.model in FUSED_MODELS:
        return _compute_fused(trial, workspace)
    started = time.perf_counter()
    table = _table(workspace.run_dir)
    labels = table["label"].astype(str).to_numpy()
    train, evaluation = split_rows(table, trial.fold)
    inputs = _inputs(trial, workspace)
    X_train = np.asarray(inputs[train])
    fitted = resample(trial.strategy, X_train, labels[train], seed=workspace.seed)

    fit_started = time.perf_counter()
    monitor = None
    if trial.model in IMAGE_SIZES and trial.fold is not None:
        monitor = (np.asarray(inputs[evaluation]), labels[evaluation])
    estimator = _fit(trial, workspace, fitted, len(train), monitor)
    fit_seconds = time.perf_counter() - fit_started

    predict_started = time.perf_counter()
    X_evaluation = np.asarray(inputs[evaluation])
    proba_train = _probabilities(estimator, X_train, workspace.classes)
    proba_evaluation = _probabilities(estimator, X_evaluation, workspace.classes)
    predict_seconds = time.perf_counter() - predict_started
    embeddings = estimator.embed(np.asarray(inputs)) if trial.model == "cnn" else None

    record = _scored(
        trial, workspace, labels, (train, evaluation), (proba_train, proba_evaluation)
    )
    drawn = np.where(fitted.drawn >= 0, train[np.maximum(fitted.drawn, 0)], -1)
    record.update(
        {
            "n_fitted": len(fitted.y),
            "n_synthetic": fitted.n_synthetic,
            "class_counts_after": class_counts(fitted.y),
            "curves": _curves(estimator),
            "timings": {
                "fit_seconds": fit_seconds,
                "predict_seconds": predict_seconds,
                "wall_seconds": time.perf_counter() - started,
                "train_images_per_second": getattr(
                    estimator, "images_per_second_", len(fitted.y) / fit_seconds
                ),
                "predict_images_per_second": (len(train) + len(evaluation))
                / max(predict_seconds, 1e-9),
            },
            "versions": library_versions(),
        }
    )
    scores = {
        "train_rows": train,
        "train_proba": proba_train.astype(np.float32),
        "evaluation_rows": evaluation,
        "evaluation_proba": proba_evaluation.astype(np.float32),
        "fitted_rows": drawn,
    }
    return TrialResult(record, scores, embeddings)


def run_trial(trial: Trial, workspace: Workspace) -> dict:
    """Fit, score and store one trial in this process; returns its record."""
    result = compute_trial(trial, workspace)
    result.save(workspace.store)
    return result.record
