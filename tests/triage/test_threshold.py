"""The operating threshold: reaches its target sensitivity on known scores."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.scoring.threshold import (
    choose_operating_point,
    threshold_for_sensitivity,
)

SEED = 0


def test_threshold_flags_exactly_the_share_asked_for():
    positives = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    negatives = np.array([0.01, 0.02, 0.15, 0.25, 0.35, 0.45])
    scores = np.concatenate([positives, negatives])
    is_positive = np.arange(len(scores)) < len(positives)

    point = choose_operating_point(is_positive, scores, 0.8, seed=SEED)

    assert point.threshold == 0.2  # the 8th highest of 10 melanoma scores
    assert point.sensitivity == 0.8
    assert point.specificity == pytest.approx(3 / 6)  # 0.01, 0.02, 0.15 below
    low, high = point.specificity_ci
    assert 0 <= low <= point.specificity <= high <= 1
    assert (point.n_positive, point.n_negative) == (10, 6)


@pytest.mark.parametrize(
    ("n_positive", "target", "flagged"),
    [(20, 0.95, 19), (438, 0.95, 417), (3, 0.5, 2), (7, 1.0, 7)],
    ids=["float-trap-19-of-20", "isic9-size", "rounds-up", "all"],
)
def test_threshold_reaches_the_target_with_as_few_flags_as_possible(
    n_positive, target, flagged
):
    scores = np.random.default_rng(SEED).permutation(n_positive) / n_positive
    threshold = threshold_for_sensitivity(scores, target)
    assert (scores >= threshold).sum() == flagged


def test_tied_scores_count_as_flagged():
    point = choose_operating_point(
        [True, True, True, False], [0.5, 0.5, 0.9, 0.5], 0.3, seed=SEED
    )
    assert point.threshold == 0.9  # one of three is enough
    point = choose_operating_point(
        [True, True, True, False], [0.5, 0.5, 0.9, 0.5], 0.4, seed=SEED
    )
    # Two of three are needed; the tie at 0.5 flags all three, and the negative.
    assert (point.threshold, point.sensitivity, point.specificity) == (0.5, 1.0, 0.0)


def test_interval_is_seeded_and_narrows_with_more_negatives():
    rng = np.random.default_rng(SEED)

    def point(n_negative: int):
        scores = np.concatenate([rng.random(100) + 0.3, rng.random(n_negative)])
        labels = np.arange(len(scores)) < 100
        return choose_operating_point(labels, scores, 0.9, seed=SEED), labels, scores

    small, labels, scores = point(50)
    again = choose_operating_point(labels, scores, 0.9, seed=SEED)
    assert again == small
    large, _, _ = point(5000)
    width = lambda p: p.specificity_ci[1] - p.specificity_ci[0]  # noqa: E731
    assert width(large) < width(small)


@pytest.mark.parametrize(
    ("labels", "scores", "target", "match"),
    [
        ([True, False], [0.5, 0.2], 0.0, r"in \(0, 1\]"),
        ([True, False], [0.5, 0.2], 1.5, r"in \(0, 1\]"),
        ([False, False], [0.5, 0.2], 0.9, "needs both"),
        ([True, True], [0.5, 0.2], 0.9, "needs both"),
        ([True, False], [0.5, np.nan], 0.9, "finite score"),
        ([True], [0.5, 0.2], 0.9, "one finite score per image"),
    ],
    ids=["zero", "above-one", "no-positive", "no-negative", "nan", "lengths"],
)
def test_bad_inputs_raise_one_line(labels, scores, target, match):
    with pytest.raises(ValueError, match=match):
        choose_operating_point(labels, scores, target, seed=SEED)
