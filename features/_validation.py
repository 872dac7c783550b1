"""Input checks shared by the feature extractors: one clear error per bad input."""

from __future__ import annotations

import numpy as np

MIN_SIDE = 8


def check_image(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as a C-contiguous uint8 (h, w, 3) array or raise ValueError."""
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(
            f"image: expected a (height, width, 3) RGB array, got shape {array.shape}"
        )
    return _check_pixels(array, "image")


def check_images(X: np.ndarray) -> np.ndarray:
    """Return ``X`` as a C-contiguous uint8 (n, h, w, 3) array or raise ValueError."""
    array = np.asarray(X)
    if array.ndim != 4 or array.shape[3] != 3:
        raise ValueError(
            "X: expected a (n_images, height, width, 3) uint8 RGB array, "
            f"got shape {array.shape}; stack the images first"
        )
    return _check_pixels(array, "X")


def check_mask(mask: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Return ``mask`` as a bool array of the image's height and width."""
    array = np.asarray(mask)
    if array.shape != image.shape[:2]:
        raise ValueError(
            f"mask: expected shape {image.shape[:2]} to match the image, "
            f"got {array.shape}"
        )
    return array.astype(bool, copy=False)


def _check_pixels(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype != np.uint8:
        raise ValueError(
            f"{name}: expected dtype uint8 (0-255 RGB), got {array.dtype}; "
            "convert with .astype(np.uint8) after scaling to 0-255"
        )
    height, width = array.shape[-3], array.shape[-2]
    if min(height, width) < MIN_SIDE:
        raise ValueError(
            f"{name}: images must be at least {MIN_SIDE}x{MIN_SIDE} pixels, "
            f"got {height}x{width}"
        )
    return np.ascontiguousarray(array)
