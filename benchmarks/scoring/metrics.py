"""One evaluator for every model family, plus fold summaries and a paired test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

ECE_BINS = 15
#: Equal-width bins of the melanoma probability for the one-vs-rest calibration
#: figures and the report's reliability diagram: ten, as calibration papers
#: draw them, so a bin still holds a few melanomas on a 1,000-image fold.
MELANOMA_BINS = 10
# Written as the FPR bound, not 1 - 0.80 (0.19999999999999996), so an FPR of
# exactly k / 5k, which divides to the same double as 0.20, counts as allowed.
MAX_FALSE_POSITIVE_RATE = 0.20
CONFIDENCE_LEVEL = 0.95


def evaluate(
    y_true: ArrayLike,
    proba: ArrayLike,
    classes: Sequence[str],
    positive: str,
) -> dict[str, Any]:
    """Every figure we report for one set of predictions, as a JSON-safe dict.

    The CNN and XGBoost families both call this, so their numbers are computed the
    same way and can be recomputed later from stored per-image scores. Prediction
    is ``classes[argmax(proba)]``; undefined figures (a class never seen or never
    predicted, a missing binary class) are ``None`` instead of NaN or a warning.

    Parameters
    ----------
    y_true
        Class label of each of the n images.
    proba
        (n, k) class probabilities, columns in ``classes`` order.
    classes
        The k class labels, each once.
    positive
        The label of the positive class (melanoma) for the binary figures.

    Raises
    ------
    ValueError
        When the labels, classes, positive class or ``proba`` shape do not fit
        together, or there are no images.
    """
    classes = list(classes)
    true_index, proba = _check_inputs(y_true, proba, classes, positive)
    n_images, n_classes = proba.shape
    predicted_index = proba.argmax(axis=1)
    counts = confusion_matrix(true_index, predicted_index, labels=np.arange(n_classes))

    hits = np.diag(counts).astype(float)
    true_totals = counts.sum(axis=1)
    predicted_totals = counts.sum(axis=0)
    recall = _divide(hits, true_totals)
    precision = _divide(hits, predicted_totals)
    # F1 = 2tp / (2tp + fp + fn), 0 where the class is neither present nor predicted,
    # which is sklearn's macro F1 over all labels with zero_division=0.
    f1_denominator = true_totals + predicted_totals
    f1 = np.where(f1_denominator > 0, 2 * hits / np.maximum(f1_denominator, 1), 0.0)

    positive_at = classes.index(positive)
    is_positive = true_index == positive_at
    n_negative = n_images - true_totals[positive_at]
    false_positives = predicted_totals[positive_at] - hits[positive_at]
    specificity = float(1.0 - false_positives / n_negative) if n_negative else None
    auc, sensitivity_at_specificity = _binary_ranking(
        is_positive, proba[:, positive_at]
    )

    names = [str(name) for name in classes]
    return {
        "n": n_images,
        "accuracy": float(hits.sum() / n_images),
        # sklearn's balanced accuracy: mean recall over the classes in y_true.
        "balanced_accuracy": float(np.nanmean(recall)),
        "macro_f1": float(f1.mean()),
        "recall": dict(zip(names, _json_floats(recall), strict=True)),
        "precision": dict(zip(names, _json_floats(precision), strict=True)),
        "melanoma_sensitivity": _json_float(recall[positive_at]),
        "melanoma_specificity": specificity,
        "melanoma_auc": auc,
        "melanoma_sensitivity_at_80_specificity": sensitivity_at_specificity,
        "ece": _expected_calibration_error(proba, predicted_index == true_index),
        "melanoma_brier": melanoma_brier(is_positive, proba[:, positive_at]),
        "melanoma_ece": melanoma_ece(is_positive, proba[:, positive_at]),
        "confusion_matrix": counts.tolist(),
        "classes": names,
    }


def reliability_bins(
    is_positive: ArrayLike, score: ArrayLike, bins: int = MELANOMA_BINS
) -> dict[str, np.ndarray]:
    """Per equal-width bin of the melanoma probability: image count, mean
    probability and share of melanomas (NaN in an empty bin).

    Why one function: the melanoma ECE and the report's reliability diagram
    must bin the same way, or the curve would not show the number beside it.
    Bins are (low, high]; a probability of exactly 0 joins the first bin.
    """
    truth = np.asarray(is_positive, dtype=float).ravel()
    score = np.clip(np.asarray(score, dtype=float).ravel(), 0.0, 1.0)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.digitize(score, edges[1:-1], right=True)
    counts = np.bincount(index, minlength=bins)
    score_sums = np.bincount(index, weights=score, minlength=bins)
    positive_sums = np.bincount(index, weights=truth, minlength=bins)
    return {
        "edges": edges,
        "count": counts,
        "mean_score": _divide(score_sums, counts),
        "observed": _divide(positive_sums, counts),
        "gap_sum": np.abs(positive_sums - score_sums),
    }


def melanoma_ece(
    is_positive: ArrayLike, score: ArrayLike, bins: int = MELANOMA_BINS
) -> float:
    """One-vs-rest ECE of the melanoma probability: the count-weighted mean
    over bins of |share of melanomas - mean melanoma probability|.

    Why beside the top-label ``ece``: a triage list ranks by the melanoma
    probability and a reader takes "0.3" as "3 in 10", whatever the argmax.
    """
    binned = reliability_bins(is_positive, score, bins)
    return float(binned["gap_sum"].sum() / binned["count"].sum())


def melanoma_brier(is_positive: ArrayLike, score: ArrayLike) -> float:
    """Mean squared error of the melanoma probability against 1 (melanoma) or
    0 (any other class): 0 is perfect, 0.25 is a constant 0.5."""
    truth = np.asarray(is_positive, dtype=float).ravel()
    score = np.asarray(score, dtype=float).ravel()
    return float(np.mean((score - truth) ** 2))


def summarize(values: Sequence[float | None] | ArrayLike) -> dict[str, Any]:
    """Mean, sample std and 95% Student-t interval of per-fold scores.

    Folds where a figure was undefined (None or NaN) are left out, so one fold
    without melanoma does not hide the others; ``n`` says how many were used.
    """
    array = np.asarray(values, dtype=float).ravel()
    array = array[~np.isnan(array)]
    count = int(array.size)
    if count == 0:
        return {"mean": None, "std": None, "ci_low": None, "ci_high": None, "n": 0}
    mean = float(array.mean())
    if count == 1:
        return {"mean": mean, "std": 0.0, "ci_low": mean, "ci_high": mean, "n": 1}
    std = float(array.std(ddof=1))
    quantile = stats.t.ppf(0.5 + CONFIDENCE_LEVEL / 2, df=count - 1)
    half_width = float(quantile * std / math.sqrt(count))
    return {
        "mean": mean,
        "std": std,
        "ci_low": mean - half_width,
        "ci_high": mean + half_width,
        "n": count,
    }


def corrected_resampled_ttest(
    first: Sequence[float | None] | ArrayLike,
    second: Sequence[float | None] | ArrayLike,
    *,
    test_fraction: float,
) -> float | None:
    """Two-sided p-value of Nadeau & Bengio's corrected resampled t-test.

    Folds share training images, so their scores are correlated and a plain paired
    t-test is far too confident. The correction widens the variance of the mean
    difference ``d = first - second`` over k paired folds to
    ``(1/k + n_test/n_train) * var(d, ddof=1)``, with k - 1 degrees of freedom.

    Parameters
    ----------
    first, second
        Per-fold scores of two configurations on the same folds, in the same order.
        Pairs where either score is None or NaN are dropped.
    test_fraction
        The validation share of the data, n_test / (n_train + n_test): 1/k for
        k-fold cross-validation, 0.2 for 80/20 splits. The formula's
        n_test / n_train is ``test_fraction / (1 - test_fraction)``.

    Returns
    -------
    float or None
        None with fewer than 2 pairs; 1.0 when every difference is zero; 0.0 when
        the differences are all equal but not zero.

    Raises
    ------
    ValueError
        When the two score lists differ in length or ``test_fraction`` is not
        strictly between 0 and 1.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"test_fraction {test_fraction!r}: pass the validation share of the "
            "data, strictly between 0 and 1 (1/k for k-fold cross-validation)"
        )
    first = np.asarray(first, dtype=float).ravel()
    second = np.asarray(second, dtype=float).ravel()
    if first.shape != second.shape:
        raise ValueError(
            f"first has {first.size} scores but second has {second.size}; pass one "
            "score per fold for each, over the same folds"
        )
    differences = first - second
    differences = differences[~np.isnan(differences)]
    k = differences.size
    if k < 2:
        return None
    mean = differences.mean()
    if np.all(differences == 0):
        return 1.0
    variance = differences.var(ddof=1)
    if variance == 0:
        return 0.0
    corrected = (1.0 / k + test_fraction / (1.0 - test_fraction)) * variance
    t_statistic = mean / math.sqrt(corrected)
    return float(2 * stats.t.sf(abs(t_statistic), df=k - 1))


def _check_inputs(
    y_true: ArrayLike, proba: ArrayLike, classes: list, positive: str
) -> tuple[np.ndarray, np.ndarray]:
    """Class index of each label and the probabilities, or a one-line error."""
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes {classes!r} repeat a label; list each class once")
    if positive not in classes:
        raise ValueError(
            f"positive {positive!r} is not in classes {classes!r}; pass one of them"
        )
    labels = np.asarray(y_true)
    if labels.ndim != 1:
        raise ValueError(
            f"y_true has shape {labels.shape}; pass a 1-D sequence of class labels"
        )
    if labels.size == 0:
        raise ValueError("y_true is empty; evaluate needs at least one image")
    proba = np.asarray(proba, dtype=float)
    expected = (labels.size, len(classes))
    if proba.shape != expected:
        raise ValueError(
            f"proba has shape {proba.shape} but expected {expected} (one row per "
            "label, one column per class in classes order)"
        )
    true_index = pd.Index(classes).get_indexer(labels)
    unknown = true_index < 0
    if unknown.any():
        found = sorted({str(label) for label in labels[unknown]})
        raise ValueError(
            f"y_true has labels {found} that are not in classes {classes!r}; add "
            "them to classes or map them to a known class"
        )
    return true_index, proba


def _binary_ranking(
    is_positive: np.ndarray, scores: np.ndarray
) -> tuple[float | None, float | None]:
    """ROC AUC and best sensitivity at >= 80% specificity, or None without both."""
    if is_positive.all() or not is_positive.any():
        return None, None
    auc = float(roc_auc_score(is_positive, scores))
    # Keep every threshold: dropped collinear points can be the best allowed one.
    fpr, tpr, _ = roc_curve(is_positive, scores, drop_intermediate=False)
    allowed = fpr <= MAX_FALSE_POSITIVE_RATE
    return auc, float(tpr[allowed].max())


def _expected_calibration_error(proba: np.ndarray, correct: np.ndarray) -> float:
    """Count-weighted gap between top-label confidence and accuracy over bins."""
    confidence = proba.max(axis=1)
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    # Bins are (low, high]; a confidence of exactly 0 joins the first bin.
    bins = np.digitize(confidence, edges[1:-1], right=True)
    counts = np.bincount(bins, minlength=ECE_BINS)
    confidence_sums = np.bincount(bins, weights=confidence, minlength=ECE_BINS)
    correct_sums = np.bincount(bins, weights=correct, minlength=ECE_BINS)
    # Sum over bins of |acc - conf| * count / n, written without dividing by count.
    return float(np.abs(correct_sums - confidence_sums).sum() / counts.sum())


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ratio with NaN where the denominator is 0, without a warning."""
    result = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=result, where=denominator > 0)
    return result


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _json_floats(values: np.ndarray) -> list[float | None]:
    return [_json_float(value) for value in values]


def auc_rows(is_positive: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Melanoma AUC of each row of (resamples, n) index-aligned arrays (NaN
    where a resample lacks a class), by the rank-sum formula."""
    ranks = stats.rankdata(score, axis=1)
    n_positive = is_positive.sum(axis=1)
    n_negative = is_positive.shape[1] - n_positive
    rank_sum = (ranks * is_positive).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative)
    return np.where((n_positive > 0) & (n_negative > 0), auc, np.nan)
