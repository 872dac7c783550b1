"""Lesion segmentation: accuracy on drawn lesions and a recorded fallback."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from features import fallback_mask, segment_lesion

SEED = 7
SKIN = (226, 182, 160)
#: Experts draw a few pixels outside a lesion's visible edge, and the learned
#: outline does too: it may reach this far beyond a drawn lesion.
RIM = 4


def iou(first: np.ndarray, second: np.ndarray) -> float:
    return np.count_nonzero(first & second) / np.count_nonzero(first | second)


def assert_outlines(mask: np.ndarray, truth: np.ndarray) -> None:
    """The mask holds the drawn lesion and reaches at most RIM pixels beyond it."""
    assert np.count_nonzero(mask & truth) >= 0.99 * np.count_nonzero(truth)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RIM + 1, 2 * RIM + 1))
    near = cv2.dilate(truth.astype(np.uint8), disc).astype(bool)
    assert not (mask & ~near).any()


@pytest.mark.parametrize(
    ("colour", "axes", "angle", "centre"),
    [
        pytest.param((112, 70, 48), (34, 24), 0, None, id="brown-centred"),
        pytest.param((60, 40, 35), (20, 14), 30, (50, 70), id="dark-small-offset"),
        pytest.param((200, 90, 130), (40, 30), 60, None, id="pink-on-skin"),
        pytest.param((100, 115, 140), (30, 30), 0, None, id="blue-grey-disc"),
        pytest.param((150, 100, 70), (56, 50), 10, None, id="light-brown-large"),
    ],
)
def test_drawn_lesion_is_found(lesion, colour, axes, angle, centre) -> None:
    image, truth = lesion(
        colour=colour, axes=axes, angle=angle, centre=centre, seed=SEED
    )
    mask, used_fallback = segment_lesion(image)
    assert not used_fallback
    assert mask.dtype == bool and mask.shape == truth.shape
    assert_outlines(mask, truth)


def test_holes_are_filled(lesion) -> None:
    image, truth = lesion(seed=SEED)
    cv2.circle(image, (64, 64), 6, SKIN, -1)
    mask, _ = segment_lesion(image)
    assert mask[64, 64]
    assert iou(mask, truth) >= 0.9


def test_vignette_corners_are_not_the_lesion(lesion) -> None:
    image, truth = lesion(axes=(24, 18), seed=SEED)
    ys, xs = np.mgrid[:128, :128]
    outside_aperture = np.hypot(xs - 63.5, ys - 63.5) > 70
    image[outside_aperture] = 5
    mask, used_fallback = segment_lesion(image)
    assert not used_fallback
    assert not mask[outside_aperture].any()
    assert_outlines(mask, truth)


def test_hair_across_the_frame_does_not_win(lesion) -> None:
    image, truth = lesion(axes=(22, 16), seed=SEED)
    cv2.line(image, (0, 5), (127, 20), (40, 30, 25), 2)
    mask, _ = segment_lesion(image)
    assert iou(mask, truth) >= 0.8


@pytest.mark.parametrize("name", ["blank", "black", "tiny", "all_lesion"])
def test_degenerate_image_uses_the_recorded_fallback(name, degenerate_images) -> None:
    image = degenerate_images[name]
    mask, used_fallback = segment_lesion(image)
    assert used_fallback
    np.testing.assert_array_equal(mask, fallback_mask(image.shape[:2]))


def test_fallback_is_a_centred_ellipse() -> None:
    mask = fallback_mask((60, 80))
    assert mask[30, 40]
    assert not mask[0, 0]
    assert 0.1 < mask.mean() < 0.4


def test_segmentation_is_deterministic(lesion) -> None:
    image, _ = lesion(seed=SEED, noise=10)
    first, _ = segment_lesion(image)
    second, _ = segment_lesion(image.copy())
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    ("image", "match"),
    [
        pytest.param(np.zeros((32, 32), np.uint8), "RGB", id="grey"),
        pytest.param(np.zeros((32, 32, 3), np.float64), "uint8", id="float"),
        pytest.param(np.zeros((4, 4, 3), np.uint8), "at least", id="too-small"),
    ],
)
def test_bad_image_raises_one_clear_error(image, match) -> None:
    with pytest.raises(ValueError, match=match):
        segment_lesion(image)
