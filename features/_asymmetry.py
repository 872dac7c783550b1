"""A of ABCD: shape and colour asymmetry about the lesion's principal axes."""

from __future__ import annotations

import cv2
import numpy as np

from features._lesion import LesionView, safe_div

GROUP = "asymmetry"

#: Mirror comparisons run on the lesion scaled to at most this image side.
ALIGNED_SIDE = 96

DOCS: dict[str, str] = {
    "shape_major": "share of the lesion not covered by its mirror image about the "
    "major axis",
    "shape_minor": "share of the lesion not covered by its mirror image about the "
    "minor axis",
    "shape_mean": "mean of shape_major and shape_minor",
    "shape_max": "larger of shape_major and shape_minor",
    "colour_halves_major": "CIELab distance between the mean colours of the two "
    "halves split by the major axis",
    "colour_halves_minor": "CIELab distance between the mean colours of the two "
    "halves split by the minor axis",
    "colour_mirror_major": "mean CIELab distance between each pixel and its mirror "
    "about the major axis",
    "colour_mirror_minor": "mean CIELab distance between each pixel and its mirror "
    "about the minor axis",
    "darkness_offset": "distance between the darkness-weighted (95th percentile "
    "lightness minus lightness) and the plain centroid / equivalent radius",
}
NAMES: tuple[str, ...] = tuple(DOCS)


def _aligned(view: LesionView) -> tuple[np.ndarray, np.ndarray]:
    """Mask and Lab turned so the major axis is horizontal; canvas fits the lesion.

    Large images are shrunk to ALIGNED_SIDE on the way (the same warp), which
    keeps the ratios and makes the mirror comparisons four times cheaper.
    """
    cx, cy = view.centroid
    angle = view.principal_axes[2]
    scale = min(1.0, ALIGNED_SIDE / view.side)
    offsets = view.contour - np.array([cx, cy])
    reach = float(np.sqrt((offsets**2).sum(axis=1)).max()) * scale
    size = 2 * int(np.ceil(reach)) + 5
    centre = (size - 1) / 2.0
    matrix = cv2.getRotationMatrix2D((cx, cy), float(np.degrees(angle)), scale)
    matrix[:, 2] += (centre - cx, centre - cy)
    mask = cv2.warpAffine(
        view.mask_u8, matrix, (size, size), flags=cv2.INTER_NEAREST
    ).astype(bool)
    lab = cv2.warpAffine(view.lab, matrix, (size, size), flags=cv2.INTER_LINEAR)
    return mask, lab


def _mirror_scores(
    mask: np.ndarray, lab: np.ndarray, axis: int
) -> tuple[float, float, float]:
    """(shape asymmetry, colour distance of halves, mean mirror colour distance)."""
    area = int(np.count_nonzero(mask))
    mirrored_mask = np.flip(mask, axis=axis)
    shape = safe_div(np.count_nonzero(mask & ~mirrored_mask), area)
    centre = (mask.shape[axis] - 1) / 2.0
    coords = np.arange(mask.shape[axis])
    first_half = coords < centre
    first = np.zeros(mask.shape, dtype=bool)
    if axis == 0:
        first[first_half, :] = True
    else:
        first[:, first_half] = True
    side_a = lab[mask & first]
    side_b = lab[mask & ~first]
    if len(side_a) and len(side_b):
        halves = float(np.linalg.norm(side_a.mean(axis=0) - side_b.mean(axis=0)))
    else:
        halves = 0.0
    overlap = mask & mirrored_mask
    if overlap.any():
        difference = lab[overlap] - np.flip(lab, axis=axis)[overlap]
        mirror = float(np.sqrt(np.einsum("ij,ij->i", difference, difference)).mean())
    else:
        mirror = 0.0
    return shape, halves, mirror


def compute(view: LesionView) -> dict[str, float]:
    """Asymmetry features from a shared :class:`LesionView`."""
    mask, lab = _aligned(view)
    if not mask.any():
        mask = np.zeros_like(mask)
        mask[mask.shape[0] // 2, mask.shape[1] // 2] = True
    # Rows flip about the (horizontal) major axis, columns about the minor axis.
    shape_major, halves_major, mirror_major = _mirror_scores(mask, lab, axis=0)
    shape_minor, halves_minor, mirror_minor = _mirror_scores(mask, lab, axis=1)
    lightness = view.lab[..., 0][view.mask]
    # Darkness relative to the lesion's own light parts, so lighting cancels.
    darkness = np.clip(np.percentile(lightness, 95) - lightness, 0.0, None)
    ys, xs = np.nonzero(view.mask)
    weight = float(darkness.sum())
    if weight > 0:
        dx = float((xs * darkness).sum()) / weight - view.centroid[0]
        dy = float((ys * darkness).sum()) / weight - view.centroid[1]
    else:
        dx = dy = 0.0
    radius = np.sqrt(view.area / np.pi)
    return {
        "shape_major": shape_major,
        "shape_minor": shape_minor,
        "shape_mean": (shape_major + shape_minor) / 2.0,
        "shape_max": max(shape_major, shape_minor),
        "colour_halves_major": halves_major,
        "colour_halves_minor": halves_minor,
        "colour_mirror_major": mirror_major,
        "colour_mirror_minor": mirror_minor,
        "darkness_offset": safe_div(float(np.hypot(dx, dy)), radius),
    }


def asymmetry_features(image: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Asymmetry features of one uint8 RGB image and its bool lesion mask."""
    return compute(LesionView(image, mask))
