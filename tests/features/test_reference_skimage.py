"""Our texture, shape and morphology code against scikit-image, its reference.

Each test runs our function and the scikit-image (or SciPy) counterpart on the
same synthetic and real isic9 images and asserts equal codes, equal masks or
values within 1e-9, or, where we differ by design, the exact documented
difference. docs/features.md lists which reference each feature group matches.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest
from scipy import ndimage
from skimage import filters, measure, morphology
from skimage.color import rgb2hsv, rgb2lab
from skimage.feature import graycomatrix, graycoprops, local_binary_pattern

from benchmarks.data.datasets import generate_lesions
from benchmarks.data.feature_cache import FEATURE_SIZE
from benchmarks.data.images import decode_resized
from features import _hair, _segmentation, _texture, diameter_features, remove_hair
from features._lbp import uniform_lbp
from features._lesion import PIXEL_VARIANCE, LesionView
from tests.conftest import ISIC9, requires_isic9

SEED = 27
#: Real images per test: enough to meet ties and odd masks, still a second or two.
N_REAL = 6


@functools.cache
def _synthetic() -> tuple[np.ndarray, ...]:
    lesions = generate_lesions(
        {"melanoma": 2, "nevus": 2, "basal cell carcinoma": 1},
        size=FEATURE_SIZE,
        seed=SEED,
    )
    return tuple(lesions.images)


@functools.cache
def _real() -> tuple[np.ndarray, ...]:
    paths = sorted(ISIC9.glob("Train/*/*.jpg"))
    step = max(1, len(paths) // N_REAL)
    return tuple(decode_resized(path, FEATURE_SIZE) for path in paths[::step][:N_REAL])


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _ellipse(size: int) -> np.ndarray:
    """The elliptic footprint our OpenCV calls use, as a bool array."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)).astype(bool)


# --- uniform LBP: skimage.feature.local_binary_pattern(..., "uniform") -----------


def _exact_ties(grey: np.ndarray, points: int, radius: float) -> np.ndarray:
    """Pixels (away from the frame) with a circle neighbour exactly equal to them.

    The neighbour is bilinear in float64, as scikit-image computes it; a tie is
    a difference below 1e-9 grey levels, where only rounding decides the bit.
    """
    image = grey.astype(np.float64)
    height, width = image.shape
    margin = int(np.ceil(radius)) + 1
    rows, cols = np.mgrid[margin : height - margin, margin : width - margin]
    ties = np.zeros(rows.shape, dtype=bool)
    for k in range(points):
        angle = 2.0 * np.pi * k / points
        y = rows - radius * np.sin(angle)
        x = cols + radius * np.cos(angle)
        y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
        fy, fx = y - y0, x - x0
        value = (1 - fy) * ((1 - fx) * image[y0, x0] + fx * image[y0, x0 + 1]) + fy * (
            (1 - fx) * image[y0 + 1, x0] + fx * image[y0 + 1, x0 + 1]
        )
        ties |= np.abs(value - image[rows, cols]) < 1e-9
    return ties


def _lbp_pair(grey: np.ndarray, points: int, radius: int) -> tuple[np.ndarray, ...]:
    """(ours, scikit-image's) codes, cut to the pixels away from the frame."""
    margin = radius + 1
    inner = (slice(margin, -margin), slice(margin, -margin))
    ours = uniform_lbp(grey, points, radius)[inner]
    reference = local_binary_pattern(grey, points, radius, "uniform")[inner]
    return ours, reference.astype(np.uint8)


def _check_lbp(greys: list[np.ndarray]) -> None:
    for grey in greys:
        for points, radius in _texture.LBP_SETTINGS:
            ours, reference = _lbp_pair(grey, points, radius)
            differ = ours != reference
            # Only exact ties may differ: LBP's s(0) = 1 counts them as set, while
            # scikit-image's float64 weights can land them 1e-15 below the centre.
            ties = _exact_ties(grey, points, radius)
            assert not (differ & ~ties).any(), (points, radius)
            assert differ.mean() < 0.01, (points, radius)


def test_lbp_matches_skimage_on_noise_and_drawn_lesions() -> None:
    rng = np.random.default_rng(SEED)
    noise = [rng.integers(0, 256, (64, 80), dtype=np.uint8) for _ in range(3)]
    _check_lbp(noise + [_grey(image) for image in _synthetic()])
    # Without flat patches there are no ties: every code is equal.
    for grey in noise:
        for points, radius in _texture.LBP_SETTINGS:
            ours, reference = _lbp_pair(grey, points, radius)
            np.testing.assert_array_equal(ours, reference)


@pytest.mark.isic9
@requires_isic9
def test_lbp_matches_skimage_on_isic9() -> None:
    greys = [_grey(image) for image in _real()]
    _check_lbp(greys)
    for grey in greys:
        ours, reference = _lbp_pair(grey, 8, 1)
        np.testing.assert_array_equal(ours, reference)


# --- GLCM: skimage.feature.graycomatrix / graycoprops ----------------------------


def _skimage_glcm_features(counts: np.ndarray) -> dict[str, float]:
    """Our GLCM columns computed by graycoprops from (32, 32, 3, 4) counts."""
    features = {}
    for prop in _texture.GLCM_PROPS:
        values = graycoprops(counts.astype(np.float64), prop)
        if prop == "entropy":
            values = values / np.log(2.0)
        for index, distance in enumerate(_texture.GLCM_DISTANCES):
            features[f"glcm_d{distance}_{prop}"] = values[index].mean()
        features[f"glcm_d1_{prop}_range"] = np.ptp(values[0])
    return features


def _pair_counts(levels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The documented construction, counted pair by pair: both pixels in the mask,
    each pair once each way, steps ``distance * GLCM_STEPS``."""
    height, width = levels.shape
    counts = np.zeros((32, 32, len(_texture.GLCM_DISTANCES), 4), dtype=np.int64)
    rows, cols = np.nonzero(mask)
    for d_index, distance in enumerate(_texture.GLCM_DISTANCES):
        for a_index, (dy, dx) in enumerate(_texture.GLCM_STEPS):
            to_rows, to_cols = rows + dy * distance, cols + dx * distance
            inside = (to_rows >= 0) & (to_rows < height) & (to_cols >= 0)
            inside &= to_cols < width
            keep = np.zeros_like(inside)
            keep[inside] = mask[to_rows[inside], to_cols[inside]]
            first = levels[rows[keep], cols[keep]]
            second = levels[to_rows[keep], to_cols[keep]]
            np.add.at(counts[:, :, d_index, a_index], (first, second), 1)
            np.add.at(counts[:, :, d_index, a_index], (second, first), 1)
    return counts


def _check_glcm(grey: np.ndarray, mask: np.ndarray) -> None:
    levels = grey >> 3
    counts = _pair_counts(levels, mask)
    ours = _texture._glcm_features(grey, mask)
    reference = _skimage_glcm_features(counts)
    assert ours.keys() == reference.keys()
    for name, value in reference.items():
        assert ours[name] == pytest.approx(value, abs=1e-9, rel=1e-9), name
    # Our matrices, angle for angle (ours orders them 0, 90, 135, 45 degrees).
    np.testing.assert_array_equal(
        _texture._glcm_counts(grey, mask), counts[:, :, :, [0, 2, 3, 1]]
    )


def test_glcm_unmasked_equals_plain_graycomatrix() -> None:
    rng = np.random.default_rng(SEED)
    grey = rng.integers(0, 256, (48, 56), dtype=np.uint8)
    everything = np.ones(grey.shape, dtype=bool)
    levels = grey >> 3
    ours = _texture._glcm_features(grey, everything)
    # At distance 1 the textbook call gives exactly our four angles.
    angles = [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
    plain = graycomatrix(levels, [1], angles, levels=32, symmetric=True, normed=True)
    for prop in ("contrast", "homogeneity", "energy", "correlation", "dissimilarity"):
        values = graycoprops(plain, prop)[0]
        assert ours[f"glcm_d1_{prop}"] == pytest.approx(values.mean(), abs=1e-9)
        assert ours[f"glcm_d1_{prop}_range"] == pytest.approx(np.ptp(values), abs=1e-9)
    _check_glcm(grey, everything)


def test_glcm_masked_counts_only_pairs_inside_the_mask() -> None:
    rng = np.random.default_rng(SEED)
    grey = rng.integers(0, 256, (40, 40), dtype=np.uint8)
    mask = rng.random(grey.shape) < 0.7
    _check_glcm(grey, mask)
    for image in _synthetic():
        view = LesionView(image, _segmentation.segment_lesion(image)[0])
        _check_glcm(*_texture._small(view))


@pytest.mark.isic9
@requires_isic9
def test_glcm_masked_matches_skimage_on_isic9() -> None:
    for image in _real():
        view = LesionView(image, _segmentation.segment_lesion(image)[0])
        _check_glcm(*_texture._small(view))


def test_glcm_without_pairs_gives_flat_region_values() -> None:
    grey = np.full((12, 12), 100, dtype=np.uint8)
    speck = np.zeros(grey.shape, dtype=bool)
    speck[5, 5] = True
    features = _texture._glcm_features(grey, speck)
    assert features["glcm_d1_homogeneity"] == 1.0
    assert features["glcm_d4_correlation"] == 1.0
    assert features["glcm_d2_contrast"] == 0.0
    assert all(np.isfinite(value) for value in features.values())


# --- morphology: skimage.morphology, skimage.measure, scipy.ndimage --------------


def _skimage_hair_mask(image: np.ndarray) -> np.ndarray:
    """hair_mask with every morphology step done by scikit-image."""
    grey = _grey(image)
    side = min(grey.shape)
    blackhat = morphology.black_tophat(
        grey, _ellipse(max(3, (side // 20) | 1)), mode="ignore"
    )
    thick = morphology.dilation(blackhat, np.ones((3, 3), bool), mode="ignore")
    length = max(3, round(_hair.LINE_LENGTH * side) | 1)
    # OpenCV's MORPH_OPEN dilates with the element as given; scikit-image's
    # ``opening`` mirrors it. Our line elements at 15, 75, 105 and 165 degrees
    # are not point-symmetric, so the reference is erosion then dilation.
    opened = np.stack(
        [
            morphology.dilation(
                morphology.erosion(thick, kernel, mode="ignore"), kernel, mode="ignore"
            )
            for kernel in _hair._line_kernels(length)
        ]
    )
    anisotropy = opened.max(axis=0) - opened.min(axis=0)
    threshold = _hair.HAIR_THRESHOLD
    strand = (anisotropy > threshold) & (blackhat > threshold // 2)
    labels = measure.label(strand, connectivity=2)
    hair = np.zeros(strand.shape, dtype=bool)
    for region in measure.regionprops(labels):
        top, left, bottom, right = region.bbox
        span = np.hypot(right - left, bottom - top)
        thin = region.area / max(span, 1.0) <= _hair.MAX_AREA_PER_SPAN * side
        if span >= _hair.MIN_STRAND_LENGTH * side and thin:
            hair |= labels == region.label
    return hair


def _skimage_lesion_mask(score: np.ndarray, usable: np.ndarray) -> np.ndarray | None:
    """_otsu_mask with Otsu, morphology, labels and hole filling from the references."""
    values = score[usable]
    if values.size < 16 or values.max() - values.min() < _segmentation.MIN_CONTRAST:
        return None
    top = float(np.percentile(values, 99.5))
    scaled = np.clip(score * (255.0 / max(top, 1e-6)), 0, 255).astype(np.uint8)
    binary = (scaled > filters.threshold_otsu(scaled[usable])) & usable
    side = min(score.shape)
    footprint = _ellipse(max(3, (side // 60) | 1))
    binary = morphology.opening(binary, footprint, mode="ignore")
    binary = morphology.closing(binary, footprint, mode="ignore")
    labels = measure.label(binary, connectivity=2)
    regions = measure.regionprops(labels)
    if not regions:
        return None
    height, width = binary.shape
    centre = np.array([(height - 1) / 2.0, (width - 1) / 2.0])
    corners = labels[[0, 0, -1, -1], [0, -1, 0, -1]]
    scores = [
        region.area
        * np.exp(
            -4.0 * (np.linalg.norm(region.centroid - centre) / np.hypot(*centre)) ** 2
        )
        / (1.0 + 3.0 * np.count_nonzero(corners == region.label))
        for region in regions
    ]
    mask = ndimage.binary_fill_holes(labels == regions[int(np.argmax(scores))].label)
    smooth = np.ones((max(3, (side // 36) | 1),) * 2, dtype=bool)
    mask = filters.median(mask.astype(np.uint8), smooth, mode="nearest").astype(bool)
    if mask.mean() < _segmentation.MIN_AREA_FRACTION:
        return None
    outside = score[~mask & usable]
    contrast = score[mask].mean() - (outside.mean() if outside.size else 0.0)
    return mask if contrast >= _segmentation.MIN_CONTRAST else None


def _skimage_vignette(lightness: np.ndarray, side: int) -> np.ndarray:
    dark = lightness < _segmentation.VIGNETTE_LIGHTNESS
    labels = measure.label(dark, connectivity=2)
    corners = {label for label in labels[[0, 0, -1, -1], [0, -1, 0, -1]] if label}
    vignette = np.isin(labels, list(corners))
    footprint = _ellipse(max(3, (side // 30) | 1))
    return morphology.dilation(vignette, footprint, mode="ignore")


def _skimage_spot_density(grey: np.ndarray, mask: np.ndarray, tophat) -> float:
    response = tophat(grey, _ellipse(5), mode="ignore")
    spots = (response > _texture.SPOT_THRESHOLD) & mask
    return 1000.0 * measure.label(spots, connectivity=2).max() / float(mask.sum())


def _check_morphology(images: tuple[np.ndarray, ...]) -> int:
    """Assert every step equal; return how many images had hair to remove."""
    hairs = 0
    for image in images:
        ours_hair = _hair.hair_mask(image)
        hairs += int(ours_hair.any())
        np.testing.assert_array_equal(ours_hair, _skimage_hair_mask(image))

        clean = remove_hair(image)
        side = min(clean.shape[:2])
        size = max(3, (side // _segmentation.MEDIAN_DIVISOR) | 1)
        reference = np.stack(
            [
                filters.median(
                    clean[..., c], np.ones((size, size), bool), mode="nearest"
                )
                for c in range(3)
            ],
            axis=-1,
        )
        np.testing.assert_array_equal(cv2.medianBlur(clean, size), reference)

        _, _, score, usable = _segmentation._colour_score(clean)
        ours_mask = _segmentation._otsu_mask(score, usable)
        reference_mask = _skimage_lesion_mask(score, usable)
        assert (ours_mask is None) == (reference_mask is None)
        if ours_mask is not None:
            np.testing.assert_array_equal(ours_mask, reference_mask)

        lightness = cv2.cvtColor(clean.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
        lightness = lightness[..., 0]
        np.testing.assert_array_equal(
            _segmentation._vignette(lightness, side), _skimage_vignette(lightness, side)
        )

        view = LesionView(clean, _segmentation.segment_lesion(clean)[0])
        grey, interior = _texture._small(view)
        for operation, tophat in (
            (cv2.MORPH_BLACKHAT, morphology.black_tophat),
            (cv2.MORPH_TOPHAT, morphology.white_tophat),
        ):
            assert _texture._spot_density(grey, interior, operation) == pytest.approx(
                _skimage_spot_density(grey, interior, tophat), abs=1e-12
            )
    return hairs


def test_morphology_matches_skimage_on_synthetic_lesions() -> None:
    # The synthetic set draws hairs, so the hair path is exercised, not skipped.
    assert _check_morphology(_synthetic()) >= 1


@pytest.mark.isic9
@requires_isic9
def test_morphology_matches_skimage_on_isic9() -> None:
    _check_morphology(_real())


def test_fill_holes_equals_scipy() -> None:
    rng = np.random.default_rng(SEED)
    for _ in range(5):
        mask = ndimage.binary_opening(rng.random((50, 60)) < 0.6)
        np.testing.assert_array_equal(
            _segmentation._fill_holes(mask), ndimage.binary_fill_holes(mask)
        )


# --- shape: skimage.measure.regionprops ------------------------------------------


def _check_shape(image: np.ndarray, mask: np.ndarray) -> None:
    view = LesionView(image, mask)
    ours = diameter_features(image, mask)
    (region,) = measure.regionprops(mask.astype(np.uint8))
    side = view.side
    assert view.area == region.area
    assert ours["area_frac"] == region.area / mask.size
    assert ours["extent"] == pytest.approx(region.extent, abs=1e-12)
    assert ours["equivalent_diameter_frac"] * side == pytest.approx(
        region.equivalent_diameter_area, rel=1e-12
    )
    x, y = view.centroid
    np.testing.assert_allclose((y, x), region.centroid, atol=1e-9)
    # Our moment ellipse adds a pixel's own variance (1/12) to each axis, so a
    # one-pixel lesion keeps non-zero axes; otherwise it is regionprops'.
    for name, length in (
        ("major_axis_frac", region.axis_major_length),
        ("minor_axis_frac", region.axis_minor_length),
    ):
        ours_variance = (ours[name] * side / 4.0) ** 2
        assert ours_variance - PIXEL_VARIANCE == pytest.approx(
            (length / 4.0) ** 2, rel=1e-9, abs=1e-9
        )
    # Pixel centres plus one pixel against scikit-image's sub-pixel hull contour.
    assert ours["feret_max_frac"] * side == pytest.approx(
        region.feret_diameter_max, abs=1.0
    )


def test_shape_matches_regionprops_on_synthetic_masks() -> None:
    lesions = generate_lesions({"melanoma": 3, "nevus": 3}, size=96, seed=SEED)
    for image, mask in zip(lesions.images, lesions.masks, strict=True):
        labels = measure.label(mask, connectivity=2)
        largest = 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
        _check_shape(image, labels == largest)


@pytest.mark.isic9
@requires_isic9
def test_shape_matches_regionprops_on_isic9() -> None:
    for image in _real():
        _check_shape(image, _segmentation.segment_lesion(image)[0])


# --- colour spaces: skimage.color ------------------------------------------------


def test_colour_spaces_match_skimage_color() -> None:
    rng = np.random.default_rng(SEED)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    view = LesionView(image, np.ones(image.shape[:2], dtype=bool))
    reference_hsv = rgb2hsv(image)
    np.testing.assert_allclose(
        view.hsv[..., 0] / 360.0, reference_hsv[..., 0], atol=1e-5
    )
    np.testing.assert_allclose(view.hsv[..., 1:], reference_hsv[..., 1:], atol=1e-5)
    # OpenCV's float32 CIELab differs from rgb2lab by under 0.5 units (its
    # gamma and cube-root approximations); features measure tens of units.
    np.testing.assert_allclose(view.lab, rgb2lab(image), atol=0.5)
