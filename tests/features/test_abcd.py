"""Asymmetry, border and diameter features respond the way the ABCD rule says."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from features import asymmetry_features, border_features, diameter_features
from features._asymmetry import _aligned
from features._lesion import LesionView

SEED = 5


def test_circle_is_symmetric_and_blob_is_not(lesion, blob) -> None:
    circle_image, circle_mask = lesion(axes=(30, 30), seed=SEED)
    blob_image, blob_mask = blob(irregular=0.35, seed=SEED)
    circle = asymmetry_features(circle_image, circle_mask)
    lobed = asymmetry_features(blob_image, blob_mask)
    assert circle["shape_max"] < 0.05
    assert lobed["shape_max"] > 3 * circle["shape_max"]
    assert lobed["shape_mean"] > circle["shape_mean"]


@pytest.mark.parametrize("angle", [0, 30, 75, 120])
def test_ellipse_is_symmetric_at_any_angle(lesion, angle) -> None:
    image, mask = lesion(axes=(36, 18), angle=angle, seed=SEED)
    features = asymmetry_features(image, mask)
    assert features["shape_max"] < 0.06
    aligned_mask, _ = _aligned(LesionView(image, mask))
    rows, cols = np.nonzero(aligned_mask)
    # After alignment the major axis is horizontal: wider than tall.
    assert np.ptp(cols) > 1.7 * np.ptp(rows)


def test_two_coloured_halves_raise_colour_asymmetry(lesion) -> None:
    image, mask = lesion(axes=(30, 30), noise=0, seed=SEED)
    even = asymmetry_features(image, mask)
    half = image.copy()
    left = mask.copy()
    left[:, 64:] = False
    half[left] = (40, 30, 30)
    uneven = asymmetry_features(half, mask)
    assert uneven["colour_halves_minor"] + uneven["colour_halves_major"] > 20
    assert even["colour_halves_minor"] + even["colour_halves_major"] < 2
    assert uneven["darkness_offset"] > even["darkness_offset"] + 0.1


def test_border_of_circle_versus_ragged_blob(lesion, blob) -> None:
    circle = border_features(*lesion(axes=(30, 30), seed=SEED))
    image, mask = blob(irregular=0.35, seed=SEED)
    notched = mask.astype(np.uint8)
    for angle in np.linspace(0, 2 * np.pi, 12, endpoint=False):
        x, y = 64 + 34 * np.cos(angle), 64 + 34 * np.sin(angle)
        cv2.circle(notched, (int(x), int(y)), 5, 0, -1)
    ragged = border_features(image, notched.astype(bool))
    assert circle["compactness"] == pytest.approx(1.0, abs=0.15)
    assert circle["solidity"] > 0.97
    assert ragged["compactness"] > circle["compactness"] + 0.2
    assert ragged["solidity"] < circle["solidity"]
    assert ragged["defect_count"] > circle["defect_count"]
    assert ragged["radial_cv"] > circle["radial_cv"]
    assert 0.8 < circle["fractal_dimension"] < 1.3


def test_sharp_border_beats_blurred_border(lesion) -> None:
    image, mask = lesion(axes=(30, 30), noise=0, seed=SEED)
    blurred = cv2.GaussianBlur(image, (0, 0), 4)
    sharp = border_features(image, mask)
    soft = border_features(blurred, mask)
    assert sharp["gradient_mean"] > 1.5 * soft["gradient_mean"]
    assert sharp["abrupt_sectors"] >= soft["abrupt_sectors"]


def test_diameter_matches_the_drawn_ellipse(lesion) -> None:
    image, mask = lesion(axes=(40, 20), angle=30, seed=SEED)
    features = diameter_features(image, mask)
    side = 128
    assert features["major_axis_frac"] == pytest.approx(80 / side, rel=0.05)
    assert features["minor_axis_frac"] == pytest.approx(40 / side, rel=0.05)
    assert features["elongation"] == pytest.approx(0.5, abs=0.05)
    assert features["feret_max_frac"] == pytest.approx(80 / side, rel=0.05)
    assert features["area_frac"] == pytest.approx(np.pi * 40 * 20 / side**2, rel=0.05)
    assert features["frame_contact"] == 0.0


def test_lesion_filling_the_frame_touches_it() -> None:
    image = np.full((40, 40, 3), 90, dtype=np.uint8)
    features = diameter_features(image, np.ones((40, 40), dtype=bool))
    assert features["frame_contact"] == 1.0
    assert features["area_frac"] == 1.0
