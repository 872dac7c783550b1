"""The built-in strategies: as is, balanced weights, random copies, SMOTE."""

from __future__ import annotations

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler
from sklearn.utils.class_weight import compute_sample_weight

from benchmarks.grid.strategies._spec import Resampled, Strategy, class_counts

#: SMOTE interpolates between a row and one of this many same-class neighbours.
SMOTE_NEIGHBOURS = 5


def _none(X: np.ndarray, y: np.ndarray, seed: int) -> Resampled:
    return Resampled(X, y, None, np.arange(len(X)))


def _class_weight(X: np.ndarray, y: np.ndarray, seed: int) -> Resampled:
    weights = compute_sample_weight("balanced", y).astype(np.float32)
    return Resampled(X, y, weights, np.arange(len(X)))


def _oversample(X: np.ndarray, y: np.ndarray, seed: int) -> Resampled:
    sampler = RandomOverSampler(random_state=seed)
    sampler.fit_resample(np.zeros((len(y), 1)), y)
    drawn = np.asarray(sampler.sample_indices_)
    return Resampled(X[drawn], y[drawn], None, drawn)


def synthetic_rows(X: np.ndarray, made: np.ndarray) -> np.ndarray:
    """Sampler-made flat rows back in ``X``'s shape and dtype (pixels rounded
    and clipped to the dtype's range)."""
    if np.issubdtype(X.dtype, np.integer):
        made = np.clip(np.rint(made), 0, np.iinfo(X.dtype).max)
    return made.astype(X.dtype).reshape(-1, *X.shape[1:])


def _smote(X: np.ndarray, y: np.ndarray, seed: int) -> Resampled:
    """SMOTE every class up to the largest; a class of one image has no
    neighbour to interpolate towards and stays as it is (a source in a
    leave-source-out fold may hold a single image of a class)."""
    counts = class_counts(y)
    largest = max(counts.values())
    targets = {label: largest for label, n in counts.items() if 2 <= n < largest}
    if not targets:
        return _none(X, y, seed)
    smallest = min(counts[label] for label in targets)
    sampler = SMOTE(
        sampling_strategy=targets,
        k_neighbors=min(SMOTE_NEIGHBOURS, smallest - 1),
        random_state=seed,
    )
    flat = X.reshape(len(X), -1)
    resampled, y_resampled = sampler.fit_resample(flat.astype(np.float32), y)
    # imblearn keeps the original rows first, in order, then appends new ones.
    rows = np.concatenate([X, synthetic_rows(X, resampled[len(X) :])])
    drawn = np.concatenate([np.arange(len(X)), np.full(len(rows) - len(X), -1)])
    return Resampled(rows, np.asarray(y_resampled), None, drawn)


BUILTIN: tuple[Strategy, ...] = (
    Strategy("none", "train on the fold as it is", _none),
    Strategy(
        "class_weight",
        "weight each class by n / (classes x class count)",
        _class_weight,
    ),
    Strategy(
        "oversample",
        "repeat minority rows at random up to the largest class (CNN: augmentation "
        "makes the copies differ)",
        _oversample,
    ),
    Strategy(
        "smote",
        "synthesise minority rows between same-class neighbours (XGBoost: feature "
        "space; CNN: pixel space at the network's input size)",
        _smote,
    ),
)
