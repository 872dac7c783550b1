"""Hair removal: drawn strands vanish, dots and globules stay."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from features import HairRemover, hair_mask, remove_hair

SEED = 11
HAIR = (40, 30, 25)


def _with_hairs(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draw three thin dark strands; return the image and the strand pixels."""
    hairy = image.copy()
    strands = np.zeros(image.shape[:2], dtype=np.uint8)
    for start, end in [
        ((0, 10), (127, 60)),
        ((20, 127), (90, 0)),
        ((5, 100), (127, 110)),
    ]:
        cv2.line(hairy, start, end, HAIR, 1)
        cv2.line(strands, start, end, 1, 1)
    return hairy, strands.astype(bool)


def test_drawn_hairs_are_found_and_inpainted(lesion) -> None:
    clean, _ = lesion(seed=SEED)
    hairy, strands = _with_hairs(clean)
    found = hair_mask(hairy)
    assert np.count_nonzero(found & strands) >= 0.8 * np.count_nonzero(strands)
    repaired = remove_hair(hairy).astype(np.float64)
    before = np.abs(hairy.astype(np.float64) - clean)[strands].mean()
    after = np.abs(repaired - clean)[strands].mean()
    assert after < 0.25 * before


def test_dots_and_globules_are_not_hair(lesion) -> None:
    image, _ = lesion(seed=SEED)
    rng = np.random.default_rng(SEED)
    for x, y in rng.integers(40, 88, size=(12, 2)):
        cv2.circle(image, (int(x), int(y)), 2, (30, 20, 20), -1)
    assert not hair_mask(image).any()
    np.testing.assert_array_equal(remove_hair(image), image)


def test_hair_free_image_is_returned_unchanged(degenerate_images) -> None:
    image = degenerate_images["blank"]
    cleaned = remove_hair(image)
    np.testing.assert_array_equal(cleaned, image)
    assert cleaned is not image


@pytest.mark.parametrize("enabled", [True, False], ids=["on", "off"])
def test_transformer_switch(lesion, enabled) -> None:
    clean, _ = lesion(seed=SEED)
    hairy, _ = _with_hairs(clean)
    batch = np.stack([hairy, clean])
    out = HairRemover(enabled=enabled).fit_transform(batch)
    assert out.shape == batch.shape and out.dtype == np.uint8
    assert np.array_equal(out[0], hairy) is not enabled


def test_transformer_rejects_single_image(lesion) -> None:
    image, _ = lesion(seed=SEED)
    with pytest.raises(ValueError, match="n_images"):
        HairRemover().fit(image)
