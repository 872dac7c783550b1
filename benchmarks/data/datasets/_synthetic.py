"""Seeded generator of dermoscopy-like lesions that differ as the ABCD rule says."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import cv2
import numpy as np

# isic9's Train and Test counts per class; the defaults below scale them by 1/4
# (half up, at least 1) so the synthetic set is as imbalanced as the real one.
_ISIC9_COUNTS = {
    "actinic keratosis": (114, 16),
    "basal cell carcinoma": (378, 16),
    "dermatofibroma": (95, 16),
    "melanoma": (438, 16),
    "nevus": (357, 16),
    "pigmented benign keratosis": (462, 16),
    "seborrheic keratosis": (77, 3),
    "squamous cell carcinoma": (181, 16),
    "vascular lesion": (139, 3),
}
CLASS_NAMES: tuple[str, ...] = tuple(_ISIC9_COUNTS)
DEFAULT_TRAIN_COUNTS: dict[str, int] = {
    name: max(1, int(train / 4 + 0.5)) for name, (train, _) in _ISIC9_COUNTS.items()
}
DEFAULT_TEST_COUNTS: dict[str, int] = {
    name: max(1, int(test / 4)) for name, (_, test) in _ISIC9_COUNTS.items()
}
_MIN_SIZE, _MAX_SIZE = 32, 1024
#: Acquisition cues ``generate_lesions`` can tie to melanoma, to test shortcut probes.
SHORTCUTS: tuple[str, ...] = ("colour-cast", "vignette")
_MELANOMA = "melanoma"
# A cool (blue) cast: larger than the +-6% per-channel white-balance jitter.
_COLOUR_CAST = np.array([0.92, 1.0, 1.1], np.float32)
# A round dermatoscope's dark corners: from this share of the half side outwards...
_APERTURE_START, _APERTURE_WIDTH = 0.95, 0.4
# ...brightness falls to (1 - this) at the corners.
_APERTURE_DEPTH = 0.65


@dataclass(frozen=True)
class SyntheticLesions:
    """Images with their true masks and labels, in generation order."""

    images: np.ndarray  # (n, size, size, 3) uint8 RGB
    masks: np.ndarray  # (n, size, size) bool, True inside the lesion
    labels: np.ndarray  # (n,) object array of class names


@dataclass(frozen=True)
class _Shape:
    """Per-class ranges of the lesion outline (fractions of the frame)."""

    radius: tuple[float, float]  # mean radius / size
    irregular: float  # amplitude of the low harmonics (asymmetry, lobes)
    jagged: float  # amplitude of the high harmonics (notches)
    aspect: tuple[float, float]  # minor / major axis
    blur: float  # edge blur sigma / size; the mask stays hard


@dataclass(frozen=True)
class _Geometry:
    """Where the lesion is, in pixel and in lesion-normalised coordinates."""

    size: int
    mask: np.ndarray  # bool
    rho: np.ndarray  # 0 at the centre, 1 on the border
    u: np.ndarray  # lesion frame, along the major axis, ~[-1, 1] inside
    v: np.ndarray
    radius: float  # mean radius in pixels
    px: float  # pixel scale relative to a 128-pixel frame, for dots and lines


Painter = Callable[[np.random.Generator, _Geometry], tuple[np.ndarray, np.ndarray]]
_CLASSES: dict[str, tuple[_Shape, Painter]] = {}


def _paints(name: str, *shape) -> Callable[[Painter], Painter]:
    """Register the painter of class `name` with its outline ranges (see _Shape)."""

    def register(painter: Painter) -> Painter:
        _CLASSES[name] = (_Shape(*shape), painter)
        return painter

    return register


def _noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth unit-variance noise with about `cells` blobs across the frame."""
    grid = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    field = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    return (field - field.mean()) / (field.std() + 1e-6)


def _jitter(rng: np.random.Generator, rgb, spread: float) -> np.ndarray:
    """A colour varied mostly in brightness, a little in hue (spread ~ 0-255 units)."""
    rgb = np.asarray(rgb, np.float32) * rng.normal(1.0, spread / 150)
    return np.clip(rgb + rng.normal(0, spread / 3, 3), 0, 255).astype(np.float32)


def _blend(col: np.ndarray, weight: np.ndarray, rgb) -> None:
    """Mix colour `rgb` into `col` in place with per-pixel weight in [0, 1]."""
    col += (np.asarray(rgb, np.float32) - col) * weight[..., None]


def _points(rng: np.random.Generator, g: _Geometry, n: int, rho_max: float = 0.9):
    """`n` random (x, y) pixel positions inside the lesion, within `rho_max`."""
    idx = np.flatnonzero(g.rho.ravel() < rho_max)
    if idx.size == 0:
        idx = np.flatnonzero(g.mask.ravel())
    pick = rng.choice(idx, size=n)
    return np.stack([pick % g.size, pick // g.size], axis=1)


def _dots(g: _Geometry, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Anti-aliased filled circles as a weight layer in [0, 1]."""
    layer = np.zeros((g.size, g.size), np.uint8)
    for (x, y), r in zip(centres.tolist(), radii.tolist(), strict=True):
        cv2.circle(layer, (int(x), int(y)), max(1, round(r)), 255, -1, cv2.LINE_AA)
    return layer.astype(np.float32) / 255.0


def _lines(size: int, curves: list[np.ndarray], thickness: int) -> np.ndarray:
    """Anti-aliased polylines as a weight layer in [0, 1]."""
    layer = np.zeros((size, size), np.uint8)
    pts = [np.round(c).astype(np.int32) for c in curves]
    cv2.polylines(layer, pts, False, 255, max(1, thickness), cv2.LINE_AA)
    return layer.astype(np.float32) / 255.0


def _network(rng: np.random.Generator, g: _Geometry, period: float) -> np.ndarray:
    """A wobbly honeycomb of thin lines (pigment network), weight in [0, 1]."""
    f = 2 * math.pi / (period * g.px)
    ys, xs = np.mgrid[0 : g.size, 0 : g.size].astype(np.float32)
    x_warp = f * xs + 1.2 * _noise(rng, g.size, 9)
    y_warp = f * ys + 1.2 * _noise(rng, g.size, 9)
    grid = np.abs(np.sin(x_warp)) * np.abs(np.sin(y_warp))
    return cv2.GaussianBlur(np.clip(1.0 - grid * 2.5, 0, 1), (0, 0), 0.5 * g.px)


def _fill(size: int, rgb) -> np.ndarray:
    """A frame of one colour, as float32 to paint on."""
    return np.broadcast_to(np.asarray(rgb, np.float32), (size, size, 3)).copy()


# dark brown, black, blue-grey veil, white regression, light brown, red-pink
_MELANOMA_COLOURS = ((62, 36, 24), (28, 22, 24), (100, 112, 140), (205, 198, 205))
_MELANOMA_COLOURS += ((165, 110, 72), (190, 110, 105))


@_paints("melanoma", (0.2, 0.4), 0.16, 0.04, (0.6, 1.0), 0.008)
def _melanoma(rng: np.random.Generator, g: _Geometry):
    """Several colours (dark brown, black, blue-grey, white), unevenly placed."""
    col = _fill(g.size, _jitter(rng, (125, 78, 52), 14))
    phi = rng.uniform(0, 2 * math.pi)
    side = np.clip(math.cos(phi) * g.u + math.sin(phi) * g.v, -1, 1)
    col *= (1.0 - rng.uniform(0.1, 0.35) * side)[..., None]  # asymmetric colour
    n = int(rng.integers(1, 6))  # early melanomas show only one or two extra colours
    for k in rng.choice(len(_MELANOMA_COLOURS), size=n, replace=False):
        field = _noise(rng, g.size, int(rng.integers(3, 7)))
        weight = np.clip((field - rng.uniform(0.0, 1.0)) * 1.2, 0, 0.85)
        _blend(col, weight, _jitter(rng, _MELANOMA_COLOURS[k], 8))
    if rng.random() < 0.6:  # atypical, broken network
        net = _network(rng, g, rng.uniform(5, 9)) * (_noise(rng, g.size, 6) > 0)
        _blend(col, 0.35 * net, (40, 25, 20))
    n = int(rng.integers(0, 15))  # irregular dots and globules, often peripheral
    centres = _points(rng, g, n, rho_max=1.0)
    _blend(col, _dots(g, centres, rng.uniform(1, 2.5, n) * g.px), (35, 25, 25))
    return col, np.float32(rng.uniform(0.9, 1.0))


@_paints("nevus", (0.14, 0.3), 0.03, 0.006, (0.72, 1.0), 0.01)
def _nevus(rng: np.random.Generator, g: _Geometry):
    """Even light-to-medium brown, slightly darker centre, maybe a faint network."""
    t = rng.uniform(0, 1)
    base = np.array([180, 124, 86]) * (1 - t) + np.array([128, 82, 54]) * t
    col = _fill(g.size, _jitter(rng, base, 6))
    shade = 1.0 - 0.08 * (1 - np.clip(g.rho, 0, 1)) + 0.03 * _noise(rng, g.size, 5)
    col *= shade[..., None]
    if rng.random() < 0.8:
        _blend(col, 0.25 * _network(rng, g, rng.uniform(6, 9)), (95, 60, 40))
    if rng.random() < 0.25:  # a dysplastic-looking eccentric darker blotch
        blotch = np.clip(_noise(rng, g.size, 4) - 0.5, 0, 0.5)
        _blend(col, blotch, (80, 50, 34))
    return col, np.float32(rng.uniform(0.7, 0.95))


def _keratosis(rng: np.random.Generator, g: _Geometry, base, mottle, fissures):
    """Waxy stuck-on brown, mottled, with milia-like cysts and comedo-like openings."""
    col = _fill(g.size, base)
    col *= (1.0 + mottle * _noise(rng, g.size, int(rng.integers(8, 16))))[..., None]
    if fissures:  # brain-like ridges and furrows
        ridges = np.abs(_noise(rng, g.size, int(rng.integers(7, 12))))
        _blend(col, np.clip(1 - ridges * 4, 0, 1) * 0.75, (60, 42, 30))
    n = int(rng.integers(5, 16) if fissures else rng.integers(1, 6))
    cysts = _dots(g, _points(rng, g, n), rng.uniform(0.8, 1.8, n) * g.px)
    _blend(col, 0.9 * cysts, _jitter(rng, (238, 230, 190), 8))
    n = int(rng.integers(2, 9) if fissures else rng.integers(5, 15))
    pores = _dots(g, _points(rng, g, n), rng.uniform(0.8, 1.6, n) * g.px)
    _blend(col, 0.85 * pores, (45, 32, 25))
    return col


@_paints("pigmented benign keratosis", (0.18, 0.32), 0.07, 0.015, (0.65, 1.0), 0.01)
def _benign_keratosis(rng: np.random.Generator, g: _Geometry):
    """Grey- to red-brown, blotchy and waxy, many comedo-like openings."""
    t = rng.uniform(0, 1)
    base = np.array([172, 126, 110]) * (1 - t) + np.array([102, 66, 58]) * t
    col = _keratosis(rng, g, _jitter(rng, base, 8), 0.18, fissures=False)
    return col, np.float32(rng.uniform(0.8, 0.95))


@_paints("seborrheic keratosis", (0.18, 0.3), 0.05, 0.01, (0.7, 1.0), 0.004)
def _seborrheic_keratosis(rng: np.random.Generator, g: _Geometry):
    """Yellow-grey tan, sharply demarcated, fissured, many cysts."""
    t = rng.uniform(0, 1)
    base = np.array([184, 150, 108]) * (1 - t) + np.array([124, 96, 66]) * t
    col = _keratosis(rng, g, _jitter(rng, base, 8), 0.08, fissures=True)
    return col, np.float32(rng.uniform(0.9, 1.0))


@_paints("actinic keratosis", (0.2, 0.34), 0.07, 0.025, (0.65, 1.0), 0.03)
def _actinic_keratosis(rng: np.random.Generator, g: _Geometry):
    """Pink-red, whitish scale, ill-defined, little pigment."""
    col = _fill(g.size, _jitter(rng, (218, 122, 118), 10))
    scale = np.clip(_noise(rng, g.size, int(rng.integers(14, 24))) - 0.6, 0, 1)
    _blend(col, np.clip(scale * 1.2, 0, 0.8), (240, 232, 222))
    n = int(rng.integers(5, 20))  # follicle openings in a red pseudo-network
    _blend(col, 0.7 * _dots(g, _points(rng, g, n), np.full(n, g.px)), (235, 215, 205))
    fade = np.clip((1.0 - g.rho) * rng.uniform(2, 4), 0, 1)
    return col, (fade * rng.uniform(0.5, 0.75)).astype(np.float32)


def _vessel_tree(rng, x, y, angle, length, depth, out) -> None:
    """Append the segments of one arborizing vessel (thick trunk, finer twigs)."""
    ex, ey = x + length * math.cos(angle), y + length * math.sin(angle)
    mid = np.array([x + ex, y + ey]) / 2 + rng.normal(0, 0.15 * length, 2)
    out.append(np.array([[x, y], mid, [ex, ey]]))
    for _ in range(int(rng.integers(1, 3)) if depth > 0 else 0):
        turn, shorter = angle + rng.uniform(-0.9, 0.9), rng.uniform(0.55, 0.8)
        _vessel_tree(rng, ex, ey, turn, length * shorter, depth - 1, out)


@_paints("basal cell carcinoma", (0.18, 0.32), 0.08, 0.015, (0.7, 1.0), 0.01)
def _basal_cell_carcinoma(rng: np.random.Generator, g: _Geometry):
    """Pearly translucent pink, arborizing red vessels, maybe blue-grey nests."""
    col = _fill(g.size, _jitter(rng, (232, 186, 182), 8))
    col *= (1.0 + 0.04 * _noise(rng, g.size, 6))[..., None]
    curves: list[np.ndarray] = []
    for x, y in _points(rng, g, int(rng.integers(2, 5)), rho_max=0.7).tolist():
        angle, length = rng.uniform(0, 2 * math.pi), g.radius * rng.uniform(0.3, 0.5)
        _vessel_tree(rng, x, y, angle, length, 3, curves)
    vessels = _lines(g.size, curves, round(g.px)) * g.mask
    _blend(col, 0.9 * vessels, _jitter(rng, (185, 28, 40), 10))
    if rng.random() < 0.6:
        n = int(rng.integers(1, 5))
        nests = _dots(g, _points(rng, g, n, 0.75), rng.uniform(2, 5, n) * g.px)
        _blend(col, 0.8 * nests, (88, 98, 124))
    return col, np.float32(rng.uniform(0.55, 0.8))


@_paints("squamous cell carcinoma", (0.18, 0.32), 0.08, 0.02, (0.7, 1.0), 0.012)
def _squamous_cell_carcinoma(rng: np.random.Generator, g: _Geometry):
    """Red-pink rim, white-yellow keratin centre, scale, dotted vessels."""
    col = _fill(g.size, _jitter(rng, (206, 104, 100), 10))
    core = g.rho + 0.25 * _noise(rng, g.size, 6)
    _blend(col, np.clip((rng.uniform(0.35, 0.6) - core) * 6, 0, 0.95), (240, 226, 186))
    scale = np.clip(_noise(rng, g.size, 20) - 0.8, 0, 1)
    _blend(col, np.clip(scale, 0, 0.6), (245, 240, 230))
    n = int(rng.integers(10, 35))
    dots = _dots(g, _points(rng, g, n, 0.95), np.full(n, 0.8 * g.px))
    _blend(col, 0.85 * dots * (g.rho > 0.45), (160, 22, 36))
    return col, np.float32(rng.uniform(0.65, 0.9))


@_paints("dermatofibroma", (0.12, 0.22), 0.03, 0.008, (0.75, 1.0), 0.015)
def _dermatofibroma(rng: np.random.Generator, g: _Geometry):
    """Light brown peripheral ring and delicate network, white central scar."""
    col = _fill(g.size, _jitter(rng, (160, 108, 76), 8))
    _blend(col, 0.35 * _network(rng, g, rng.uniform(5, 8)), (120, 80, 55))
    scar = g.rho + 0.2 * _noise(rng, g.size, 5)
    _blend(col, np.clip((rng.uniform(0.35, 0.55) - scar) * 8, 0, 0.9), (236, 222, 214))
    fade = np.clip((1.0 - g.rho) * 3, 0, 1)
    return col, (fade * rng.uniform(0.7, 0.9)).astype(np.float32)


@_paints("vascular lesion", (0.14, 0.28), 0.05, 0.01, (0.75, 1.0), 0.005)
def _vascular_lesion(rng: np.random.Generator, g: _Geometry):
    """Red, purple and dark-blue lacunae separated by whitish septa."""
    septa = _jitter(rng, (196, 120, 132), 10)
    lacunae = np.array([(178, 28, 42), (118, 36, 88), (58, 40, 92), (150, 20, 50)])
    n = int(rng.integers(12, 40))
    picked = lacunae[rng.integers(0, 4, n)] + rng.normal(0, 8, (n, 3))
    colours = np.vstack([septa, picked]).astype(np.float32)
    labels = np.zeros((g.size, g.size), np.int32)  # 0 = septa, k = lacuna k
    radii = np.maximum(1, np.round(rng.uniform(0.1, 0.22, n) * g.radius)).astype(int)
    for k, (x, y) in enumerate(_points(rng, g, n, 0.92).tolist()):
        cv2.circle(labels, (x, y), int(radii[k]), k + 1, -1)
    col = cv2.GaussianBlur(colours[labels], (0, 0), 0.5 * g.px)
    return col, np.float32(rng.uniform(0.92, 1.0))


def _outline(rng: np.random.Generator, size: int, shape: _Shape) -> _Geometry:
    """A star-shaped outline from a random radius function, rotated and stretched."""
    ks = np.arange(1, 25)
    decay = np.sqrt(np.maximum(ks - 1, 1))
    low = shape.irregular * rng.uniform(0.2, 1.0, ks.size) / decay
    high = shape.jagged * np.abs(rng.normal(0, 1, ks.size)) * 7 / ks
    amp = np.where(ks <= 6, low, high)
    amp[0] *= 0.5  # k=1 only shifts the outline off-centre (asymmetry)
    amp *= rng.uniform(0.3, 1.3)  # some lesions of a class are tamer than others
    phase = rng.uniform(0, 2 * math.pi, ks.size)
    table_t = np.linspace(-math.pi, math.pi, 512, endpoint=False)
    table_r = 1.0 + (amp * np.cos(np.outer(table_t, ks) + phase)).sum(axis=1)
    table_r = np.maximum(table_r, 0.35)
    aspect = rng.uniform(*shape.aspect)
    radius = rng.uniform(*shape.radius) * size
    radius = min(radius, 0.5 * size / (table_r.max() / math.sqrt(aspect)))
    cx, cy = size / 2 + rng.uniform(-0.06, 0.06, 2) * size
    alpha = rng.uniform(0, math.pi)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    dx, dy = xs + 0.5 - cx, ys + 0.5 - cy
    u = (dx * math.cos(alpha) + dy * math.sin(alpha)) * math.sqrt(aspect) / radius
    v = (dy * math.cos(alpha) - dx * math.sin(alpha)) / math.sqrt(aspect) / radius
    r = np.interp(np.arctan2(v, u), table_t, table_r, period=2 * math.pi)
    rho = (np.hypot(u, v) / r).astype(np.float32)
    return _Geometry(size, rho <= 1.0, rho, u, v, radius, size / 128)


def _skin(rng: np.random.Generator, size: int) -> np.ndarray:
    """Light-to-medium skin with gentle shading and fine texture."""
    t = rng.uniform(0, 1)
    base = np.array([238, 204, 184]) * (1 - t) + np.array([198, 146, 116]) * t
    img = _fill(size, _jitter(rng, base, 5))
    shade = 1.0 + 0.05 * _noise(rng, size, 3) + 0.015 * _noise(rng, size, 40)
    return img * shade[..., None]


def _hairs(rng: np.random.Generator, size: int) -> np.ndarray:
    """Weight layer of 0-6 thin curved dark hairs (on about half the images)."""
    if rng.random() < 0.5:
        return np.zeros((size, size), np.float32)
    t = np.linspace(0, 1, 24)[:, None]
    curves = []
    for _ in range(int(rng.integers(0, 7))):
        p0, p2 = rng.uniform(-0.1, 1.1, (2, 2)) * size
        p1 = (p0 + p2) / 2 + rng.normal(0, 0.2 * size, 2)
        curves.append((1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2)
    return _lines(size, curves, round(size / 128 * rng.uniform(0.8, 1.6))) * 0.9


def _acquisition_cue(img: np.ndarray, shortcut: str) -> None:
    """Apply an acquisition cue in place; it draws no random numbers."""
    if shortcut == "colour-cast":
        img *= _COLOUR_CAST
        return
    size = img.shape[0]
    ys, xs = np.ogrid[0:size, 0:size]
    d = np.hypot(xs + 0.5 - size / 2, ys + 0.5 - size / 2) / (size / 2)
    ramp = np.clip((d - _APERTURE_START) / _APERTURE_WIDTH, 0, 1)
    img *= (1.0 - _APERTURE_DEPTH * ramp**1.5).astype(np.float32)[..., None]


def _one_image(
    seed: int,
    class_index: int,
    i: int,
    size: int,
    hair: bool,
    shortcut: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One image and its mask; hair has its own stream so it cannot move the lesion.

    A ``shortcut`` cue touches melanomas only and draws no random numbers, so every
    other image, and every mask, is the same as without it.
    """
    rng = np.random.default_rng([seed, class_index, i])
    shape, painter = _CLASSES[CLASS_NAMES[class_index]]
    geo = _outline(rng, size, shape)
    img = _skin(rng, size)
    colour, opacity = painter(rng, geo)
    sigma = max(0.6, shape.blur * size)
    edge = cv2.GaussianBlur(geo.mask.astype(np.float32), (0, 0), sigma)
    img += (colour - img) * (edge * opacity)[..., None]
    if hair:
        hair_rng = np.random.default_rng([seed, class_index, i, 1])
        _blend(img, _hairs(hair_rng, size), _jitter(hair_rng, (45, 32, 26), 10))
    ys, xs = np.ogrid[0:size, 0:size]
    d2 = ((xs + 0.5 - size / 2) ** 2 + (ys + 0.5 - size / 2) ** 2) / (size / 2) ** 2 / 2
    img *= (1.0 - rng.uniform(0.12, 0.3) * d2**1.5)[..., None]  # dermatoscope vignette
    img *= rng.uniform(0.94, 1.06, 3).astype(np.float32)  # camera white balance
    if shortcut is not None and CLASS_NAMES[class_index] == _MELANOMA:
        _acquisition_cue(img, shortcut)
    img += rng.normal(0, 2.0, img.shape).astype(np.float32)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), geo.mask


def _check(
    counts: Mapping[str, int], size: int, seed: int, shortcut: str | None = None
) -> None:
    """Reject bad arguments with one line naming the value and what is allowed."""
    allowed = ", ".join(repr(name) for name in CLASS_NAMES)
    for name, n in counts.items():
        if name not in _CLASSES:
            raise ValueError(f"unknown class {name!r}; choose from {allowed}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"count for {name!r} is {n!r}; use an integer >= 0")
    if not isinstance(size, (int, np.integer)) or not _MIN_SIZE <= size <= _MAX_SIZE:
        raise ValueError(f"size {size!r}; use an integer in [{_MIN_SIZE}, {_MAX_SIZE}]")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed {seed!r}; use an integer >= 0")
    if shortcut is not None and shortcut not in SHORTCUTS:
        choices = ", ".join(repr(name) for name in SHORTCUTS)
        raise ValueError(f"shortcut {shortcut!r}; choose from {choices} or None")


def generate_lesions(
    counts: Mapping[str, int],
    *,
    size: int = 128,
    hair: bool = True,
    seed: int = 0,
    shortcut: str | None = None,
) -> SyntheticLesions:
    """Generate ``counts[name]`` lesions per class, classes in ``CLASS_NAMES`` order.

    Why: a data set that needs no download, is the same on every machine and whose
    classes differ the way the ABCD rule says, so the whole benchmark runs and is
    tested anywhere. Image i of a class depends only on (seed, class, i, size, hair),
    so changing another class's count leaves it untouched.

    ``shortcut`` ties an acquisition cue to the label, as isic9's archives do:
    "colour-cast" gives every melanoma a blue cast, "vignette" dark round-scope
    corners; other images and all masks stay byte-identical. Tests use it to
    check that the shortcut probes catch such a data set.

    Raises
    ------
    ValueError
        For an unknown class name, a negative count, size outside [32, 1024], a
        negative seed or an unknown shortcut.
    """
    _check(counts, size, seed, shortcut)
    jobs = [
        (k, i) for k, name in enumerate(CLASS_NAMES) for i in range(counts.get(name, 0))
    ]
    images = np.empty((len(jobs), size, size, 3), np.uint8)
    masks = np.empty((len(jobs), size, size), bool)
    for row, (k, i) in enumerate(jobs):
        images[row], masks[row] = _one_image(
            int(seed), k, i, int(size), bool(hair), shortcut
        )
    labels = np.array([CLASS_NAMES[k] for k, _ in jobs], dtype=object)
    return SyntheticLesions(images=images, masks=masks, labels=labels)
