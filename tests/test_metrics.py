"""Metrics: hand-computed figures, None where undefined, JSON-safe, clear errors."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

from benchmarks.data.external import external_figures
from benchmarks.scoring.metrics import (
    corrected_resampled_ttest,
    evaluate,
    melanoma_brier,
    melanoma_ece,
    reliability_bins,
    summarize,
)
from tests.conftest import SEED

CLASSES = ["nevus", "melanoma", "keratosis"]
# Predictions: nevus, melanoma, nevus | melanoma, keratosis | keratosis.
Y_TRUE = ["nevus", "nevus", "nevus", "melanoma", "melanoma", "keratosis"]
PROBA = np.array(
    [
        [0.70, 0.20, 0.10],
        [0.35, 0.55, 0.10],
        [0.85, 0.10, 0.05],
        [0.10, 0.90, 0.00],
        [0.10, 0.40, 0.50],
        [0.20, 0.10, 0.70],
    ]
)


def binary(y_melanoma: list[int], scores: list[float]) -> dict:
    """Evaluate a two-class case from 0/1 truth and melanoma scores."""
    scores = np.asarray(scores, dtype=float)
    labels = np.where(np.asarray(y_melanoma) == 1, "melanoma", "other")
    proba = np.column_stack([1.0 - scores, scores])
    return evaluate(labels, proba, ["other", "melanoma"], "melanoma")


def assert_json_native(value) -> None:
    """Only dict/list/str/int/float/None, never numpy scalars or NaN."""
    if isinstance(value, dict):
        assert all(type(key) is str for key in value)
        for item in value.values():
            assert_json_native(item)
    elif isinstance(value, list):
        for item in value:
            assert_json_native(item)
    elif type(value) is float:
        assert math.isfinite(value)
    else:
        assert value is None or type(value) in (str, int), type(value)


def test_three_class_figures_match_hand_computation():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate(Y_TRUE, PROBA, CLASSES, "melanoma")

    assert result["n"] == 6
    assert result["classes"] == CLASSES
    assert result["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["recall"] == pytest.approx(
        {"nevus": 2 / 3, "melanoma": 1 / 2, "keratosis": 1.0}
    )
    assert result["precision"] == pytest.approx(
        {"nevus": 1.0, "melanoma": 1 / 2, "keratosis": 1 / 2}
    )
    assert result["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    # Per-class F1: 4/5, 1/2, 2/3.
    assert result["macro_f1"] == pytest.approx(59 / 90)
    assert result["melanoma_sensitivity"] == pytest.approx(1 / 2)
    # Four true non-melanoma images, one of them (a nevus) called melanoma.
    assert result["melanoma_specificity"] == pytest.approx(3 / 4)
    # Melanoma scores 0.9 and 0.4 against 0.2, 0.55, 0.1, 0.1: 7 of 8 pairs won.
    assert result["melanoma_auc"] == pytest.approx(7 / 8)
    # With 4 negatives, FPR <= 0.2 allows no false positive: only 0.9 is found.
    assert result["melanoma_sensitivity_at_80_specificity"] == pytest.approx(1 / 2)
    # Every bin holds only right or only wrong answers: mean |correct - confidence|.
    gaps = [0.30, 0.55, 0.15, 0.10, 0.50, 0.30]
    assert result["ece"] == pytest.approx(sum(gaps) / 6)


def test_agrees_with_sklearn_when_classes_are_missing_or_never_predicted():
    rng = np.random.default_rng(SEED)
    classes = ["nevus", "melanoma", "keratosis", "vascular"]
    # No vascular in y_true; keratosis is predicted but never true.
    y_true = rng.choice(["nevus", "melanoma"], size=40)
    proba = rng.dirichlet(np.ones(4), size=40)
    proba[:, 3] = 0.0
    predicted = np.asarray(classes)[proba.argmax(axis=1)]
    assert "keratosis" in predicted and "keratosis" not in y_true

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate(y_true, proba, classes, "melanoma")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_balanced = balanced_accuracy_score(y_true, predicted)
    expected_f1 = f1_score(
        y_true, predicted, labels=classes, average="macro", zero_division=0
    )

    assert result["balanced_accuracy"] == pytest.approx(expected_balanced)
    assert result["macro_f1"] == pytest.approx(expected_f1)
    assert result["recall"]["keratosis"] is None
    assert result["recall"]["vascular"] is None
    assert result["precision"]["vascular"] is None
    assert result["precision"]["keratosis"] == 0.0
    assert result["melanoma_auc"] == pytest.approx(
        roc_auc_score(y_true == "melanoma", proba[:, 1])
    )


@pytest.mark.parametrize(
    ("scores", "expected"),
    [([0.1, 0.2, 0.8, 0.9], 1.0), ([0.9, 0.8, 0.2, 0.1], 0.0)],
    ids=["perfect", "reversed"],
)
def test_auc_and_sensitivity_at_specificity_at_the_extremes(scores, expected):
    result = binary([0, 0, 1, 1], scores)

    assert result["melanoma_auc"] == expected
    assert result["melanoma_sensitivity_at_80_specificity"] == expected


def test_sensitivity_at_80_specificity_keeps_every_roc_point():
    # 10 negatives, 4 positives. Three thresholds each add one tied positive and
    # negative; the middle one (FPR 0.2, TPR 0.5) is the answer, and it is the
    # collinear point roc_curve drops by default (which would give 0.25).
    positives = [0.9, 0.8, 0.7, 0.1]
    negatives = [0.9, 0.8, 0.7] + [0.05] * 7
    result = binary([1] * 4 + [0] * 10, positives + negatives)

    assert result["melanoma_sensitivity_at_80_specificity"] == 0.5


def test_sensitivity_at_80_specificity_includes_fpr_of_exactly_one_fifth():
    # 5 negatives: one false positive (score 0.9) is allowed, then 0.8 and 0.5 too.
    positives = [0.95, 0.8, 0.5, 0.05]
    negatives = [0.9, 0.1, 0.2, 0.3, 0.35]
    result = binary([1] * 4 + [0] * 5, positives + negatives)

    assert result["melanoma_sensitivity_at_80_specificity"] == 0.75


def test_ece_is_zero_when_confidence_matches_accuracy():
    # Confidence 0.75 with 3 of 4 right, and confidence 1.0 that is right.
    proba = [[0.75, 0.25]] * 4 + [[1.0, 0.0]]
    y_true = ["other", "other", "other", "melanoma", "other"]
    result = evaluate(y_true, proba, ["other", "melanoma"], "melanoma")

    assert result["ece"] == pytest.approx(0.0, abs=1e-12)


def test_ece_is_one_when_confidently_wrong():
    result = evaluate(
        ["melanoma", "other"],
        [[1.0, 0.0], [0.0, 1.0]],
        ["other", "melanoma"],
        "melanoma",
    )

    assert result["ece"] == 1.0
    assert result["accuracy"] == 0.0


def test_melanoma_brier_and_ece_match_hand_computation():
    result = evaluate(Y_TRUE, PROBA, CLASSES, "melanoma")

    # Melanoma column 0.2, 0.55, 0.1 | 0.9, 0.4 | 0.1 against truth 0 0 0 1 1 0.
    squared = [0.2**2, 0.55**2, 0.1**2, 0.1**2, 0.6**2, 0.1**2]
    assert result["melanoma_brier"] == pytest.approx(sum(squared) / 6)
    # Each occupied bin holds only melanomas or only others: mean |truth - p|.
    assert result["melanoma_ece"] == pytest.approx(1.65 / 6)


def test_melanoma_ece_compares_bin_means_not_single_images():
    # 0.32 (melanoma) and 0.38 (not) share the bin (0.3, 0.4]: mean 0.35 against
    # a share of 0.5, a gap of 0.15 for two images; 0.95 (melanoma) misses by 0.05.
    result = binary([1, 0, 1], [0.32, 0.38, 0.95])

    assert result["melanoma_ece"] == pytest.approx((2 * 0.15 + 0.05) / 3)
    assert result["melanoma_brier"] == pytest.approx((0.68**2 + 0.38**2 + 0.05**2) / 3)


def test_melanoma_calibration_is_perfect_when_probability_is_the_share():
    # Four images at 0.25 with one melanoma; two at 1.0, both melanoma.
    result = binary([1, 0, 0, 0, 1, 1], [0.25] * 4 + [1.0, 1.0])

    assert result["melanoma_ece"] == pytest.approx(0.0, abs=1e-12)
    assert result["melanoma_brier"] == pytest.approx((0.75**2 + 3 * 0.25**2) / 6)


def test_reliability_bins_count_and_average_each_bin():
    binned = reliability_bins([1, 0, 1, 0], [0.0, 0.05, 0.32, 0.38])

    assert binned["count"].tolist() == [2, 0, 0, 2, 0, 0, 0, 0, 0, 0]
    assert binned["mean_score"][0] == pytest.approx(0.025)
    assert binned["observed"][[0, 3]] == pytest.approx([0.5, 0.5])
    assert np.isnan(binned["observed"][1])
    assert melanoma_ece([1, 0, 1, 0], [0.0, 0.05, 0.32, 0.38]) == pytest.approx(
        (2 * 0.475 + 2 * 0.15) / 4
    )
    assert melanoma_brier([1, 0], [1.0, 0.5]) == pytest.approx(0.125)


def test_external_figures_count_unknown_labels_as_not_melanoma_in_brier():
    proba = np.array([[0.2, 0.8], [0.6, 0.4], [0.9, 0.1]])
    labels = np.array(["melanoma", "other", "dermatofibroma"])
    figures = external_figures(labels, proba, ("other", "melanoma"), "melanoma")

    assert figures["melanoma_brier"] == pytest.approx((0.04 + 0.16 + 0.01) / 3)
    assert figures["melanoma_ece"] == pytest.approx((0.2 + 0.4 + 0.1) / 3)


def test_binary_figures_are_none_without_melanoma():
    result = evaluate(["nevus", "nevus", "keratosis"], PROBA[:3], CLASSES, "melanoma")

    assert result["melanoma_sensitivity"] is None
    assert result["melanoma_auc"] is None
    assert result["melanoma_sensitivity_at_80_specificity"] is None
    assert result["melanoma_specificity"] == pytest.approx(2 / 3)
    assert result["recall"]["melanoma"] is None
    assert result["precision"]["melanoma"] == 0.0


def test_binary_figures_are_none_with_only_melanoma():
    result = evaluate(["melanoma", "melanoma"], PROBA[3:5], CLASSES, "melanoma")

    assert result["melanoma_specificity"] is None
    assert result["melanoma_auc"] is None
    assert result["melanoma_sensitivity_at_80_specificity"] is None
    assert result["melanoma_sensitivity"] == 0.5


@pytest.mark.parametrize(
    "y_true",
    [Y_TRUE, ["nevus"] * 6, ["melanoma"] * 6],
    ids=["mixed", "no-melanoma", "only-melanoma"],
)
def test_result_is_json_safe(y_true):
    result = evaluate(np.asarray(y_true), PROBA, CLASSES, "melanoma")

    assert_json_native(result)
    assert json.loads(json.dumps(result, allow_nan=False)) == result


@pytest.mark.parametrize(
    ("y_true", "proba", "classes", "positive", "match"),
    [
        (Y_TRUE, PROBA, CLASSES, "mel", r"positive 'mel' is not in classes"),
        (Y_TRUE, PROBA[:, :2], CLASSES, "melanoma", r"proba has shape \(6, 2\)"),
        (Y_TRUE, PROBA[:5], CLASSES, "melanoma", r"proba has shape \(5, 3\)"),
        (Y_TRUE, PROBA[:, 0], CLASSES, "melanoma", r"proba has shape \(6,\)"),
        (
            [*Y_TRUE[:5], "vascular"],
            PROBA,
            CLASSES,
            "melanoma",
            r"labels \['vascular'\] that are not in classes",
        ),
        ([], np.empty((0, 3)), CLASSES, "melanoma", r"y_true is empty"),
        ([Y_TRUE], PROBA, CLASSES, "melanoma", r"1-D sequence"),
        (Y_TRUE, PROBA, ["nevus", "melanoma", "nevus"], "melanoma", r"repeat"),
    ],
    ids=[
        "unknown-positive",
        "too-few-columns",
        "too-few-rows",
        "1-d-proba",
        "unknown-label",
        "empty",
        "2-d-labels",
        "repeated-class",
    ],
)
def test_bad_inputs_raise_one_line_errors(y_true, proba, classes, positive, match):
    with pytest.raises(ValueError, match=match) as error:
        evaluate(y_true, proba, classes, positive)

    assert "\n" not in str(error.value)


def test_summarize_matches_student_t_and_skips_missing():
    scores = [0.8, 0.9, 0.7, 0.85]
    result = summarize([0.8, None, 0.9, float("nan"), 0.7, 0.85])

    low, high = stats.t.interval(
        0.95, df=3, loc=np.mean(scores), scale=stats.sem(scores)
    )
    assert result["n"] == 4
    assert result["mean"] == pytest.approx(0.8125)
    assert result["std"] == pytest.approx(np.std(scores, ddof=1))
    assert result["ci_low"] == pytest.approx(low)
    assert result["ci_high"] == pytest.approx(high)
    assert_json_native(result)


def test_summarize_one_value_and_no_values():
    assert summarize([0.6, None]) == {
        "mean": 0.6,
        "std": 0.0,
        "ci_low": 0.6,
        "ci_high": 0.6,
        "n": 1,
    }
    empty = {"mean": None, "std": None, "ci_low": None, "ci_high": None, "n": 0}
    assert summarize([None, float("nan")]) == empty
    assert summarize([]) == empty


def test_corrected_ttest_matches_hand_computation():
    first = [0.80, 0.82, 0.78, 0.85, 0.81]
    second = [0.78, 0.80, 0.79, 0.81, 0.78]
    # d = 0.02, 0.02, -0.01, 0.04, 0.03: mean 0.02, var(ddof=1) 0.00035.
    # 5-fold CV: test_fraction 0.2, so n_test/n_train = 0.25.
    t_statistic = 0.02 / math.sqrt((1 / 5 + 0.25) * 0.00035)
    expected = 2 * stats.t.sf(t_statistic, df=4)

    p_value = corrected_resampled_ttest(first, second, test_fraction=0.2)

    assert p_value == pytest.approx(expected)
    assert p_value == pytest.approx(0.1862, abs=1e-4)
    assert corrected_resampled_ttest(second, first, test_fraction=0.2) == (
        pytest.approx(p_value)
    )
    # The correction only ever makes the test more cautious.
    assert p_value > stats.ttest_rel(first, second).pvalue


def test_corrected_ttest_drops_incomplete_pairs():
    with_gap = corrected_resampled_ttest(
        [0.80, None, 0.82, 0.78], [0.78, 0.7, 0.80, float("nan")], test_fraction=0.25
    )
    without = corrected_resampled_ttest([0.80, 0.82], [0.78, 0.80], test_fraction=0.25)

    assert with_gap == without


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ([0.8], [0.7], None),
        ([], [], None),
        ([0.8, None], [0.7, 0.6], None),
        ([0.8, 0.7, 0.9], [0.8, 0.7, 0.9], 1.0),
        ([1.0, 2.0, 3.0], [0.5, 1.5, 2.5], 0.0),
    ],
    ids=["one-pair", "no-pairs", "one-complete-pair", "identical", "constant-gap"],
)
def test_corrected_ttest_edge_cases(first, second, expected):
    assert corrected_resampled_ttest(first, second, test_fraction=0.2) == expected


@pytest.mark.parametrize("test_fraction", [0.0, 1.0, -0.2, 1.5, float("nan")])
def test_corrected_ttest_rejects_bad_test_fraction(test_fraction):
    with pytest.raises(ValueError, match=r"test_fraction .*strictly between 0 and 1"):
        corrected_resampled_ttest([0.8, 0.7], [0.7, 0.6], test_fraction=test_fraction)


def test_corrected_ttest_rejects_unpaired_scores():
    with pytest.raises(ValueError, match=r"first has 3 scores but second has 2"):
        corrected_resampled_ttest([0.8, 0.7, 0.9], [0.7, 0.6], test_fraction=0.2)
