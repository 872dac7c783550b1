"""One image plus its lesion mask, with colour spaces and shape computed once."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from features._validation import check_image, check_mask

#: Variance of a unit pixel: keeps axis lengths of one-pixel masks above zero.
PIXEL_VARIANCE = 1.0 / 12.0


def safe_div(numerator: float, denominator: float, default: float = 0.0) -> float:
    """Divide, returning ``default`` where the ratio is undefined or not finite."""
    if denominator == 0 or not np.isfinite(denominator):
        return default
    value = numerator / denominator
    return float(value) if np.isfinite(value) else default


class _ColourSpaces:
    """One image's colour spaces, computed when first asked for and shared by
    every view of that image, whichever mask it reads."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image

    @functools.cached_property
    def lab(self) -> np.ndarray:
        return cv2.cvtColor(self.image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)

    @functools.cached_property
    def hsv(self) -> np.ndarray:
        return cv2.cvtColor(self.image.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)

    @functools.cached_property
    def grey(self) -> np.ndarray:
        return cv2.cvtColor(self.image, cv2.COLOR_RGB2GRAY)


class LesionView:
    """Shared, lazily computed views of one lesion for the feature extractors.

    Every extractor needs some of Lab, HSV, grey, moments and the contour;
    computing them once per image keeps extraction fast.
    """

    def __init__(self, image: np.ndarray, mask: np.ndarray) -> None:
        self.image = check_image(image)
        self.mask = check_mask(mask, self.image)
        self.area = int(np.count_nonzero(self.mask))
        if self.area == 0:
            raise ValueError(
                "mask: no lesion pixels; pass a mask from segment_lesion, "
                "which is never empty"
            )
        self.height, self.width = self.mask.shape
        self.side = float(min(self.height, self.width))
        self._colours = _ColourSpaces(self.image)

    def with_mask(self, mask: np.ndarray) -> LesionView:
        """The same image under another mask; the colour spaces are shared,
        so a second mask costs only its own shape figures."""
        view = LesionView(self.image, mask)
        view._colours = self._colours
        return view

    @functools.cached_property
    def mask_u8(self) -> np.ndarray:
        return self.mask.astype(np.uint8)

    @property
    def lab(self) -> np.ndarray:
        """CIELab, float32: L in [0, 100], a and b roughly in [-128, 127]."""
        return self._colours.lab

    @property
    def hsv(self) -> np.ndarray:
        """HSV, float32: H in degrees [0, 360), S and V in [0, 1]."""
        return self._colours.hsv

    @property
    def grey(self) -> np.ndarray:
        return self._colours.grey

    @functools.cached_property
    def centroid(self) -> tuple[float, float]:
        """(x, y) centre of mass of the mask."""
        moments = cv2.moments(self.mask_u8, binaryImage=True)
        return moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]

    @functools.cached_property
    def principal_axes(self) -> tuple[float, float, float]:
        """(major variance, minor variance, angle of the major axis in radians).

        The variances are the eigenvalues of ``skimage.measure.regionprops``'
        inertia tensor plus PIXEL_VARIANCE, so a one-pixel lesion has axes.
        """
        moments = cv2.moments(self.mask_u8, binaryImage=True)
        area = moments["m00"]
        cxx = moments["mu20"] / area + PIXEL_VARIANCE
        cyy = moments["mu02"] / area + PIXEL_VARIANCE
        cxy = moments["mu11"] / area
        half_trace = (cxx + cyy) / 2.0
        root = float(np.sqrt(max(((cxx - cyy) / 2.0) ** 2 + cxy**2, 0.0)))
        angle = 0.5 * float(np.arctan2(2.0 * cxy, cxx - cyy))
        return half_trace + root, max(half_trace - root, PIXEL_VARIANCE), angle

    @functools.cached_property
    def contour(self) -> np.ndarray:
        """Outer boundary of the largest mask component as (n, 2) int32 x, y points."""
        contours, _ = cv2.findContours(
            self.mask_u8, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
        )
        largest = max(contours, key=len)
        return largest.reshape(-1, 2)

    @functools.cached_property
    def perimeter(self) -> float:
        """Contour length; at least the perimeter of a single pixel (4)."""
        contour = self.contour.reshape(-1, 1, 2)
        return max(float(cv2.arcLength(contour, closed=True)), 4.0)

    @functools.cached_property
    def hull(self) -> np.ndarray:
        return cv2.convexHull(self.contour.reshape(-1, 1, 2))

    @functools.cached_property
    def hull_area(self) -> float:
        """Area of the convex hull in pixels, never below the mask's own area."""
        return max(float(cv2.contourArea(self.hull)), float(self.area))

    @functools.cached_property
    def skin(self) -> np.ndarray:
        """Bool mask of the skin around the lesion: a ring, else all the rest."""
        size = max(3, int(self.side * 0.15) | 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        ring = cv2.dilate(self.mask_u8, kernel).astype(bool) & ~self.mask
        # Drop vignette and other near-black pixels: they are not skin.
        ring &= self.lab[..., 0] > 15.0
        if np.count_nonzero(ring) >= 10:
            return ring
        rest = ~self.mask
        return rest if rest.any() else self.mask
