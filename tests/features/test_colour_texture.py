"""Colour and texture features: dermoscopic colours, skin contrast, texture order."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from features import DERMOSCOPIC_COLOURS, colour_features, texture_features

SEED = 13


def _shares(features: dict[str, float]) -> dict[str, float]:
    return {c: features[f"share_{c}"] for c in DERMOSCOPIC_COLOURS}


def test_blue_grey_patch_is_detected(lesion) -> None:
    image, mask = lesion(axes=(36, 30), seed=SEED)
    plain = colour_features(image, mask)
    patched = image.copy()
    cv2.circle(patched, (64, 64), 14, DERMOSCOPIC_COLOURS["blue_grey"], -1)
    veiled = colour_features(patched, mask)
    patch_share = np.pi * 14**2 / mask.sum()
    assert plain["has_blue_grey"] == 0.0
    assert veiled["has_blue_grey"] == 1.0
    assert veiled["share_blue_grey"] == pytest.approx(patch_share, abs=0.05)
    assert veiled["n_colours"] == plain["n_colours"] + 1


@pytest.mark.parametrize("colour", list(DERMOSCOPIC_COLOURS))
def test_each_reference_colour_is_recognised(lesion, colour) -> None:
    image, mask = lesion(colour=DERMOSCOPIC_COLOURS[colour], noise=2, seed=SEED)
    shares = _shares(colour_features(image, mask))
    assert max(shares, key=shares.get) == colour
    assert shares[colour] > 0.9


def test_shares_never_exceed_one_and_skin_like_pixels_count_as_none(lesion) -> None:
    skin = (226, 182, 160)
    image, mask = lesion(colour=(215, 170, 150), skin=skin, seed=SEED)
    features = colour_features(image, mask)
    assert sum(_shares(features).values()) <= 1.0 + 1e-9
    assert features["n_colours"] == 0.0


def test_contrast_to_skin_has_the_right_sign(lesion) -> None:
    image, mask = lesion(colour=(90, 55, 40), seed=SEED)
    features = colour_features(image, mask)
    assert features["contrast_l"] < -25
    assert features["contrast_e"] >= abs(features["contrast_l"])
    assert features["skin_l"] > features["lab_l_mean"]


def test_texture_orders_flat_below_noisy(lesion) -> None:
    image, mask = lesion(axes=(40, 40), noise=0, seed=SEED)
    rng = np.random.default_rng(SEED)
    noisy = np.clip(image + rng.normal(0, 25, image.shape), 0, 255).astype(np.uint8)
    flat_features = texture_features(image, mask)
    noisy_features = texture_features(noisy, mask)
    for name in ("glcm_d1_contrast", "glcm_d1_entropy", "local_std_mean"):
        assert noisy_features[name] > flat_features[name] + 1e-3, name
    assert noisy_features["glcm_d1_homogeneity"] < flat_features["glcm_d1_homogeneity"]
    assert flat_features["glcm_d1_contrast"] == 0.0


@pytest.mark.parametrize(
    "prefix", ["lbp_p8r1_bin", "lbp_p8r5_bin", "frame_lbp_p8r1_bin"]
)
def test_lbp_histograms_sum_to_one(lesion, prefix) -> None:
    features = texture_features(*lesion(noise=10, seed=SEED))
    total = sum(v for k, v in features.items() if k.startswith(prefix))
    assert total == pytest.approx(1.0)


def test_dark_dots_raise_spot_density(lesion) -> None:
    image, mask = lesion(axes=(40, 40), seed=SEED)
    dotted = image.copy()
    rng = np.random.default_rng(SEED)
    for x, y in rng.integers(40, 88, size=(10, 2)):
        cv2.circle(dotted, (int(x), int(y)), 1, (20, 15, 15), -1)
    plain = texture_features(image, mask)["dark_spot_density"]
    assert texture_features(dotted, mask)["dark_spot_density"] > plain + 1.0
