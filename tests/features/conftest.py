"""Small synthetic dermoscopy-like images drawn with OpenCV for the feature tests."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

SKIN = (226, 182, 160)
BROWN = (112, 70, 48)

LesionFactory = Callable[..., tuple[np.ndarray, np.ndarray]]


def draw_lesion(
    *,
    size: int = 128,
    centre: tuple[int, int] | None = None,
    axes: tuple[int, int] = (34, 24),
    angle: float = 0.0,
    colour: tuple[int, int, int] = BROWN,
    skin: tuple[int, int, int] = SKIN,
    noise: float = 3.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """An ellipse of one colour on skin, with mild Gaussian noise; (image, mask)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((size, size), dtype=np.uint8)
    centre = centre if centre is not None else (size // 2, size // 2)
    cv2.ellipse(mask, centre, axes, angle, 0, 360, 1, -1)
    image = np.empty((size, size, 3), dtype=np.float32)
    image[:] = skin
    image[mask.astype(bool)] = colour
    image += rng.normal(0.0, noise, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), mask.astype(bool)


def draw_blob(
    *, size: int = 128, irregular: float = 0.35, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A lobed, one-sided blob (a star-shaped radius function) on skin."""
    rng = np.random.default_rng(seed)
    theta = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    radius = 30 * (
        1
        + irregular * np.cos(theta)
        + 0.6 * irregular * np.cos(3 * theta + rng.uniform(0, 2 * np.pi))
    )
    points = np.stack(
        [size / 2 + radius * np.cos(theta), size / 2 + radius * np.sin(theta)], axis=1
    )
    mask = np.zeros((size, size), dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    image = np.empty((size, size, 3), dtype=np.uint8)
    image[:] = SKIN
    image[mask.astype(bool)] = BROWN
    return image, mask.astype(bool)


@pytest.fixture
def lesion() -> LesionFactory:
    """Factory for a drawn ellipse lesion: ``lesion(axes=..., colour=...)``."""
    return draw_lesion


@pytest.fixture
def blob() -> LesionFactory:
    """Factory for a lobed, asymmetric blob: ``blob(irregular=0.35)``."""
    return draw_blob


@pytest.fixture
def degenerate_images() -> dict[str, np.ndarray]:
    """Inputs that break naive extractors: flat, black, a speck, all lesion."""
    size = 64
    flat = np.full((size, size, 3), SKIN, dtype=np.uint8)
    black = np.zeros((size, size, 3), dtype=np.uint8)
    speck = flat.copy()
    speck[31:33, 31:33] = BROWN
    all_lesion = np.full((size, size, 3), BROWN, dtype=np.uint8)
    return {"blank": flat, "black": black, "tiny": speck, "all_lesion": all_lesion}
