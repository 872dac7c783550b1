"""Rotation-invariant uniform local binary patterns, computed with OpenCV shifts."""

from __future__ import annotations

import cv2
import numpy as np


def uniform_lbp(grey: np.ndarray, points: int, radius: float) -> np.ndarray:
    """Per-pixel rotation-invariant uniform LBP code (0..points+1) as uint8.

    Matches ``skimage.feature.local_binary_pattern(..., "uniform")`` away from the
    frame and is 5x faster (1.9 vs 10 ms for our three settings at 180 px): each
    neighbour is one sub-pixel ``cv2.warpAffine`` shift of the whole image
    instead of a per-pixel loop. Bilinear neighbours on a circle, ``points + 1``
    marks non-uniform patterns, edges are replicated. The one difference: a
    neighbour exactly equal to the centre counts as set (LBP's s(0) = 1), where
    scikit-image's float64 weights can land it 1e-15 below and clear the bit;
    at R = 2 and 5 that is 0.3% and 0.01% of isic9 pixels, in flat patches
    (tests/features/test_reference_skimage.py).
    """
    image = grey.astype(np.float32)
    height, width = image.shape
    threshold = image - 1e-4
    ones = np.zeros((height, width), dtype=np.uint8)
    changes = np.zeros((height, width), dtype=np.uint8)
    first = previous = None
    for k in range(points):
        angle = 2.0 * np.pi * k / points
        shift = np.float32(
            [[1, 0, -radius * np.cos(angle)], [0, 1, radius * np.sin(angle)]]
        )
        neighbour = cv2.warpAffine(
            image,
            shift,
            (width, height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        bit = (neighbour >= threshold).view(np.uint8)
        ones += bit
        if previous is None:
            first = bit
        else:
            changes += bit ^ previous
        previous = bit
    changes += previous ^ first
    return np.where(changes <= 2, ones, np.uint8(points + 1)).astype(np.uint8)
