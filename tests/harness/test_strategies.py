"""Imbalance strategies: the rows, labels and weights each one hands to fit."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.strategies import DESCRIPTIONS, class_counts, resample

LABELS = np.array(["melanoma"] * 6 + ["nevus"] * 12 + ["vascular"] * 3)


def _features(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((len(LABELS), 4)).astype(np.float32)


def test_none_and_class_weight_keep_the_rows():
    X = _features()
    for strategy in ("none", "class_weight"):
        result = resample(strategy, X, LABELS, seed=0)
        assert result.X is X
        np.testing.assert_array_equal(result.drawn, np.arange(len(X)))
    weights = resample("class_weight", X, LABELS, seed=0).sample_weight
    # n / (classes x count): 21 / (3 x 6), 21 / (3 x 12), 21 / (3 x 3)
    assert weights[0] == pytest.approx(21 / 18)
    assert weights[6] == pytest.approx(21 / 36)
    assert weights[-1] == pytest.approx(21 / 9)
    assert np.sum(weights) == pytest.approx(len(LABELS))


def test_oversample_repeats_training_rows_up_to_the_largest_class():
    X = _features()
    result = resample("oversample", X, LABELS, seed=0)
    assert class_counts(result.y) == {"melanoma": 12, "nevus": 12, "vascular": 12}
    np.testing.assert_array_equal(result.X, X[result.drawn])
    np.testing.assert_array_equal(result.y, LABELS[result.drawn])
    assert result.n_synthetic == 0
    # Every original row is kept once at least.
    assert set(result.drawn) == set(range(len(X)))


def test_oversample_is_seeded():
    X = _features()
    first = resample("oversample", X, LABELS, seed=1).drawn
    np.testing.assert_array_equal(
        first, resample("oversample", X, LABELS, seed=1).drawn
    )
    assert not np.array_equal(first, resample("oversample", X, LABELS, seed=2).drawn)


def test_smote_makes_rows_between_neighbours_of_one_class():
    X = _features()
    result = resample("smote", X, LABELS, seed=0)
    assert class_counts(result.y) == {"melanoma": 12, "nevus": 12, "vascular": 12}
    assert result.n_synthetic == 36 - len(X)
    np.testing.assert_array_equal(result.X[: len(X)], X)
    for row, label in zip(result.X[len(X) :], result.y[len(X) :], strict=True):
        members = X[np.equal(LABELS, label)]
        # Inside the class's bounding box: interpolated, not copied from elsewhere.
        assert np.all(row >= members.min(axis=0) - 1e-6)
        assert np.all(row <= members.max(axis=0) + 1e-6)


def test_smote_on_images_keeps_their_shape_and_type():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 200, (len(LABELS), 8, 8, 3), dtype=np.uint8)
    result = resample("smote", images, LABELS, seed=0)
    assert result.X.shape == (36, 8, 8, 3)
    assert result.X.dtype == np.uint8
    assert result.X[len(LABELS) :].max() <= 200


def test_smote_needs_two_images_per_class():
    labels = np.array(["a"] * 5 + ["b"])
    with pytest.raises(ValueError, match="smote: a class has 1 training image"):
        resample("smote", np.zeros((6, 2)), labels, seed=0)


def test_unknown_strategy_is_named():
    with pytest.raises(ValueError, match="strategy='focal': unknown; choose from"):
        resample("focal", _features(), LABELS, seed=0)
    assert set(DESCRIPTIONS) == {"none", "class_weight", "oversample", "smote"}
