"""B of ABCD: how irregular the lesion's border is and how sharply it ends."""

from __future__ import annotations

import cv2
import numpy as np

from features._lesion import LesionView, safe_div

GROUP = "border"

#: Concavities deeper than this share of the equivalent diameter count as defects.
DEFECT_DEPTH = 0.05
#: Angular sectors for the ABCD "abrupt cut-off" count.
SECTORS = 8

DOCS: dict[str, str] = {
    "compactness": "perimeter^2 / (4 pi area): 1 for a disc, larger when ragged",
    "solidity": "lesion area / convex hull area",
    "convexity": "convex hull perimeter / perimeter",
    "defect_count": "number of concavities deeper than 5% of the equivalent diameter",
    "defect_max_depth": "deepest concavity / equivalent diameter",
    "defect_mean_depth": "mean depth of those concavities / equivalent diameter",
    "radial_cv": "coefficient of variation of the centroid-to-border distance",
    "roughness": "mean distance between the border and a smoothed border / "
    "equivalent radius",
    "irregularity_index": "perimeter / circumference of the equal-area circle",
    "gradient_mean": "mean CIELab lightness gradient on the border (L units per px)",
    "gradient_cv": "coefficient of variation of that gradient along the border",
    "sharpness": "border gradient / lightness step between the inner and outer band",
    "sector_gradient_ratio": "weakest / strongest mean border gradient over 8 sectors",
    "abrupt_sectors": "sectors (of 8) whose mean border gradient is over twice the "
    "median gradient outside the lesion",
    "band_contrast": "CIELab distance between thin bands just inside and outside "
    "the border",
    "fractal_dimension": "box-counting dimension of the border (1 smooth, towards 2 "
    "ragged)",
}
NAMES: tuple[str, ...] = tuple(DOCS)


def _defects(view: LesionView, diameter: float) -> tuple[float, float, float]:
    """(count, max depth, mean depth) of significant concavities."""
    contour = cv2.approxPolyDP(view.contour.reshape(-1, 1, 2), 1.0, closed=True)
    if len(contour) < 4:
        return 0.0, 0.0, 0.0
    hull = cv2.convexHull(contour, returnPoints=False)
    try:
        defects = cv2.convexityDefects(contour, hull)
    except cv2.error:
        # Self-touching contours can make OpenCV reject the hull; none recorded.
        return 0.0, 0.0, 0.0
    if defects is None:
        return 0.0, 0.0, 0.0
    depths = defects.reshape(-1, 4)[:, 3] / 256.0 / diameter
    significant = depths[depths > DEFECT_DEPTH]
    if significant.size == 0:
        return 0.0, float(depths.max(initial=0.0)), 0.0
    return float(significant.size), float(depths.max()), float(significant.mean())


def _roughness(points: np.ndarray, radius: float) -> float:
    """Mean gap between the border and its circularly smoothed copy."""
    count = len(points)
    if count < 8:
        return 0.0
    width = max(3, count // 20) | 1
    kernel = np.ones(width) / width
    pad = width // 2
    padded = np.concatenate([points[-pad:], points, points[:pad]]).astype(np.float64)
    smooth = np.stack(
        [np.convolve(padded[:, k], kernel, mode="valid") for k in (0, 1)], axis=1
    )
    return safe_div(float(np.linalg.norm(points - smooth, axis=1).mean()), radius)


def _fractal_dimension(points: np.ndarray, side: float) -> float:
    """Box-counting dimension of the border points: slope of log N against log 1/s."""
    sizes = [s for s in (2, 3, 4, 6, 8, 12, 16, 24, 32) if s <= side / 2]
    if len(points) < 4 or len(sizes) < 2:
        return 1.0
    counts = []
    for size in sizes:
        boxes = points // size
        keys = boxes[:, 1].astype(np.int64) * (int(boxes[:, 0].max()) + 1) + boxes[:, 0]
        counts.append(np.count_nonzero(np.bincount(keys)))
    slope = np.polyfit(np.log(1.0 / np.asarray(sizes)), np.log(counts), 1)[0]
    return float(np.clip(slope, 0.0, 2.0))


def _bands(view: LesionView) -> tuple[np.ndarray, np.ndarray]:
    """Thin bands just inside and just outside the border."""
    size = max(3, int(view.side / 45) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    inner = view.mask & ~cv2.erode(view.mask_u8, kernel).astype(bool)
    outer = cv2.dilate(view.mask_u8, kernel).astype(bool) & ~view.mask
    return inner, outer


def _gradients(view: LesionView, points: np.ndarray) -> dict[str, float]:
    lightness = view.lab[..., 0]
    gx = cv2.Sobel(lightness, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(lightness, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    magnitude = np.sqrt(gx * gx + gy * gy)
    on_border = magnitude[points[:, 1], points[:, 0]].astype(np.float64)
    mean = float(on_border.mean())
    inner, outer = _bands(view)
    lab = view.lab
    if inner.any() and outer.any():
        inside, outside = lab[inner].mean(axis=0), lab[outer].mean(axis=0)
        band_contrast = float(np.linalg.norm(inside - outside))
        step = abs(float(inside[0] - outside[0]))
    else:
        band_contrast = step = 0.0
    cx, cy = view.centroid
    angles = np.arctan2(points[:, 1] - cy, points[:, 0] - cx)
    sector = ((angles + np.pi) / (2 * np.pi) * SECTORS).astype(int) % SECTORS
    totals = np.bincount(sector, weights=on_border, minlength=SECTORS)
    counts = np.bincount(sector, minlength=SECTORS)
    filled = counts > 0
    sector_means = totals[filled] / counts[filled]
    outside_pixels = magnitude[~view.mask]
    reference = float(np.median(outside_pixels)) if outside_pixels.size else 0.0
    return {
        "gradient_mean": mean,
        "gradient_cv": safe_div(float(on_border.std()), mean),
        "sharpness": safe_div(mean, step),
        "sector_gradient_ratio": safe_div(
            float(sector_means.min()), float(sector_means.max()), 1.0
        ),
        "abrupt_sectors": float(np.count_nonzero(sector_means > 2.0 * reference)),
        "band_contrast": band_contrast,
    }


def compute(view: LesionView) -> dict[str, float]:
    """Border features from a shared :class:`LesionView`."""
    area, perimeter = float(view.area), view.perimeter
    diameter = float(np.sqrt(4.0 * area / np.pi))
    points = view.contour
    hull_perimeter = float(cv2.arcLength(view.hull, closed=True))
    count, max_depth, mean_depth = _defects(view, diameter)
    radial = np.hypot(points[:, 0] - view.centroid[0], points[:, 1] - view.centroid[1])
    features = {
        "compactness": perimeter**2 / (4.0 * np.pi * area),
        "solidity": safe_div(area, view.hull_area, 1.0),
        "convexity": min(safe_div(hull_perimeter, perimeter, 1.0), 1.0),
        "defect_count": count,
        "defect_max_depth": max_depth,
        "defect_mean_depth": mean_depth,
        "radial_cv": safe_div(float(radial.std()), float(radial.mean())),
        "roughness": _roughness(points, diameter / 2.0),
        "irregularity_index": perimeter / (np.pi * diameter),
    }
    features.update(_gradients(view, points))
    features["fractal_dimension"] = _fractal_dimension(points, view.side)
    return {name: float(features[name]) for name in NAMES}


def border_features(image: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Border features of one uint8 RGB image and its bool lesion mask."""
    return compute(LesionView(image, mask))
