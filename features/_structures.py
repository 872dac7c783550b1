"""Dermoscopic structures of the 7-point checklist, measured inside and around the mask.

Each column's prefix names the checklist criterion it stands for (``network_``,
``streaks_``, ``dots_``, ``veil_``, ``regression_``, ``vessels_``, ``blotch_``),
so a probe can read one criterion from its own columns. Lines, dots and blobs
come from the Hessian of CIELab lightness (dark lines and dots: positive
curvature across them) at two scales; colours are read relative to the
surrounding skin, like the camera-independent colour features. Lines and dots
need the full 180 px (at 120 px the network's AUC on derm7pt-dev falls from 0.80
to 0.72); the colour structures are areas and are read at half that size.
"""

from __future__ import annotations

import cv2
import numpy as np

from features._lesion import LesionView, safe_div

GROUP = "structures"

#: Structures are measured on an image of at most this side (speed, one scale).
STRUCTURE_SIDE = 180
#: Gaussian scales (px at STRUCTURE_SIDE) of the fine and the coarse Hessian.
FINE_SIGMA = 1.0
COARSE_SIGMA = 2.0
#: A pixel is on a dark line where its ridge strength exceeds this (L per px^2).
LINE_THRESHOLD = 1.5
#: A local maximum of the dark-blob response above this is a dot or globule.
DOT_THRESHOLD = 1.0
#: Normalised depth (distance to the border / the deepest) below which a lesion
#: pixel is peripheral.
RIM_DEPTH = 0.35
#: Angular sectors for how evenly a structure is spread around the centre.
SECTORS = 8
#: Skin pixels (evenly strided) that estimate the skin colour.
SKIN_PIXELS = 4096
#: Blue-whitish veil: bluer than the skin by this many CIELab b units ...
VEIL_BLUE = 12.0
#: ... and lightness between these CIELab L values (neither black nor white).
VEIL_LIGHTNESS = (25.0, 75.0)
#: Regression: whiter than the lesion's median by this many L units, low chroma.
WHITE_STEP = 8.0
#: Red: CIELab a above the skin's by this many units.
RED_STEP = 12.0
#: A blotch is darker than the lesion's 25th percentile and at least this many L
#: units below the skin.
BLOTCH_STEP = 25.0

DOCS: dict[str, str] = {
    "network_line_fine": "mean dark-line (ridge) strength in the lesion, Hessian of "
    f"L at sigma {FINE_SIGMA} px",
    "network_line_coarse": f"the same at sigma {COARSE_SIGMA} px",
    "network_line_share": "share of lesion pixels on a fine dark line",
    "network_line_vs_skin": "fine ridge strength in the lesion / in the skin ring",
    "network_coherence": "mean local orientation coherence on line pixels (0 = "
    "meshes in all directions, 1 = parallel lines)",
    "network_hole_density": "enclosed holes between lines per 1000 lesion pixels",
    "network_hole_cv": "coefficient of variation of hole areas (irregular meshes)",
    "network_sector_cv": "coefficient of variation of line share over 8 sectors",
    "network_rim_core": "line share of the periphery / of the centre",
    "network_contrast_cv": "coefficient of variation of ridge strength on lines",
    "network_line_p90": "90th percentile of fine ridge strength in the lesion",
    "network_coarse_share": "share of lesion pixels on a coarse dark line",
    "streaks_rim_line": "mean fine ridge strength in the periphery and the ring just "
    "outside the border",
    "streaks_radial": "strength-weighted alignment of peripheral lines with the "
    "radius (1 radial, -1 tangential)",
    "streaks_radial_share": "share of peripheral pixels on a strong, radially "
    "aligned line",
    "streaks_outside_share": "share of the ring just outside the border on a "
    "radially aligned line (pseudopods)",
    "streaks_sectors": "sectors (of 8) holding radial lines",
    "streaks_sector_cv": "coefficient of variation of radial-line share over the "
    "8 sectors (irregular: on some sides only)",
    "dots_fine_density": "dark dots (blob maxima of the fine Hessian, both "
    "eigenvalues positive) per 1000 lesion px",
    "dots_coarse_density": "dark globules (blob maxima of the coarse Hessian) per 1000 "
    "lesion px",
    "dots_strength_mean": "mean blob response of the dots",
    "dots_strength_cv": "coefficient of variation of the dots' blob responses",
    "dots_rim_share": "share of dots and globules in the periphery",
    "dots_offset": "distance of the dots' centroid from the lesion's / equivalent "
    "radius",
    "dots_sector_cv": "coefficient of variation of dot counts over 8 sectors",
    "dots_outside_density": "dark dots per 1000 px in the ring just outside",
    "veil_share": f"share of lesion pixels bluer than the skin (b {VEIL_BLUE:.0f} "
    f"below) with L in {VEIL_LIGHTNESS}",
    "veil_largest": "largest connected veil area / lesion area (confluent veil)",
    "veil_b_p10": "10th percentile of lesion CIELab b minus the skin's",
    "veil_blue_index": "90th percentile of (B - (R + G) / 2) / 255 in the lesion "
    "minus its median in the skin",
    "veil_core_share": "veil share in the centre minus in the periphery",
    "veil_faint_share": f"share of lesion pixels bluer than the skin by "
    f"{VEIL_BLUE / 2:.0f} b units with L in {VEIL_LIGHTNESS}",
    "veil_b_mean": "mean lesion CIELab b minus the skin's",
    "veil_l_mean": "mean lesion CIELab L minus the skin's",
    "regression_white_share": "share of lesion pixels whiter than the lesion's "
    "median and low in chroma (scar-like)",
    "regression_grey_share": "share of lesion pixels grey-blue and low in chroma",
    "regression_pepper_density": "small blue-grey dots (peppering) per 1000 lesion px",
    "regression_white_grey": "share of lesion where white and grey-blue areas meet "
    "within a few pixels",
    "vessels_red_share": f"share of lesion pixels with a over the skin's by "
    f"{RED_STEP:.0f}",
    "vessels_red_line": "mean bright-red ridge strength (Hessian of a) in the lesion",
    "vessels_red_dots": "red dots (maxima of the a blob response) per 1000 lesion px",
    "vessels_a_p90": "90th percentile of lesion a minus the skin's",
    "vessels_pale_share": "share of lesion pixels no darker than the skin by 10 L "
    "(little pigment)",
    "vessels_a_mean": "mean lesion CIELab a minus the skin's",
    "vessels_red_line_p90": "90th percentile of the bright-red ridge strength",
    "vessels_pink_share": "share of lesion pixels redder than the skin by "
    f"{RED_STEP / 2:.0f} a units and no darker than it by 10 L",
    "blotch_share": "share of the lesion in structureless dark blotches",
    "blotch_largest": "largest blotch / lesion area",
    "blotch_count": "blotches larger than 1% of the lesion",
    "blotch_offset": "distance of the blotches' centroid from the lesion's / "
    "equivalent radius",
    "blotch_rim_share": "share of blotch pixels in the periphery",
    "blotch_sector_cv": "coefficient of variation of mean lightness over 8 sectors",
    "blotch_lightness_iqr": "interquartile range of lesion L (uneven pigment)",
}
NAMES: tuple[str, ...] = tuple(DOCS)


def _cv(values: np.ndarray) -> float:
    """Coefficient of variation; 0 for no values or a zero mean."""
    if values.size == 0:
        return 0.0
    return safe_div(float(values.std()), float(values.mean()))


def _hessian(channel: np.ndarray, sigma: float) -> tuple[np.ndarray, ...]:
    """(larger eigenvalue, smaller eigenvalue, cosine and sine of twice the angle
    of the larger's eigenvector), scale-normalised."""
    smooth = cv2.GaussianBlur(channel, (0, 0), sigma)
    dxx = cv2.Sobel(smooth, cv2.CV_32F, 2, 0, ksize=3)
    dyy = cv2.Sobel(smooth, cv2.CV_32F, 0, 2, ksize=3)
    dxy = cv2.Sobel(smooth, cv2.CV_32F, 1, 1, ksize=3)
    # sigma^2 normalises the response across scales (Lindeberg).
    scale = sigma * sigma
    half_trace = (dxx + dyy) * (0.5 * scale)
    half_difference = (dxx - dyy) * (0.5 * scale)
    dxy *= scale
    root = cv2.magnitude(half_difference, dxy)
    safe = np.maximum(root, 1e-6)
    return half_trace + root, half_trace - root, half_difference / safe, dxy / safe


def _peaks(response: np.ndarray, region: np.ndarray, threshold: float) -> np.ndarray:
    """Bool map of 3x3 local maxima of ``response`` above ``threshold`` in region."""
    local_max = cv2.dilate(response, np.ones((3, 3), np.uint8))
    return (response >= local_max) & (response > threshold) & region


def _sector_counts(
    points: np.ndarray, sectors: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    return np.bincount(sectors[points], weights=weights, minlength=SECTORS)


class _Geometry:
    """Depth, sectors, rim and outer ring of the lesion at the working size."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask
        self.area = max(int(np.count_nonzero(mask)), 1)
        self.radius = float(np.sqrt(self.area / np.pi))
        padded = np.pad(mask.view(np.uint8), 1)
        depth = cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]
        self.depth = depth / max(float(depth.max()), 1.0)
        self.rim = mask & (self.depth < RIM_DEPTH)
        self.core = mask & ~self.rim
        size = max(3, int(0.3 * self.radius) | 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        self.ring = cv2.dilate(mask.view(np.uint8), kernel).astype(bool) & ~mask
        rows, cols = np.indices(mask.shape, dtype=np.float32)
        cy, cx = rows[mask].mean(), cols[mask].mean()
        self.centre = (float(cx), float(cy))
        dx, dy = cols - cx, rows - cy
        squared = np.maximum(dx * dx + dy * dy, 1e-6)
        # Twice the polar angle, as cosine and sine: what line alignment needs.
        self.cos2 = (dx * dx - dy * dy) / squared
        self.sin2 = 2.0 * dx * dy / squared
        theta = cv2.phase(dx, dy)
        self.sectors = (theta * (SECTORS / (2 * np.pi))).astype(np.intp) % SECTORS
        self.rows, self.cols = rows, cols

    def offset(self, points: np.ndarray) -> float:
        """Distance of the points' centroid from the lesion's / equivalent radius."""
        if not points.any():
            return 0.0
        dx = float(self.cols[points].mean()) - self.centre[0]
        dy = float(self.rows[points].mean()) - self.centre[1]
        return float(np.hypot(dx, dy)) / self.radius


class _Skin:
    """Median CIELab, chroma and blue index of the skin around the lesion."""

    def __init__(self, view: LesionView) -> None:
        skin = view.skin
        stride = max(1, int(np.count_nonzero(skin)) // SKIN_PIXELS)
        lab = view.lab[skin][::stride]
        rgb = view.image[skin][::stride].astype(np.float32)
        self.l, self.a, self.b = (float(value) for value in np.median(lab, axis=0))
        self.chroma = float(np.median(np.hypot(lab[:, 1], lab[:, 2])))
        self.blue_index = float(np.median(_blue_index(rgb)))


def _blue_index(rgb: np.ndarray) -> np.ndarray:
    """(B - (R + G) / 2) / 255 of float RGB pixels: blue-grey stands out."""
    return (rgb[..., 2] - 0.5 * (rgb[..., 0] + rgb[..., 1])) / 255.0


def _working(view: LesionView) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(RGB, Lab, lesion mask) at no more than STRUCTURE_SIDE, cropped to the
    lesion and the ring around it: the rest of the frame holds no structure."""
    image, lab, mask = view.image, view.lab, view.mask
    scale = min(1.0, STRUCTURE_SIDE / view.side)
    if scale < 1.0:
        size = (max(8, round(view.width * scale)), max(8, round(view.height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        lab = cv2.resize(lab, size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(view.mask_u8, size, interpolation=cv2.INTER_NEAREST)
        mask = mask.astype(bool)
        if not mask.any():
            mask[size[1] // 2, size[0] // 2] = True
    x, y, width, height = cv2.boundingRect(mask.view(np.uint8))
    margin = int(0.2 * np.sqrt(np.count_nonzero(mask))) + 2
    top, left = max(0, y - margin), max(0, x - margin)
    rows = slice(top, min(mask.shape[0], y + height + margin))
    cols = slice(left, min(mask.shape[1], x + width + margin))
    return image[rows, cols], lab[rows, cols], np.ascontiguousarray(mask[rows, cols])


def _halved(
    image: np.ndarray, lab: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same at half size, for the colour structures (areas, not lines)."""
    size = (max(8, mask.shape[1] // 2), max(8, mask.shape[0] // 2))
    small = cv2.resize(mask.view(np.uint8) * 255, size, interpolation=cv2.INTER_AREA)
    small_mask = small >= 128
    if not small_mask.any():
        small_mask[size[1] // 2, size[0] // 2] = True
    return (
        cv2.resize(image, size, interpolation=cv2.INTER_AREA),
        cv2.resize(lab, size, interpolation=cv2.INTER_AREA),
        small_mask,
    )


def _network_streaks(
    fine: tuple[np.ndarray, ...], coarse: tuple[np.ndarray, ...], geometry: _Geometry
) -> dict[str, float]:
    mask, area = geometry.mask, geometry.area
    line_fine, _, cos2, sin2 = fine
    line_coarse = coarse[0]
    ridge = np.maximum(line_fine, 0.0)
    lines = ridge > LINE_THRESHOLD
    on_lines = lines & mask
    features: dict[str, float] = {
        "network_line_fine": float(ridge[mask].mean()),
        "network_line_coarse": float(np.maximum(line_coarse, 0.0)[mask].mean()),
        "network_line_share": float(np.count_nonzero(on_lines)) / area,
        "network_line_vs_skin": safe_div(
            float(ridge[mask].mean()),
            (float(ridge[geometry.ring].mean()) if geometry.ring.any() else 0.0) + 0.1,
        ),
    }
    # Coherence of the line orientation (doubled angle) over a 7x7 window.
    weight = ridge * lines
    local_cos = cv2.boxFilter(weight * cos2, -1, (7, 7), normalize=False)
    local_sin = cv2.boxFilter(weight * sin2, -1, (7, 7), normalize=False)
    total = cv2.boxFilter(weight, -1, (7, 7), normalize=False)
    coherence = cv2.magnitude(local_cos, local_sin) / np.maximum(total, 1e-6)
    features["network_coherence"] = (
        float(coherence[on_lines].mean()) if on_lines.any() else 0.0
    )
    holes = (mask & ~lines).view(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(holes, connectivity=4)
    hole_areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    hole_areas = hole_areas[(hole_areas >= 2) & (hole_areas <= 0.02 * area + 2)]
    features["network_hole_density"] = 1000.0 * hole_areas.size / area
    features["network_hole_cv"] = _cv(hole_areas)
    sector_area = _sector_counts(mask, geometry.sectors)
    sector_lines = _sector_counts(on_lines, geometry.sectors)
    features["network_sector_cv"] = _cv(sector_lines / np.maximum(sector_area, 1))
    rim_share = np.count_nonzero(on_lines & geometry.rim) / max(
        np.count_nonzero(geometry.rim), 1
    )
    core_share = np.count_nonzero(on_lines & geometry.core) / max(
        np.count_nonzero(geometry.core), 1
    )
    features["network_rim_core"] = safe_div(rim_share, core_share + 0.01)
    features["network_contrast_cv"] = _cv(ridge[on_lines])
    features["network_line_p90"] = float(np.percentile(ridge[mask], 90))
    features["network_coarse_share"] = (
        float(np.count_nonzero((line_coarse > LINE_THRESHOLD) & mask)) / area
    )
    # Streaks: lines along the radius at the periphery and just outside it.
    # The larger eigenvector points across a line, so a radial line has it
    # perpendicular to the radius: cos(2 (angle - theta)) = -1.
    alignment = -(cos2 * geometry.cos2 + sin2 * geometry.sin2)
    periphery = geometry.rim | geometry.ring
    radial = lines & (alignment > 0.5)
    weights = ridge[periphery]
    features["streaks_rim_line"] = float(weights.mean()) if weights.size else 0.0
    features["streaks_radial"] = safe_div(
        float((alignment[periphery] * weights).sum()), float(weights.sum())
    )
    features["streaks_radial_share"] = float(
        np.count_nonzero(radial & geometry.rim)
    ) / max(np.count_nonzero(geometry.rim), 1)
    features["streaks_outside_share"] = float(
        np.count_nonzero(radial & geometry.ring)
    ) / max(np.count_nonzero(geometry.ring), 1)
    sector_periphery = _sector_counts(periphery, geometry.sectors)
    sector_radial = _sector_counts(radial & periphery, geometry.sectors)
    radial_shares = sector_radial / np.maximum(sector_periphery, 1)
    features["streaks_sectors"] = float(np.count_nonzero(radial_shares > 0.05))
    features["streaks_sector_cv"] = _cv(radial_shares)
    return features


def _dots(
    blob_fine: np.ndarray, blob_coarse: np.ndarray, geometry: _Geometry
) -> dict[str, float]:
    mask, area = geometry.mask, geometry.area
    fine = _peaks(blob_fine, mask, DOT_THRESHOLD)
    coarse = _peaks(blob_coarse, mask, DOT_THRESHOLD)
    dots = fine | coarse
    strengths = np.concatenate([blob_fine[fine], blob_coarse[coarse]])
    n_dots = max(int(np.count_nonzero(dots)), 1)
    outside = _peaks(blob_fine, geometry.ring, DOT_THRESHOLD)
    return {
        "dots_fine_density": 1000.0 * np.count_nonzero(fine) / area,
        "dots_coarse_density": 1000.0 * np.count_nonzero(coarse) / area,
        "dots_strength_mean": float(strengths.mean()) if strengths.size else 0.0,
        "dots_strength_cv": _cv(strengths),
        "dots_rim_share": np.count_nonzero(dots & geometry.rim) / n_dots,
        "dots_offset": geometry.offset(dots),
        "dots_sector_cv": _cv(_sector_counts(dots, geometry.sectors)),
        "dots_outside_density": 1000.0
        * np.count_nonzero(outside)
        / max(np.count_nonzero(geometry.ring), 1),
    }


def _colours(
    image: np.ndarray, lab: np.ndarray, geometry: _Geometry, skin: _Skin
) -> dict[str, float]:
    """Veil, regression, vessels and blotches: colours relative to the skin."""
    return {
        **_veil(image, lab, geometry, skin),
        **_regression(lab, geometry, skin),
        **_vessels(lab, geometry, skin),
        **_blotches(lab, geometry, skin),
    }


def _veil(
    image: np.ndarray, lab: np.ndarray, geometry: _Geometry, skin: _Skin
) -> dict[str, float]:
    """Blue-whitish veil: lesion areas bluer than the skin, neither black nor white."""
    mask, area = geometry.mask, float(geometry.area)
    lightness, blue_yellow = lab[..., 0], lab[..., 2]
    skin_l, skin_b = skin.l, skin.b
    features: dict[str, float] = {}

    veil = (
        (blue_yellow < skin_b - VEIL_BLUE)
        & (lightness > VEIL_LIGHTNESS[0])
        & (lightness < VEIL_LIGHTNESS[1])
        & mask
    )
    features["veil_share"] = np.count_nonzero(veil) / area
    _, _, stats, _ = cv2.connectedComponentsWithStats(veil.view(np.uint8), 8)
    largest = stats[1:, cv2.CC_STAT_AREA].max(initial=0)
    features["veil_largest"] = float(largest) / area
    features["veil_b_p10"] = float(np.percentile(blue_yellow[mask], 10)) - skin_b
    features["veil_faint_share"] = (
        np.count_nonzero(
            (blue_yellow < skin_b - 0.5 * VEIL_BLUE)
            & (lightness > VEIL_LIGHTNESS[0])
            & (lightness < VEIL_LIGHTNESS[1])
            & mask
        )
        / area
    )
    features["veil_b_mean"] = float(blue_yellow[mask].mean()) - skin_b
    features["veil_l_mean"] = float(lightness[mask].mean()) - skin_l
    blue_index = _blue_index(image[mask].astype(np.float32))
    features["veil_blue_index"] = float(np.percentile(blue_index, 90)) - skin.blue_index
    core_area = max(np.count_nonzero(geometry.core), 1)
    rim_area = max(np.count_nonzero(geometry.rim), 1)
    features["veil_core_share"] = (
        np.count_nonzero(veil & geometry.core) / core_area
        - np.count_nonzero(veil & geometry.rim) / rim_area
    )
    return features


def _regression(lab: np.ndarray, geometry: _Geometry, skin: _Skin) -> dict[str, float]:
    """Regression: scar-like white areas, grey-blue areas and peppering."""
    mask, area = geometry.mask, float(geometry.area)
    lightness, red_green, blue_yellow = lab[..., 0], lab[..., 1], lab[..., 2]
    skin_l, skin_b = skin.l, skin.b
    features: dict[str, float] = {}
    chroma = np.hypot(red_green, blue_yellow)

    median_l = float(np.median(lightness[mask]))
    white = (
        (lightness > median_l + WHITE_STEP)
        & (lightness > skin_l - 15.0)
        & (chroma < 0.8 * skin.chroma + 2.0)
        & mask
    )
    grey = (
        (blue_yellow < skin_b - 0.5 * VEIL_BLUE)
        & (chroma < 15.0)
        & (lightness < skin_l - 10.0)
        & mask
    )
    features["regression_white_share"] = np.count_nonzero(white) / area
    features["regression_grey_share"] = np.count_nonzero(grey) / area
    blackhat = cv2.morphologyEx(
        lightness, cv2.MORPH_BLACKHAT, np.ones((5, 5), np.uint8)
    )
    pepper = ((blackhat > 6.0) & (blue_yellow < skin_b - 0.5 * VEIL_BLUE) & mask).view(
        np.uint8
    )
    count = cv2.connectedComponents(pepper, connectivity=8)[0] - 1
    features["regression_pepper_density"] = 1000.0 * count / area
    near = np.ones((5, 5), np.uint8)
    meet = cv2.dilate(white.view(np.uint8), near) & cv2.dilate(
        grey.view(np.uint8), near
    )
    features["regression_white_grey"] = (
        np.count_nonzero(meet.astype(bool) & mask) / area
    )
    return features


def _vessels(lab: np.ndarray, geometry: _Geometry, skin: _Skin) -> dict[str, float]:
    """Vascular structures: red areas, lines and dots on little pigment."""
    mask, area = geometry.mask, float(geometry.area)
    lightness, red_green = lab[..., 0], lab[..., 1]
    skin_l, skin_a = skin.l, skin.a
    features: dict[str, float] = {}

    redness = red_green - skin_a
    features["vessels_red_share"] = np.count_nonzero((redness > RED_STEP) & mask) / area
    # Bright red lines and dots: negative curvature of a, so take -a.
    red_line, red_blob = _hessian(-red_green, FINE_SIGMA)[:2]
    features["vessels_red_line"] = float(np.maximum(red_line, 0.0)[mask].mean())
    red_dots = _peaks(red_blob, mask, 0.5)
    features["vessels_red_dots"] = 1000.0 * np.count_nonzero(red_dots) / area
    features["vessels_a_p90"] = float(np.percentile(redness[mask], 90))
    pale = (lightness > skin_l - 10.0) & mask
    features["vessels_pale_share"] = np.count_nonzero(pale) / area
    features["vessels_a_mean"] = float(redness[mask].mean())
    features["vessels_red_line_p90"] = float(
        np.percentile(np.maximum(red_line, 0.0)[mask], 90)
    )
    features["vessels_pink_share"] = (
        np.count_nonzero(pale & (redness > 0.5 * RED_STEP)) / area
    )
    return features


def _blotches(lab: np.ndarray, geometry: _Geometry, skin: _Skin) -> dict[str, float]:
    """Irregular pigmentation: structureless dark blotches and uneven lightness."""
    mask, area = geometry.mask, float(geometry.area)
    lightness = lab[..., 0]
    skin_l = skin.l
    features: dict[str, float] = {}

    low, high = np.percentile(lightness[mask], [25, 75])
    dark = ((lightness <= low) & (lightness < skin_l - BLOTCH_STEP) & mask).view(
        np.uint8
    )
    dark = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    sizes = stats[1:, cv2.CC_STAT_AREA]
    keep = np.concatenate([[False], sizes >= 0.01 * area])
    blotches = keep[labels]
    features["blotch_share"] = np.count_nonzero(blotches) / area
    features["blotch_largest"] = float(sizes.max(initial=0)) / area
    features["blotch_count"] = float(np.count_nonzero(keep))
    features["blotch_offset"] = geometry.offset(blotches)
    features["blotch_rim_share"] = safe_div(
        np.count_nonzero(blotches & geometry.rim), np.count_nonzero(blotches)
    )
    sector_l = _sector_counts(mask, geometry.sectors, weights=lightness[mask])
    sector_n = _sector_counts(mask, geometry.sectors)
    means = sector_l[sector_n > 0] / sector_n[sector_n > 0]
    features["blotch_sector_cv"] = _cv(means)
    features["blotch_lightness_iqr"] = float(high - low)
    return features


def compute(view: LesionView) -> dict[str, float]:
    """Structure features from a shared :class:`LesionView`."""
    image, lab, mask = _working(view)
    geometry = _Geometry(mask)
    lightness = np.ascontiguousarray(lab[..., 0])
    fine = _hessian(lightness, FINE_SIGMA)
    coarse = _hessian(lightness, COARSE_SIGMA)
    features = _network_streaks(fine, coarse, geometry)
    features.update(_dots(fine[1], coarse[1], geometry))
    small_image, small_lab, small_mask = _halved(image, lab, mask)
    features.update(
        _colours(small_image, small_lab, _Geometry(small_mask), _Skin(view))
    )
    return {name: float(features[name]) for name in NAMES}


def structure_features(image: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Structure features of one uint8 RGB image and its bool lesion mask."""
    return compute(LesionView(image, mask))
