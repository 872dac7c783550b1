"""Imbalance strategies: the rows, labels and weights each one hands to fit."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.core.errors import UserError
from benchmarks.grid.strategies import (
    STRATEGIES,
    Resampled,
    Strategy,
    check_parts,
    class_counts,
    get,
    resample,
    sampler_names,
)

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


def test_smote_leaves_a_class_of_one_image_as_it_is():
    labels = np.array(["a"] * 6 + ["b"] * 3 + ["c"])
    X = np.random.default_rng(0).random((10, 2))
    result = resample("smote", X, labels, seed=0)
    assert class_counts(result.y) == {"a": 6, "b": 6, "c": 1}
    assert result.n_synthetic == 3


def test_unknown_strategy_is_named():
    with pytest.raises(UserError, match="--strategies focal: unknown; choose from"):
        resample("focal", _features(), LABELS, seed=0)
    assert set(STRATEGIES) == {"none", "class_weight", "oversample", "smote"}


@pytest.mark.parametrize(
    "sampler", ["ADASYN", "RandomUnderSampler", "NearMiss", "SMOTETomek"]
)
def test_any_imblearn_sampler_by_name_traces_every_row(sampler):
    """Kept rows point at the training row they copy; made rows are -1 and lie
    within their class's range."""
    labels = np.array(["melanoma"] * 10 + ["nevus"] * 24 + ["vascular"] * 7)
    X = np.random.default_rng(1).random((len(labels), 4)).astype(np.float32)
    result = resample(f"imblearn:{sampler}", X, labels, seed=0)
    drawn = result.drawn
    np.testing.assert_array_equal(result.X[drawn >= 0], X[drawn[drawn >= 0]])
    np.testing.assert_array_equal(result.y[drawn >= 0], labels[drawn[drawn >= 0]])
    for label in set(labels):
        made = result.X[(drawn < 0) & (result.y == label)]
        members = X[labels == label]
        assert np.all(made >= members.min(axis=0) - 1e-6)
        assert np.all(made <= members.max(axis=0) + 1e-6)
    assert len(result.y) != len(labels), "the sampler changed nothing"
    again = resample(f"imblearn:{sampler}", X, labels, seed=0)
    np.testing.assert_array_equal(result.X, again.X)


def test_a_strategy_that_removes_a_class_is_refused(monkeypatch):
    def first_class_only(X, y, seed):
        keep = np.flatnonzero(y == y[0])
        return Resampled(X[keep], y[keep], None, keep)

    monkeypatch.setitem(
        STRATEGIES, "greedy", Strategy("greedy", "drops classes", first_class_only)
    )
    with pytest.raises(ValueError, match="greedy: left no training rows of class"):
        resample("greedy", _features(), LABELS, seed=0)


#: A synthetic quick fold's training part, and a set with a class of 2 images.
SYNTHETIC_FOLD = {
    "pigmented benign keratosis": 62,
    "melanoma": 59,
    "basal cell carcinoma": 51,
    "nevus": 49,
    "squamous cell carcinoma": 26,
    "vascular lesion": 19,
    "actinic keratosis": 18,
    "dermatofibroma": 16,
    "seborrheic keratosis": 11,
}
CLASS_OF_TWO = {"melanoma": 2, "nevus": 10, "vascular": 30}


def _clustered(counts: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Classes a few widths apart: some meet, some stand alone, as features do."""
    rng = np.random.default_rng(3)
    labels = np.repeat(list(counts), list(counts.values()))
    centre = {label: 1.5 * index for index, label in enumerate(counts)}
    X = rng.normal(size=(len(labels), 4))
    X[:, 0] += [centre[label] for label in labels]
    return X.astype(np.float32), labels


@pytest.mark.parametrize(
    "counts", [SYNTHETIC_FOLD, CLASS_OF_TWO], ids=["synthetic", "two"]
)
@pytest.mark.parametrize("sampler", sampler_names())
def test_every_imblearn_sampler_runs_or_is_refused_in_one_line(sampler, counts):
    """Each over-, under- and combined sampler imbalanced-learn ships either
    resamples the part, every class kept, or is refused before any trial in
    one line naming the sampler, the smallest class and its size, and a
    sampler that would run."""
    name = f"imblearn:{sampler}"
    X, labels = _clustered(counts)
    try:
        get(name)
        check_parts([name], {"fold 0": counts})
    except UserError as error:
        message = str(error)
        assert "\n" not in message and message.startswith(f"--strategies {name}:")
        assert "imblearn:Random" in message
        if "needs settings" not in message:
            smallest = min(counts, key=counts.get)
            size = counts[smallest]
            assert f"smallest class {smallest} has {size} image(s)" in message
        return
    result = resample(name, X, labels, seed=0)
    assert set(result.y) == set(labels)


def test_a_class_of_two_is_refused_by_smote_like_samplers_and_not_by_random_ones():
    for sampler in ("SMOTE", "ADASYN", "NearMiss", "SMOTETomek"):
        with pytest.raises(UserError, match="smallest class melanoma has 2 image"):
            check_parts([f"imblearn:{sampler}"], {"fold 1": CLASS_OF_TWO})
    check_parts(["imblearn:RandomOverSampler", "smote"], {"fold 1": CLASS_OF_TWO})


def test_a_sampler_with_nothing_to_generate_for_a_class_leaves_it_as_it_is():
    """ADASYN generates in proportion to other classes near a class; a class no
    other class comes near gets nothing, and the note says so."""
    X, labels = _clustered({"melanoma": 20, "nevus": 60, "vascular": 12})
    X[labels == "vascular", 0] += 100.0
    result = resample("imblearn:ADASYN", X, labels, seed=0)
    counts = class_counts(result.y)
    assert counts["vascular"] == 12 and counts["melanoma"] > 20
    assert len(result.notes) == 1
    assert result.notes[0].startswith(
        "ADASYN had nothing to generate for class vascular"
    )
    again = resample("imblearn:ADASYN", X, labels, seed=0)
    np.testing.assert_array_equal(result.X, again.X)
