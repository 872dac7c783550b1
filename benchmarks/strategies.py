"""Imbalance strategies: one definition, applied to the training part of a fold only.

Why one module for both families: the benchmark compares XGBoost and the CNN
under *the same* strategies, so each strategy is written once, as imblearn
samplers and balanced weights, and both families take its output. Nothing here
ever sees validation or test rows; the trial hands it the training part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler
from sklearn.utils.class_weight import compute_sample_weight

#: SMOTE interpolates between a row and one of this many same-class neighbours.
SMOTE_NEIGHBOURS = 5

DESCRIPTIONS: dict[str, str] = {
    "none": "train on the fold as it is",
    "class_weight": "weight each class by n / (classes x class count)",
    "oversample": "repeat minority rows at random up to the largest class "
    "(CNN: augmentation makes the copies differ)",
    "smote": "synthesise minority rows between same-class neighbours "
    "(XGBoost: feature space; CNN: pixel space at the network's input size)",
}


@dataclass(frozen=True)
class Resampled:
    """A training part after a strategy: the rows to fit, and where they came from.

    ``drawn`` is, for every row to fit, the index of the training row it copies,
    or -1 for a row SMOTE made; the contract tests read it.
    """

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None
    drawn: np.ndarray

    @property
    def n_synthetic(self) -> int:
        return int((self.drawn < 0).sum())


def class_counts(y: np.ndarray) -> dict[str, int]:
    labels, counts = np.unique(y, return_counts=True)
    return {str(label): int(count) for label, count in zip(labels, counts, strict=True)}


def _smote(X: np.ndarray, y: np.ndarray, seed: int) -> Resampled:
    smallest = min(class_counts(y).values())
    if smallest < 2:
        raise ValueError(
            f"smote: a class has {smallest} training image(s); SMOTE needs two "
            "per class (use fewer folds or another strategy)"
        )
    sampler = SMOTE(k_neighbors=min(SMOTE_NEIGHBOURS, smallest - 1), random_state=seed)
    flat = X.reshape(len(X), -1)
    resampled, y_resampled = sampler.fit_resample(flat.astype(np.float32), y)
    # imblearn keeps the original rows first, in order, then appends new ones.
    synthetic = resampled[len(X) :]
    if np.issubdtype(X.dtype, np.integer):
        synthetic = np.clip(np.rint(synthetic), 0, np.iinfo(X.dtype).max)
    rows = np.concatenate([X, synthetic.astype(X.dtype).reshape(-1, *X.shape[1:])])
    drawn = np.concatenate([np.arange(len(X)), np.full(len(synthetic), -1)])
    return Resampled(rows, np.asarray(y_resampled), None, drawn)


def resample(strategy: str, X: np.ndarray, y: np.ndarray, *, seed: int) -> Resampled:
    """The rows, labels and weights to fit under ``strategy``.

    ``X`` is a training part: features (n, d) or images (n, h, w, 3). Weights
    and synthetic rows come from these rows alone.
    """
    y = np.asarray(y)
    if strategy == "none":
        return Resampled(X, y, None, np.arange(len(X)))
    if strategy == "class_weight":
        weights = compute_sample_weight("balanced", y).astype(np.float32)
        return Resampled(X, y, weights, np.arange(len(X)))
    if strategy == "oversample":
        sampler = RandomOverSampler(random_state=seed)
        sampler.fit_resample(np.zeros((len(y), 1)), y)
        drawn = np.asarray(sampler.sample_indices_)
        return Resampled(X[drawn], y[drawn], None, drawn)
    if strategy == "smote":
        return _smote(X, y, seed)
    raise ValueError(
        f"strategy={strategy!r}: unknown; choose from {', '.join(DESCRIPTIONS)}"
    )
