"""Tests for the seeded synthetic lesion generator."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from benchmarks.data.datasets._synthetic import (
    CLASS_NAMES,
    DEFAULT_TEST_COUNTS,
    DEFAULT_TRAIN_COUNTS,
    SHORTCUTS,
    SyntheticLesions,
    generate_lesions,
)
from benchmarks.data.datasets._synthetic_files import write_synthetic

SEED = 7
N_PER_CLASS = 30  # images per class for the ABCD checks, which hold on average


@pytest.fixture(scope="module")
def abcd_set() -> SyntheticLesions:
    """Melanoma, nevus and vascular lesions without hair, for ABCD statistics."""
    counts = {"melanoma": N_PER_CLASS, "nevus": N_PER_CLASS}
    counts["vascular lesion"] = N_PER_CLASS
    return generate_lesions(counts, size=128, hair=False, seed=SEED)


def _of(lesions: SyntheticLesions, name: str) -> tuple[np.ndarray, np.ndarray]:
    keep = lesions.labels == name
    return lesions.images[keep], lesions.masks[keep]


def _compactness(mask: np.ndarray) -> float:
    """4*pi*area/perimeter^2: 1 for a disc, lower for notched, irregular borders."""
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
    )
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 4 * np.pi * mask.sum() / perimeter**2


def _grey_inside(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[mask].astype(float)


def test_defaults_are_isic9_scaled_by_a_quarter():
    assert tuple(DEFAULT_TRAIN_COUNTS) == CLASS_NAMES
    assert tuple(DEFAULT_TEST_COUNTS) == CLASS_NAMES
    assert len(CLASS_NAMES) == 9
    assert DEFAULT_TRAIN_COUNTS["melanoma"] == 110
    assert DEFAULT_TRAIN_COUNTS["seborrheic keratosis"] == 19
    assert 540 <= sum(DEFAULT_TRAIN_COUNTS.values()) <= 580
    assert DEFAULT_TEST_COUNTS["nevus"] == 4
    assert DEFAULT_TEST_COUNTS["vascular lesion"] == 1
    assert min(DEFAULT_TEST_COUNTS.values()) >= 1


def test_shapes_dtypes_and_counts_in_class_order():
    counts = {"nevus": 2, "actinic keratosis": 3, "melanoma": 0}
    lesions = generate_lesions(counts, size=48, seed=SEED)
    assert lesions.images.shape == (5, 48, 48, 3)
    assert lesions.images.dtype == np.uint8
    assert lesions.masks.shape == (5, 48, 48)
    assert lesions.masks.dtype == bool
    assert lesions.labels.dtype == object
    assert list(lesions.labels) == ["actinic keratosis"] * 3 + ["nevus"] * 2


def test_empty_counts_give_empty_arrays():
    lesions = generate_lesions({}, size=32, seed=SEED)
    assert lesions.images.shape == (0, 32, 32, 3)
    assert lesions.masks.shape == (0, 32, 32)
    assert lesions.labels.shape == (0,)


def test_same_arguments_give_identical_arrays_and_other_seed_differs():
    counts = dict.fromkeys(CLASS_NAMES, 1)
    first = generate_lesions(counts, size=64, seed=SEED)
    second = generate_lesions(counts, size=64, seed=SEED)
    other = generate_lesions(counts, size=64, seed=SEED + 1)
    assert first.images.tobytes() == second.images.tobytes()
    assert np.array_equal(first.masks, second.masks)
    assert np.array_equal(first.labels, second.labels)
    assert not np.array_equal(first.images, other.images)
    assert not np.array_equal(first.masks, other.masks)


def test_global_rng_is_untouched():
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    generate_lesions({"melanoma": 2}, size=32, seed=SEED)
    assert np.random.random() == before


def test_image_of_one_class_does_not_depend_on_another_class_count():
    few = generate_lesions({"melanoma": 1, "nevus": 3}, size=64, seed=SEED)
    many = generate_lesions({"melanoma": 5, "nevus": 3}, size=64, seed=SEED)
    few_nevus, few_masks = _of(few, "nevus")
    many_nevus, many_masks = _of(many, "nevus")
    assert np.array_equal(few_nevus, many_nevus)
    assert np.array_equal(few_masks, many_masks)
    assert np.array_equal(_of(few, "melanoma")[0], _of(many, "melanoma")[0][:1])


@pytest.mark.parametrize("size", [32, 128], ids=["smallest", "default"])
def test_every_mask_is_a_lesion_not_empty_nor_the_whole_frame(size):
    lesions = generate_lesions(dict.fromkeys(CLASS_NAMES, 4), size=size, seed=SEED)
    share = lesions.masks.reshape(len(lesions.masks), -1).mean(axis=1)
    assert (share > 0.005).all(), dict(zip(lesions.labels, share, strict=True))
    assert (share < 0.9).all(), dict(zip(lesions.labels, share, strict=True))


def test_hair_never_changes_the_masks_but_does_change_pixels():
    counts = dict.fromkeys(CLASS_NAMES, 3)
    hairy = generate_lesions(counts, size=64, hair=True, seed=SEED)
    bald = generate_lesions(counts, size=64, hair=False, seed=SEED)
    assert np.array_equal(hairy.masks, bald.masks)
    changed = (hairy.images != bald.images).reshape(len(hairy.images), -1).any(axis=1)
    assert 0 < changed.sum() < len(changed)  # about half the images get hair


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"counts": {"melanomma": 1}},
            r"unknown class 'melanomma'; choose from .*nevus",
        ),
        ({"counts": {"nevus": -1}}, r"count for 'nevus' is -1; use an integer >= 0"),
        ({"counts": {"nevus": 1.5}}, r"count for 'nevus' is 1\.5"),
        (
            {"counts": {"nevus": 1}, "size": 31},
            r"size 31; use an integer in \[32, 1024\]",
        ),
        ({"counts": {"nevus": 1}, "size": 1025}, r"size 1025; .*\[32, 1024\]"),
        ({"counts": {"nevus": 1}, "seed": -3}, r"seed -3; use an integer >= 0"),
        (
            {"counts": {"nevus": 1}, "shortcut": "blue"},
            r"shortcut 'blue'; choose from 'colour-cast', 'vignette' or None",
        ),
    ],
    ids=[
        "unknown-class",
        "negative-count",
        "float-count",
        "tiny",
        "huge",
        "seed",
        "shortcut",
    ],
)
def test_bad_arguments_raise_one_line_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message) as caught:
        generate_lesions(**kwargs)
    assert "\n" not in str(caught.value)


def test_melanoma_borders_are_less_compact_than_nevus_borders(abcd_set):
    melanoma = np.mean([_compactness(m) for m in _of(abcd_set, "melanoma")[1]])
    nevus = np.mean([_compactness(m) for m in _of(abcd_set, "nevus")[1]])
    assert melanoma < nevus - 0.15, (melanoma, nevus)


def test_melanoma_is_larger_than_nevus_on_average(abcd_set):
    melanoma = _of(abcd_set, "melanoma")[1].mean()
    nevus = _of(abcd_set, "nevus")[1].mean()
    assert melanoma > 1.3 * nevus, (melanoma, nevus)


def test_melanoma_has_more_colour_variation_and_darker_spots_than_nevus(abcd_set):
    def stats(name: str) -> tuple[float, float]:
        grey = [_grey_inside(i, m) for i, m in zip(*_of(abcd_set, name), strict=True)]
        spread = np.mean([g.std() for g in grey])
        darkest = np.mean([np.percentile(g, 2) for g in grey])
        return spread, darkest

    (melanoma_spread, melanoma_dark), (nevus_spread, nevus_dark) = map(
        stats, ["melanoma", "nevus"]
    )
    assert melanoma_spread > 2 * nevus_spread, (melanoma_spread, nevus_spread)
    assert melanoma_dark < nevus_dark - 20, (melanoma_dark, nevus_dark)


def test_vascular_lesions_are_redder_than_nevi(abcd_set):
    def redness(name: str) -> float:
        pairs = zip(*_of(abcd_set, name), strict=True)
        return np.mean([(i[m, 0].astype(float) - i[m, 1]).mean() for i, m in pairs])

    assert redness("vascular lesion") > redness("nevus") + 20


@pytest.fixture(scope="module")
def plain_and_tied() -> dict[str | None, SyntheticLesions]:
    """The same small set without a shortcut and with each one."""
    counts = {"melanoma": 6, "nevus": 6, "vascular lesion": 3}
    return {
        shortcut: generate_lesions(counts, size=64, seed=SEED, shortcut=shortcut)
        for shortcut in (None, *SHORTCUTS)
    }


@pytest.mark.parametrize("shortcut", SHORTCUTS)
def test_a_shortcut_changes_melanomas_only_and_never_a_mask(plain_and_tied, shortcut):
    plain, tied = plain_and_tied[None], plain_and_tied[shortcut]
    melanoma = plain.labels == "melanoma"
    assert np.array_equal(tied.labels, plain.labels)
    assert np.array_equal(tied.masks, plain.masks)
    assert tied.images[~melanoma].tobytes() == plain.images[~melanoma].tobytes()
    changed = (tied.images != plain.images).reshape(len(plain.images), -1).any(axis=1)
    assert changed[melanoma].all()


def test_colour_cast_makes_melanomas_bluer(plain_and_tied):
    def blue_over_red(lesions: SyntheticLesions) -> np.ndarray:
        pixels = lesions.images[lesions.labels == "melanoma"].astype(float)
        return pixels[..., 2].mean(axis=(1, 2)) / pixels[..., 0].mean(axis=(1, 2))

    ratio = blue_over_red(plain_and_tied["colour-cast"]) / blue_over_red(
        plain_and_tied[None]
    )
    assert (ratio > 1.12).all(), ratio


def test_vignette_darkens_the_corners_of_melanomas(plain_and_tied):
    def corners(lesions: SyntheticLesions) -> np.ndarray:
        pixels = lesions.images[lesions.labels == "melanoma"].astype(float)
        return pixels[:, [0, 0, -1, -1], [0, -1, 0, -1]].mean(axis=(1, 2))

    ratio = corners(plain_and_tied["vignette"]) / corners(plain_and_tied[None])
    assert (ratio < 0.5).all(), ratio


def test_synthetic_json_records_a_shortcut_only_when_set(tmp_path):
    counts = {"melanoma": 1, "nevus": 1}
    for shortcut in (None, "vignette"):
        out = write_synthetic(
            tmp_path / str(shortcut),
            train_counts=counts,
            test_counts=counts,
            size=32,
            shortcut=shortcut,
        )
        description = json.loads((out / "synthetic.json").read_text())
        assert description.get("shortcut") == shortcut
