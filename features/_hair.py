"""Hair removal: find thin dark strands with a black-hat filter and inpaint them."""

from __future__ import annotations

import functools

import cv2
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from features._validation import check_images

#: Line-filter anisotropy above this (grey levels) marks a hair pixel.
HAIR_THRESHOLD = 20
#: Hairs contain straight runs this long, as a share of the image side ...
LINE_LENGTH = 0.115
#: ... their strands span at least this share of the side ...
MIN_STRAND_LENGTH = 0.1
#: ... and have at most this many pixels per pixel of span, as a share of the
#: side: a strand (or a few crossing) is thin, a field of dots is not.
MAX_AREA_PER_SPAN = 0.067
#: Orientations of the line filters, in degrees.
ANGLES = tuple(range(0, 180, 15))


@functools.lru_cache(maxsize=8)
def _line_kernels(length: int) -> tuple[np.ndarray, ...]:
    """One-pixel-wide line structuring elements, one per orientation."""
    kernels = []
    centre = (length - 1) / 2.0
    for angle in ANGLES:
        kernel = np.zeros((length, length), dtype=np.uint8)
        dx = np.cos(np.deg2rad(angle)) * centre
        dy = np.sin(np.deg2rad(angle)) * centre
        start = (round(centre - dx), round(centre - dy))
        end = (round(centre + dx), round(centre + dy))
        cv2.line(kernel, start, end, 1, 1)
        kernels.append(kernel)
    return tuple(kernels)


def hair_mask(image: np.ndarray) -> np.ndarray:
    """Return a bool mask of hair pixels in one uint8 RGB image.

    The black-hat filter finds thin dark structures. Openings with line elements
    at 12 angles tell lines from blobs: a hair survives along its own direction
    only, so the spread between the strongest and weakest opening is large on
    hairs and small on dots, globules and network. Long thin components remain,
    so lesion structures survive and still reach the texture features.

    Every step equals scikit-image's (``black_tophat``, ``dilation``,
    ``measure.label``) with the same footprints and ``mode="ignore"``, and OpenCV
    runs it 70x faster (0.4 vs 31 ms at 180 px). One convention differs:
    OpenCV's MORPH_OPEN dilates with the element as given, so for the four line
    elements that are not point-symmetric (15, 75, 105, 165 degrees) it is
    ``dilation(erosion(x, k), k)``, not ``skimage.morphology.opening``, which
    mirrors k.
    """
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    side = min(grey.shape)
    size = max(3, (side // 20) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    blackhat = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, disc)
    # Thicken by one pixel so a strand between two filter angles still contains
    # a whole line element.
    thick = cv2.dilate(blackhat, np.ones((3, 3), np.uint8))
    length = max(3, round(LINE_LENGTH * side) | 1)
    strongest = np.zeros_like(blackhat)
    weakest = np.full_like(blackhat, 255)
    for kernel in _line_kernels(length):
        opened = cv2.morphologyEx(thick, cv2.MORPH_OPEN, kernel)
        np.maximum(strongest, opened, out=strongest)
        np.minimum(weakest, opened, out=weakest)
    anisotropy = cv2.subtract(strongest, weakest)
    strand = (anisotropy > HAIR_THRESHOLD) & (blackhat > HAIR_THRESHOLD // 2)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        strand.astype(np.uint8), 8
    )
    if count <= 1:
        return np.zeros(grey.shape, dtype=bool)
    spans = np.hypot(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
    area_per_span = stats[1:, cv2.CC_STAT_AREA] / np.maximum(spans, 1.0)
    is_hair = (spans >= MIN_STRAND_LENGTH * side) & (
        area_per_span <= MAX_AREA_PER_SPAN * side
    )
    return np.concatenate([[False], is_hair])[labels]


def remove_hair(image: np.ndarray, *, radius: int = 2) -> np.ndarray:
    """Return a copy of one uint8 RGB image with hair strands inpainted.

    Hair crossing a lesion breaks segmentation and adds false texture; the
    black-hat line filter plus OpenCV's Navier-Stokes inpainting (DullRazor's
    idea) removes it cheaply. On synthetic hairs Navier-Stokes and Telea repair
    equally well; Navier-Stokes at radius 2 is the faster.
    """
    mask = hair_mask(image)
    if not mask.any():
        return image.copy()
    dilated = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8))
    return cv2.inpaint(image, dilated, radius, cv2.INPAINT_NS)


class HairRemover(TransformerMixin, BaseEstimator):
    """Transformer that inpaints hair in a batch of images; stateless.

    Parameters
    ----------
    enabled : bool
        When False the images pass through unchanged, so a pipeline can switch
        hair removal off without changing its shape.
    """

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled

    def fit(self, X: np.ndarray, y: object = None) -> HairRemover:
        check_images(X)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        images = check_images(X)
        if not self.enabled:
            return images.copy()
        return np.stack([remove_hair(image) for image in images])
