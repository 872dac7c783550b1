"""The triage list's operating threshold: the score that catches a target share of
melanomas, chosen on out-of-fold scores, with the specificity to expect there."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import binomtest

#: Share of out-of-fold melanomas the saved threshold flags unless told otherwise.
TARGET_SENSITIVITY = 0.95
#: Bootstrap resamples behind the specificity interval.
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE_LEVEL = 0.95
_RESAMPLES_PER_STEP = 100  # bounds memory on large data sets


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold and what it did on the scores it was chosen on.

    An image is flagged when its melanoma score is at or above ``threshold``.
    ``specificity_ci`` is a percentile bootstrap interval that re-chooses the
    threshold in every resample, so it counts the threshold's own uncertainty,
    not only the negatives' (a Wilson interval over the negatives would not).
    """

    threshold: float
    target_sensitivity: float
    sensitivity: float
    specificity: float
    specificity_ci: tuple[float, float]
    n_positive: int
    n_negative: int
    confidence: float = CONFIDENCE_LEVEL
    resamples: int = BOOTSTRAP_RESAMPLES

    def to_dict(self) -> dict:
        values = asdict(self)
        values["specificity_ci"] = list(self.specificity_ci)
        return values


def _flagged_needed(n_positive: int, target: float) -> int:
    # round() first: 0.95 * 20 is 19.000000000000004, and ceil would ask for 20.
    return max(1, math.ceil(round(target * n_positive, 9)))


def threshold_for_sensitivity(positive_scores: ArrayLike, target: float) -> float:
    """The highest threshold that flags at least ``target`` of ``positive_scores``
    (flagged: score >= threshold)."""
    ordered = np.sort(np.asarray(positive_scores, dtype=float))[::-1]
    return float(ordered[_flagged_needed(len(ordered), target) - 1])


def _bootstrap_specificity(
    positives: np.ndarray, negatives: np.ndarray, target: float, seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    needed = _flagged_needed(len(positives), target)
    values = []
    for start in range(0, BOOTSTRAP_RESAMPLES, _RESAMPLES_PER_STEP):
        count = min(_RESAMPLES_PER_STEP, BOOTSTRAP_RESAMPLES - start)
        drawn = rng.choice(positives, size=(count, len(positives)))
        # The needed-th highest of each resample: the threshold chosen there.
        thresholds = -np.partition(-drawn, needed - 1, axis=1)[:, needed - 1]
        others = rng.choice(negatives, size=(count, len(negatives)))
        values.append((others < thresholds[:, None]).mean(axis=1))
    return np.concatenate(values)


def choose_operating_point(
    is_positive: ArrayLike, scores: ArrayLike, target_sensitivity: float, *, seed: int
) -> OperatingPoint:
    """The operating point reaching ``target_sensitivity`` on these scores.

    Meant for out-of-fold scores: every image scored by a model that did not
    train on it, so the specificity is what to expect on new images like them.

    Raises
    ------
    ValueError
        When the target is outside (0, 1], the inputs differ in length or hold
        non-finite scores, or either class is missing.
    """
    if not 0 < target_sensitivity <= 1:
        raise ValueError(
            f"target sensitivity {target_sensitivity!r}: choose a number in (0, 1]"
        )
    is_positive = np.asarray(is_positive, dtype=bool).ravel()
    scores = np.asarray(scores, dtype=float).ravel()
    if is_positive.shape != scores.shape or not np.isfinite(scores).all():
        raise ValueError(
            f"{len(is_positive)} labels and {len(scores)} scores: pass one finite "
            "score per image"
        )
    positives, negatives = scores[is_positive], scores[~is_positive]
    if len(positives) == 0 or len(negatives) == 0:
        raise ValueError(
            f"{len(positives)} positive and {len(negatives)} negative images: a "
            "threshold needs both"
        )
    threshold = threshold_for_sensitivity(positives, target_sensitivity)
    resampled = _bootstrap_specificity(positives, negatives, target_sensitivity, seed)
    tail = (1 - CONFIDENCE_LEVEL) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    return OperatingPoint(
        threshold=threshold,
        target_sensitivity=float(target_sensitivity),
        sensitivity=float((positives >= threshold).mean()),
        specificity=float((negatives < threshold).mean()),
        specificity_ci=(float(low), float(high)),
        n_positive=len(positives),
        n_negative=len(negatives),
    )


def sensitivity_interval(
    flagged: int, n_positive: int, confidence: float = CONFIDENCE_LEVEL
) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of the share flagged: what a handful of
    labelled melanomas can say about the share of new ones a threshold flags."""
    if n_positive <= 0:
        return 0.0, 1.0
    interval = binomtest(flagged, n_positive).proportion_ci(confidence, "exact")
    return float(interval.low), float(interval.high)
