"""A learned lesion outline: gradient-boosted trees that label each pixel of a
small copy of the image as lesion or skin.

Otsu's cut on the colour distance from the skin finds the lesion's dark core
and misses its faint periphery, most of all on melanomas, which experts outline
larger than other lesions (docs/features.md). Trees fitted on ham10000-dev's
expert masks (tools/fit_lesion_segmenter.py, on half of its lesions) read each
pixel's colour relative to the skin at several scales, its local contrast and
where it lies relative to the frame and to Otsu's core, and draw the outline
an expert would. The trees ship with the package as XGBoost's JSON (data, not
code) and run single-threaded: the feature step already runs a process per core.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

#: The side of the square copy whose pixels the trees label.
PIXEL_SIDE = 32
#: A pixel is lesion when the trees give it at least this probability.
LESION_PROBABILITY_CUT = 0.5
#: Gaussian widths of the smoothed colour differences, as a share of the side.
SCALES = (1 / 64, 2 / 64, 4 / 64, 8 / 64)
MODEL_FILE = "lesion_segmenter.json"


@dataclass(frozen=True)
class SegmenterInputs:
    """What the Otsu step already computed, at the image's own size: the
    smoothed CIELab image, the skin colour, the distance from it, the usable
    (non-vignette) pixels and Otsu's core (``segmenter_inputs`` gives None
    where Otsu fails, so there is always one)."""

    lab: np.ndarray
    skin: np.ndarray
    score: np.ndarray
    usable: np.ndarray
    core: np.ndarray


def pixel_values(inputs: SegmenterInputs) -> np.ndarray:
    """(PIXEL_SIDE**2, 28) float32 values of each pixel of the small copy."""
    size = (PIXEL_SIDE, PIXEL_SIDE)
    delta = cv2.resize(inputs.lab - inputs.skin, size, interpolation=cv2.INTER_AREA)
    score = cv2.resize(inputs.score, size, interpolation=cv2.INTER_AREA)
    usable = cv2.resize(
        inputs.usable.astype(np.float32), size, interpolation=cv2.INTER_AREA
    )
    core = cv2.resize(
        inputs.core.astype(np.float32), size, interpolation=cv2.INTER_AREA
    )
    columns = [delta[..., channel] for channel in range(3)]
    for scale in SCALES:
        smooth = cv2.GaussianBlur(delta, (0, 0), scale * PIXEL_SIDE)
        columns.extend(smooth[..., channel] for channel in range(3))
    columns.append(score)
    columns.append(cv2.GaussianBlur(score, (0, 0), SCALES[2] * PIXEL_SIDE))
    lightness = np.ascontiguousarray(delta[..., 0])
    for window in (3, 7):
        mean = cv2.blur(lightness, (window, window))
        square = cv2.blur(lightness * lightness, (window, window))
        columns.append(np.sqrt(np.maximum(square - mean * mean, 0.0)))
    inside = core >= 0.5
    columns.extend(_position(core, inside))
    columns.append(usable)
    area = float(inside.mean())
    core_score = float(score[inside].mean()) if inside.any() else 0.0
    rest = score[~inside]
    rest_score = float(rest.mean()) if rest.size else 0.0
    core_lightness = float(lightness[inside].mean()) if inside.any() else 0.0
    for value in (area, core_score, rest_score, core_lightness):
        columns.append(np.full(size, value, dtype=np.float32))
    return np.stack(columns, axis=-1).reshape(-1, len(columns)).astype(np.float32)


def _position(core: np.ndarray, inside: np.ndarray) -> list[np.ndarray]:
    """Where each pixel lies: from the centre, from the frame, from the core's
    edge (signed, in units of the core's radius) and the core itself
    (``inside``: the pixels mostly in it)."""
    side = PIXEL_SIDE
    grid = (np.arange(side, dtype=np.float32) + 0.5) / side - 0.5
    rows, cols = np.meshgrid(grid, grid, indexing="ij")
    radius = np.sqrt(rows**2 + cols**2)
    frame = 0.5 - np.maximum(np.abs(rows), np.abs(cols))
    inside = inside.astype(np.uint8)
    if inside.any() and not inside.all():
        outside_distance = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
        inside_distance = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
        core_radius = max(float(np.sqrt(inside.sum() / np.pi)), 1.0)
        signed = (outside_distance - inside_distance) / core_radius
    else:
        signed = np.zeros((side, side), dtype=np.float32)
    return [radius, frame, signed.astype(np.float32), core]


def in_fitting_half(lesion_id: str) -> bool:
    """Whether the shipped trees were fitted on this ham10000-dev lesion: the
    first byte of its id's SHA-256 is even. The other half measures them."""
    return hashlib.sha256(lesion_id.encode()).digest()[0] % 2 == 0


def pixel_targets(expert_mask: np.ndarray) -> np.ndarray:
    """(PIXEL_SIDE**2,) 0/1 labels from an expert's bool mask of any size,
    squashed to the square as the features' images are."""
    small = cv2.resize(
        expert_mask.astype(np.float32),
        (PIXEL_SIDE, PIXEL_SIDE),
        interpolation=cv2.INTER_AREA,
    )
    return (small >= 0.5).astype(np.uint8).ravel()


def lesion_probability(inputs: SegmenterInputs) -> np.ndarray:
    """Each pixel's lesion probability, at the image's own size."""
    small = _trees().inplace_predict(pixel_values(inputs))
    small = np.asarray(small, dtype=np.float32).reshape(PIXEL_SIDE, PIXEL_SIDE)
    height, width = inputs.score.shape
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


@cache
def _trees():
    """The fitted trees, loaded once per process."""
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(str(Path(__file__).with_name(MODEL_FILE)))
    booster.set_param({"nthread": 1})
    return booster
