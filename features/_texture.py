"""Lesion texture: masked GLCM, multi-radius uniform LBP histograms, dots and cysts.

Gabor energy was measured too (3 wavelengths x 4 angles) and left out: on isic9
it did not raise cross-validated balanced accuracy and cost a tenth of the time.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.feature import graycomatrix, graycoprops

from features._lbp import uniform_lbp
from features._lesion import LesionView

GROUP = "texture"

#: GLCM, spots and grey statistics use a grey image of at most this side (speed,
#: and one spatial scale whatever the input size); LBP uses full resolution.
TEXTURE_SIDE = 96
#: Fewest interior pixels worth measuring texture on; smaller lesions keep their rim.
MIN_INTERIOR = 16
GLCM_LEVELS = 32
GLCM_DISTANCES = (1, 2, 4)
#: (row, column) steps of the four GLCM angles 0, 45, 90 and 135 degrees, each
#: multiplied by the distance; a pair and its reverse both count.
GLCM_STEPS = ((0, 1), (-1, 1), (-1, 0), (-1, -1))
#: scikit-image angles giving those steps: 0 and 90 degrees at distance d ...
_STRAIGHT_ANGLES = (0.0, np.pi / 2)
#: ... and the diagonals at distance d * sqrt(2) (its 45 degrees are our 135).
_DIAGONAL_ANGLES = (np.pi / 4, 3 * np.pi / 4)
GLCM_PROPS = (
    "contrast",
    "dissimilarity",
    "homogeneity",
    "energy",
    "correlation",
    "entropy",
)
#: (points, radius) of the LBP histograms, at full resolution.
LBP_SETTINGS = ((8, 1), (8, 2), (8, 5))
#: LBP settings whose histogram is also taken over the whole frame (context).
FRAME_LBP_SETTINGS = ((8, 1),)
SPOT_THRESHOLD = 20
#: GLCM properties (GLCM_PROPS order) of a lesion with no pixel pair inside it.
_EMPTY_GLCM_PROPS = (0.0, 0.0, 1.0, 1.0, 1.0, 0.0)


def _docs() -> dict[str, str]:
    docs: dict[str, str] = {}
    for distance in GLCM_DISTANCES:
        for prop in GLCM_PROPS:
            docs[f"glcm_d{distance}_{prop}"] = (
                f"GLCM {prop} at distance {distance} (of {TEXTURE_SIDE} px), "
                "mean over 4 angles, lesion pixels only"
            )
    for prop in GLCM_PROPS:
        docs[f"glcm_d1_{prop}_range"] = f"max - min over the 4 angles of GLCM {prop}"
    for points, radius in LBP_SETTINGS:
        docs[f"lbp_p{points}r{radius}_bin{{i}}"] = (
            f"share of lesion pixels with uniform LBP code i (P={points}, R={radius} "
            "px at full resolution; last bin: non-uniform)"
        )
    for points, radius in FRAME_LBP_SETTINGS:
        docs[f"frame_lbp_p{points}r{radius}_bin{{i}}"] = (
            f"the same LBP (P={points}, R={radius}) histogram over the whole frame"
        )
    docs["grey_entropy"] = "Shannon entropy (bits) of the 32-level grey histogram"
    docs["local_std_mean"] = "mean 5x5 local standard deviation of grey (0-1)"
    docs["dark_spot_density"] = "dark dots/globules per 1000 lesion pixels"
    docs["bright_spot_density"] = "bright dots (milia-like cysts) per 1000 lesion px"
    return docs


DOCS: dict[str, str] = _docs()


def _names() -> tuple[str, ...]:
    """Column names in output order; ``{i}`` patterns expand to one per LBP bin."""
    bins = {
        f"{prefix}lbp_p{points}r{radius}_bin{{i}}": points + 2
        for prefix, settings in (("", LBP_SETTINGS), ("frame_", FRAME_LBP_SETTINGS))
        for points, radius in settings
    }
    names: list[str] = []
    for pattern in DOCS:
        if pattern in bins:
            names.extend(pattern.format(i=i) for i in range(bins[pattern]))
        else:
            names.append(pattern)
    return tuple(names)


NAMES: tuple[str, ...] = _names()


def _small(view: LesionView) -> tuple[np.ndarray, np.ndarray]:
    """Grey image and lesion interior shrunk to at most TEXTURE_SIDE.

    The mask loses its outermost pixel ring where enough remains, so that the
    lesion-to-skin step is measured by the border features, not as texture.
    The mask is never empty.
    """
    scale = min(1.0, TEXTURE_SIDE / view.side)
    grey, mask = view.grey, view.mask_u8
    if scale < 1.0:
        size = (max(1, round(view.width * scale)), max(1, round(view.height * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        mask = (cv2.resize(mask * 255, size, interpolation=cv2.INTER_AREA) >= 128).view(
            np.uint8
        )
    interior = cv2.erode(mask, np.ones((3, 3), np.uint8), borderValue=1)
    if np.count_nonzero(interior) >= MIN_INTERIOR:
        mask = interior
    if not mask.any():
        cx, cy = view.centroid
        row = min(int(cy * scale), mask.shape[0] - 1)
        col = min(int(cx * scale), mask.shape[1] - 1)
        mask[row, col] = 1
    return grey, mask.astype(bool)


def _glcm_counts(grey: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Co-occurrence counts of lesion pixel pairs, (levels, levels, distances, 4).

    scikit-image has no mask, so the lesion-only matrix is built from its own
    ``graycomatrix``: pixels outside the mask get an extra grey level
    (GLCM_LEVELS), and dropping that level's row and column removes every pair
    with an end outside the lesion. What remains counts exactly the pairs whose
    two pixels are both in the mask, each pair once in each direction
    (``symmetric=True``). Diagonal steps are (d, d) pixels, which scikit-image
    reaches with distance d * sqrt(2). It adds sin(angle) * d to the row index,
    so its angles turn clockwise on screen and its 45 and 135 degrees are our
    135 and 45; means and ranges over the angles do not see the order.
    """
    levels = np.where(mask, grey >> 3, GLCM_LEVELS).astype(np.uint8)
    straight = graycomatrix(
        levels, GLCM_DISTANCES, _STRAIGHT_ANGLES, levels=GLCM_LEVELS + 1, symmetric=True
    )
    diagonal = graycomatrix(
        levels,
        [distance * np.sqrt(2.0) for distance in GLCM_DISTANCES],
        _DIAGONAL_ANGLES,
        levels=GLCM_LEVELS + 1,
        symmetric=True,
    )
    counts = np.concatenate([straight, diagonal], axis=3)
    return counts[:GLCM_LEVELS, :GLCM_LEVELS].astype(np.float64)


def _glcm_props(counts: np.ndarray) -> np.ndarray:
    """(distances, angles, GLCM_PROPS) from ``skimage.feature.graycoprops``.

    Entropy is turned into bits (scikit-image uses the natural log). Where no
    pair falls inside the lesion the properties of a flat region are used.
    """
    per_angle = np.stack([graycoprops(counts, prop) for prop in GLCM_PROPS], axis=-1)
    per_angle[..., GLCM_PROPS.index("entropy")] /= np.log(2.0)
    per_angle[counts.sum(axis=(0, 1)) == 0] = _EMPTY_GLCM_PROPS
    return per_angle


def _glcm_features(grey: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    per_distance = _glcm_props(_glcm_counts(grey, mask))
    features: dict[str, float] = {}
    for distance, per_angle in zip(GLCM_DISTANCES, per_distance, strict=True):
        for prop, value in zip(GLCM_PROPS, per_angle.mean(axis=0), strict=True):
            features[f"glcm_d{distance}_{prop}"] = float(value)
        if distance == 1:
            spread = per_angle.max(axis=0) - per_angle.min(axis=0)
            for prop, value in zip(GLCM_PROPS, spread, strict=True):
                features[f"glcm_d1_{prop}_range"] = float(value)
    return features


def _lbp_features(view: LesionView) -> dict[str, float]:
    """LBP histograms at full resolution, where fine texture lives."""
    features: dict[str, float] = {}
    area = float(view.area)
    for points, radius in LBP_SETTINGS:
        codes = uniform_lbp(view.grey, points, radius)
        shares = np.bincount(codes[view.mask], minlength=points + 2) / area
        for i, share in enumerate(shares):
            features[f"lbp_p{points}r{radius}_bin{i}"] = float(share)
        if (points, radius) in FRAME_LBP_SETTINGS:
            frame = np.bincount(codes.ravel(), minlength=points + 2) / codes.size
            for i, share in enumerate(frame):
                features[f"frame_lbp_p{points}r{radius}_bin{i}"] = float(share)
    return features


def _spot_density(grey: np.ndarray, mask: np.ndarray, operation: int) -> float:
    """Small dark (black-hat) or bright (top-hat) spots per 1000 lesion pixels.

    Equals scikit-image's ``black_tophat`` / ``white_tophat`` and ``label``
    count; OpenCV is 20x faster.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    response = cv2.morphologyEx(grey, operation, kernel)
    spots = ((response > SPOT_THRESHOLD) & mask).astype(np.uint8)
    count = cv2.connectedComponents(spots, connectivity=8)[0] - 1
    return 1000.0 * count / float(mask.sum())


def compute(view: LesionView) -> dict[str, float]:
    """Texture features from a shared :class:`LesionView`."""
    grey, mask = _small(view)
    features = _glcm_features(grey, mask)
    features.update(_lbp_features(view))
    histogram = np.bincount(grey[mask] // 8, minlength=32) / float(mask.sum())
    nonzero = histogram[histogram > 0]
    image = grey.astype(np.float32) / 255.0
    local_mean = cv2.blur(image, (5, 5))
    local_sq = cv2.blur(image * image, (5, 5))
    local_std = np.sqrt(np.maximum(local_sq - local_mean**2, 0.0))
    features["grey_entropy"] = float(-(nonzero * np.log2(nonzero)).sum())
    features["local_std_mean"] = float(local_std[mask].mean())
    features["dark_spot_density"] = _spot_density(grey, mask, cv2.MORPH_BLACKHAT)
    features["bright_spot_density"] = _spot_density(grey, mask, cv2.MORPH_TOPHAT)
    return {name: features[name] for name in NAMES}


def texture_features(image: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Texture features of one uint8 RGB image and its bool lesion mask."""
    return compute(LesionView(image, mask))
