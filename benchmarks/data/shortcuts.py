"""Shortcut audit: can melanoma be told from what is not the lesion?

In isic9 the melanomas come from other archives and devices than most benign
lesions, so a model can score well by recognising the acquisition (colour
cast, dark scope corners, file encoding) instead of the lesion. Each probe
here sees only such cues, and a high out-of-fold melanoma AUC from any of them
means the benchmark's figures may not carry over to other clinics' images.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from importlib.metadata import version
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from joblib import effective_n_jobs
from PIL import Image

from benchmarks.core.cache import cache_dir, cached, write_cached
from benchmarks.core.errors import UserError
from benchmarks.core.filenames import real
from benchmarks.data.audit import DEFAULT_NEAR_THRESHOLD, audit
from benchmarks.data.image_cache import load_images
from benchmarks.data.preprocessing import SHADES_OF_GRAY_POWER

logger = logging.getLogger(__name__)

#: A probe at or above this melanoma AUC is flagged in the result and the text.
WARNING_AUC = 0.70
#: Side of the decoded images the probes read: acquisition cues are coarse.
IMAGE_SIZE = 64
#: The lesion mask grows by this share of the side before it is cut out, so the
#: lesion's faint rim and small segmentation misses stay out of the probes.
MASK_MARGIN = 0.08
#: Corner squares and border strips, as a share of the side.
CORNER_FRACTION = 0.15
STRIP_FRACTION = 0.08
#: CIELab lightness below which a frame pixel counts as a dark scope frame.
DARK_LIGHTNESS = 30.0
#: Fewer non-lesion pixels than this (per image or region) give NaN features.
MIN_PIXELS = 8
#: Category codes kept per file-level field (by frequency); the rest share one.
MAX_CATEGORIES = 12
#: Bins of each continuous probe feature, from its training fold's quantiles.
N_BINS = 64
#: Bytes read from the start of a file to find where a JPEG's image data begins.
_HEAD_BYTES = 1 << 16
CV_SPLITS = ("train", "val")
# Colour features: RGB at 3 levels, Lab at 2, 4 from HSV, illuminant, 2 ratios.
_N_COLOUR = 3 * 3 + 3 * 2 + 4 + 3 + 2
#: Bump when a probe's features, model or scoring change, or the lesion mask
#: whose surroundings the skin probe reads, so that figures cached by an earlier
#: version are computed again.
PROBES_VERSION = "3"


@dataclass(frozen=True)
class _Inputs:
    """What the probes may read: the rows, their images and non-lesion pixels."""

    rows: pd.DataFrame
    images: np.ndarray  # (n, size, size, 3) uint8 RGB
    outside: np.ndarray  # (n, size, size) bool, True away from the lesion
    n_jobs: int = 1


@dataclass(frozen=True)
class _Probe:
    name: str
    description: str
    features: Callable[[_Inputs], tuple[np.ndarray, np.ndarray | None]]


def _percentiles(values: np.ndarray, qs: Sequence[float]) -> list[float]:
    return list(np.percentile(values, qs, axis=0).ravel())


def _colour_row(image: np.ndarray, outside: np.ndarray) -> list[float]:
    """Colour of the non-lesion pixels: RGB, Lab, HSV levels and the illuminant.

    Medians and upper percentiles only: lesion pixels the mask missed are few
    and dark, and would move means, spreads and low percentiles.
    """
    if np.count_nonzero(outside) < MIN_PIXELS:
        return [np.nan] * _N_COLOUR
    rgb = image[outside].astype(np.float32)
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)[outside]
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV_FULL)[outside].astype(np.float32)
    hue = hsv[:, 0] * (2 * np.pi / 256)
    saturation = hsv[:, 1] / 255.0
    # Shades of Gray (Minkowski power 6): the light's colour, as a unit vector.
    illuminant = np.mean((rgb / 255.0) ** SHADES_OF_GRAY_POWER, axis=0)
    illuminant **= 1 / SHADES_OF_GRAY_POWER
    illuminant /= np.linalg.norm(illuminant) + 1e-6
    median = np.median(rgb, axis=0) + 1.0
    return [
        *_percentiles(rgb, (50, 75, 95)),
        *_percentiles(lab, (50, 95)),
        float(np.median(saturation * np.cos(hue))),
        float(np.median(saturation * np.sin(hue))),
        float(np.median(saturation)),
        float(np.median(hsv[:, 2])),
        *illuminant,
        float(median[0] / median[1]),
        float(median[2] / median[1]),
    ]


def _colour_features(inputs: _Inputs) -> tuple[np.ndarray, None]:
    return _per_image(_colour_row, inputs), None


def _median(values: np.ndarray) -> list[float]:
    """Median per column (or of a vector); NaN when too few pixels are left."""
    width = values.shape[1] if values.ndim > 1 else 1
    if len(values) < MIN_PIXELS:
        return [np.nan] * width
    return list(np.atleast_1d(np.median(values, axis=0)))


def _mean_of_known(values: list[float]) -> float:
    known = [value for value in values if np.isfinite(value)]
    return float(np.mean(known)) if known else np.nan


@dataclass(frozen=True)
class _Layout:
    """Where the surround probe looks, for one image side."""

    corners: list[np.ndarray]  # four corner squares, bool
    strips: list[np.ndarray]  # four border strips between the corners, bool
    frame: np.ndarray  # the outer ring, bool
    radius2: np.ndarray  # squared distance from the centre, half side = 1
    kernel: np.ndarray  # the mask margin, to find the skin next to the lesion


def _layout(size: int) -> _Layout:
    corner, strip = round(CORNER_FRACTION * size), max(1, round(STRIP_FRACTION * size))
    near, far, middle = (
        slice(0, corner),
        slice(size - corner, size),
        slice(corner, -corner),
    )

    def region(rows: slice, columns: slice) -> np.ndarray:
        mask = np.zeros((size, size), bool)
        mask[rows, columns] = True
        return mask

    edge, opposite = slice(0, strip), slice(size - strip, size)
    frame = np.ones((size, size), bool)
    frame[strip:-strip, strip:-strip] = False
    centre = (np.arange(size) + 0.5 - size / 2) / (size / 2)
    return _Layout(
        corners=[region(r, c) for r in (near, far) for c in (near, far)],
        strips=[
            region(edge, middle),
            region(opposite, middle),
            region(middle, edge),
            region(middle, opposite),
        ],
        frame=frame,
        radius2=centre[None, :] ** 2 + centre[:, None] ** 2,
        kernel=_disc(size),
    )


def _surround_row(image: np.ndarray, outside: np.ndarray, at: _Layout) -> list[float]:
    """Layout of the non-lesion pixels: corners, border strips, frame, vignette."""
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    lightness = lab[..., 0]
    corner_light = [_median(lightness[c & outside])[0] for c in at.corners]
    strip_light = [_median(lightness[s & outside])[0] for s in at.strips]
    in_frame = lightness[at.frame & outside]
    dark_frame = float(np.mean(in_frame < DARK_LIGHTNESS)) if len(in_frame) else np.nan
    corner_mean, strip_mean = _mean_of_known(corner_light), _mean_of_known(strip_light)
    # Vignette: lightness falling with the squared distance from the centre,
    # fitted on skin only, relative to the fitted centre lightness.
    skin, radius2 = lightness[outside], at.radius2[outside]
    falloff = np.nan
    if len(skin) >= MIN_PIXELS and np.ptp(radius2) > 0:
        slope, intercept = np.polyfit(radius2, skin, 1)
        falloff = float(slope / intercept) if intercept > 1e-3 else np.nan
    # The skin just outside the cut-out: the surrounding skin colour.
    eroded = cv2.erode(outside.astype(np.uint8), at.kernel).astype(bool)
    return [
        *corner_light,
        *strip_light,
        *_median(image[np.any(at.corners, axis=0) & outside]),
        dark_frame,
        float(corner_mean / strip_mean) if strip_mean > 1e-3 else np.nan,
        falloff,
        *_median(lab[outside & ~eroded]),
    ]


def _surround_features(inputs: _Inputs) -> tuple[np.ndarray, None]:
    return _per_image(_surround_row, inputs, _layout(inputs.images.shape[1])), None


def _rows_of(
    row: Callable, extra: tuple, images: np.ndarray, outside: np.ndarray
) -> list:
    """``row`` of each image of a chunk."""
    from models.machine import single_threaded_opencv

    with single_threaded_opencv():
        return [
            row(image, out, *extra) for image, out in zip(images, outside, strict=True)
        ]


def _per_image(row: Callable, inputs: _Inputs, *extra) -> np.ndarray:
    """``row(image, outside, *extra)`` of every image, as a float64 table."""
    from models.machine import SERIAL_BELOW, map_chunks

    # Why in workers: the per-image probe features were half of a cold
    # audit's time on one core.
    parts = map_chunks(
        partial(_rows_of, row, extra),
        (inputs.images, inputs.outside),
        n_jobs=inputs.n_jobs,
        serial_below=SERIAL_BELOW,
    )
    return np.asarray([row for part in parts for row in part], dtype=np.float64)


def _codes(values: Sequence[str]) -> np.ndarray:
    """Small integer codes by frequency, rarer values sharing the last code."""
    ranked = [value for value, _ in Counter(values).most_common(MAX_CATEGORIES - 1)]
    table = {value: code for code, value in enumerate(ranked)}
    return np.array([table.get(value, len(ranked)) for value in values], np.float64)


def _jpeg_header_bytes(head: bytes) -> float:
    """Where a JPEG's image data starts (its start-of-scan marker), or NaN."""
    start = head.find(b"\xff\xda")
    return float(start) if start >= 0 else np.nan


def _file_facts(path: str) -> dict[str, object]:
    """Facts about one file's encoding and metadata, none about its picture.

    No file size: a busy lesion compresses worse, so on the synthetic set,
    where one encoder wrote every class, bytes per pixel (and even bytes over a
    re-encode with the file's own tables) predicted melanoma by themselves.
    Only the bytes before the image data (EXIF, thumbnails, comments) are kept.
    """
    with open(real(path), "rb") as stream:
        head = stream.read(_HEAD_BYTES)
    with Image.open(real(path)) as image:
        tables = getattr(image, "quantization", None) or {}
        exif = image.getexif()
        layers = getattr(image, "layer", None)
        facts: dict[str, object] = {
            "format": image.format or "",
            "tables": len(tables),
            "luma": float(np.mean(tables[0])) if 0 in tables else np.nan,
            "chroma": float(np.mean(tables[1])) if 1 in tables else np.nan,
            "table_hash": hashlib.sha1(
                repr(sorted((k, list(v)) for k, v in tables.items())).encode()
            ).hexdigest(),
            "sampling": repr(layers),
            "progressive": float(bool(image.info.get("progressive"))),
            "icc": float(bool(image.info.get("icc_profile"))),
            "exif": float(len(exif) > 0),
            "camera": f"{exif.get(271, '')}|{exif.get(272, '')}",
            # Bytes before the JPEG image data: EXIF, thumbnails, comments.
            "header": _jpeg_header_bytes(head) if image.format == "JPEG" else 0.0,
        }
    return facts


def _file_features(inputs: _Inputs) -> tuple[np.ndarray, np.ndarray]:
    rows = inputs.rows
    facts = pd.DataFrame([_file_facts(path) for path in rows["path"]])
    width = rows["width"].to_numpy(np.float64)
    height = rows["height"].to_numpy(np.float64)
    suffix = [Path(path).suffix.lower() for path in rows["path"]]
    numbers = ["tables", "luma", "chroma", "progressive", "icc", "exif", "header"]
    numeric = np.column_stack(
        [
            width,
            height,
            width / np.maximum(height, 1),
            facts[numbers].to_numpy(np.float64),
        ]
    )
    categorical = np.column_stack(
        [
            _codes(suffix),
            _codes(list(facts["format"])),
            _codes(list(facts["table_hash"])),
            _codes(list(facts["sampling"])),
            _codes(list(facts["camera"])),
        ]
    )
    is_categorical = np.r_[
        np.zeros(numeric.shape[1], bool), np.ones(categorical.shape[1], bool)
    ]
    return np.column_stack([numeric, categorical]), is_categorical


PROBES: dict[str, _Probe] = {
    probe.name: probe
    for probe in (
        _Probe(
            "colour",
            "colour of everything but the lesion: RGB/Lab/HSV statistics and the "
            "Shades of Gray illuminant",
            _colour_features,
        ),
        _Probe(
            "surround",
            "layout around the cut-out lesion: corners, border strips, dark frame, "
            "vignette fall-off, skin next to the lesion",
            _surround_features,
        ),
        _Probe(
            "file",
            "the file only: pixel size, aspect, format, JPEG tables, chroma "
            "sampling, metadata bytes, ICC/EXIF presence, EXIF camera",
            _file_features,
        ),
    )
}
_SCORING = (
    "melanoma vs rest, class-weighted; AUC and balanced accuracy (at 0.5) are "
    "means over folds"
)


def _disc(size: int) -> np.ndarray:
    radius = max(1, round(MASK_MARGIN * size))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)


def _outside_lesion(images: np.ndarray, n_jobs: int = 1) -> tuple[np.ndarray, int]:
    """Non-lesion pixels of each image (the suite's segmentation, grown by a
    margin) and how many images needed its fallback ellipse."""
    from models.machine import SERIAL_BELOW, map_chunks

    parts = map_chunks(
        _outside_chunk, (images,), n_jobs=n_jobs, serial_below=SERIAL_BELOW
    )
    outside = np.concatenate([part for part, _ in parts]).reshape(images.shape[:3])
    return outside, sum(fallbacks for _, fallbacks in parts)


def _outside_chunk(images: np.ndarray) -> tuple[np.ndarray, int]:
    from features import segment_lesion  # as feature_cache does: only when used
    from models.machine import single_threaded_opencv

    kernel = _disc(images.shape[1])
    outside = np.empty(images.shape[:3], bool)
    fallbacks = 0
    with single_threaded_opencv():
        for index, image in enumerate(images):
            mask, fallback = segment_lesion(np.ascontiguousarray(image))
            fallbacks += bool(fallback)
            outside[index] = ~cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)
    return outside, fallbacks


def _select(
    manifest: pd.DataFrame, folds: np.ndarray | None, splits: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The rows to probe (readable, in a fold or a CV split) and their folds."""
    readable = manifest["readable"].to_numpy(bool)
    if folds is None:
        keep = readable & manifest["split"].isin(splits).to_numpy()
        return manifest[keep].reset_index(drop=True), None
    folds = np.asarray(folds)
    if folds.shape != (len(manifest),):
        raise ValueError(
            f"folds has shape {folds.shape} but the manifest has {len(manifest)} "
            "rows; pass one fold per row (-1 for rows outside cross-validation)"
        )
    keep = readable & (folds >= 0)
    return manifest[keep].reset_index(drop=True), folds[keep].astype(np.int64)


def _out_of_fold(
    features: np.ndarray,
    target: np.ndarray,
    folds: np.ndarray,
    categorical: np.ndarray | None,
    seed: int,
) -> np.ndarray:
    """Each row's melanoma score from a model that never saw its fold."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    scores = np.empty(len(target), np.float64)
    for fold in np.unique(folds):
        held_out = folds == fold
        # Leaves of 20 (the default) on a real set; smaller sets need smaller ones.
        leaf = max(2, min(20, int(np.count_nonzero(~held_out)) // 10))
        model = HistGradientBoostingClassifier(
            max_iter=100,
            learning_rate=0.1,
            max_depth=3,
            min_samples_leaf=leaf,
            l2_regularization=1.0,
            class_weight="balanced",
            categorical_features=categorical,
            early_stopping=False,
            random_state=seed,
        )
        train, rest = _binned(features[~held_out], features[held_out], categorical)
        # One thread: on a few thousand rows OpenMP's start-up per tree node
        # made the fits 5x slower than one core.
        with threadpool_limits(1, user_api="openmp"):
            model.fit(train, target[~held_out])
            scores[held_out] = model.predict_proba(rest)[:, 1]
    return scores


def _binned(
    train: np.ndarray, rest: np.ndarray, categorical: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Continuous columns as their bin among the training rows' quantiles
    (missing values stay missing).

    Why: given class weights, the booster finds its own bin edges with one
    weighted percentile per edge and column, two thirds of a cold audit's
    time; the unweighted quantiles here cost a millisecond.
    """
    train, rest = train.copy(), rest.copy()
    continuous = np.ones(train.shape[1], bool) if categorical is None else ~categorical
    quantiles = np.linspace(0, 1, N_BINS + 1)[1:-1]
    for column in np.flatnonzero(continuous):
        known = np.isfinite(train[:, column])
        if not known.any():
            continue
        edges = np.quantile(train[known, column], quantiles)
        for values in (train[:, column], rest[:, column]):
            finite = np.isfinite(values)
            values[finite] = np.searchsorted(edges, values[finite])
    return train, rest


def _fold_means(
    target: np.ndarray, scores: np.ndarray, folds: np.ndarray
) -> tuple[float, float]:
    """Mean over folds of the melanoma AUC and the balanced accuracy at 0.5.

    Per fold, as the suite scores models: pooling out-of-fold scores would mix
    each fold model's own offset into the ranking. Folds without both classes
    are skipped.
    """
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    aucs, accuracies = [], []
    for fold in np.unique(folds):
        held_out = folds == fold
        if len(np.unique(target[held_out])) == 2:
            aucs.append(roc_auc_score(target[held_out], scores[held_out]))
            accuracies.append(
                balanced_accuracy_score(target[held_out], scores[held_out] >= 0.5)
            )
    if not aucs:
        return np.nan, np.nan
    return float(np.mean(aucs)), float(np.mean(accuracies))


def shortcut_probes(
    manifest: pd.DataFrame,
    positive: str,
    *,
    folds: np.ndarray | None = None,
    n_folds: int = 3,
    seed: int = 0,
    cache: str | Path | None = None,
    splits: Sequence[str] = CV_SPLITS,
    size: int = IMAGE_SIZE,
    n_jobs: int | None = None,
) -> dict:
    """Score each probe's out-of-fold melanoma AUC from acquisition cues alone.

    Why: a benchmark whose melanomas share a camera, archive or file format can
    reward models for recognising those instead of the lesion; this measures it.
    The figures are cached (``shortcuts-<key>.json``): probing the same files,
    classes and folds again reads them back.

    Parameters
    ----------
    manifest
        The suite's Manifest; readable rows of ``splits`` are probed.
    positive
        The melanoma class name; the probes score it against every other class.
    folds
        The run's validation fold of every manifest row (-1 outside
        cross-validation); when given, ``splits`` is ignored. Otherwise
        ``n_folds`` folds stratified on ``positive`` vs the rest that, as a
        run's folds do, keep copies and one lesion's images together (the
        audit's copy groups).
    n_jobs
        Threads that decode the images when they are not cached, and processes
        that segment them and compute the probes' features (None: all cores).

    Returns
    -------
    dict
        ``{"probes": {name: {"melanoma_auc", "balanced_accuracy", "n_features",
        "description"}}, "warning_auc", "flagged", "positive", "n_images",
        "n_positive", "n_folds", "segmentation_fallbacks"}``.

    Raises
    ------
    UserError
        When ``positive`` is not a label of the probed rows or is all of them,
        or it (or the rest) has fewer distinct images than folds.
    """
    rows, row_folds = _select(manifest, folds, splits)
    labels = rows["label"].astype(str).to_numpy()
    target = (labels == positive).astype(np.int64)
    if not 0 < target.sum() < len(target):
        present = ", ".join(sorted(set(labels))) or "none"
        raise UserError(
            f"positive class {positive!r}: needs images of it and of other classes "
            f"among the probed rows; labels there: {present}"
        )
    path = _figures_path(rows, positive, target, row_folds, n_folds, seed, size, cache)
    if cached(path):
        try:
            return json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            logger.warning("cached shortcut figures %s unreadable; probing again", path)
    if row_folds is None:
        row_folds = _probe_folds(rows, target, positive, n_folds, seed)
    images = np.asarray(load_images(rows, size, cache=cache, n_jobs=n_jobs))
    n_jobs = effective_n_jobs(-1 if n_jobs is None else n_jobs)
    result = _probe(rows, images, target, row_folds, positive, seed, n_jobs)
    _write_figures(path, result)
    return result


def _probe_folds(
    rows: pd.DataFrame, target: np.ndarray, positive: str, n_folds: int, seed: int
) -> np.ndarray:
    """Folds for rows the run has not folded: as a run's folds do, they keep
    copies and one lesion's images together, so no probe is scored on a copy
    of an image it was fitted on."""
    from benchmarks.data.folds import assign_folds  # sklearn: only when probing

    # Stratified on the probes' own target, so a class of one image is fine.
    strata = np.where(target == 1, positive, "the rest")
    groups = audit(rows).copy_group
    return assign_folds(strata, groups, n_folds=n_folds, seed=seed)


def _write_figures(path: Path, result: dict) -> None:
    """Cache the probes' figures for the next audit of the same files; a
    read-only cache costs that audit the time, never this one its result."""
    text = json.dumps(result)  # in the probes' order, as printed
    try:
        write_cached(path, lambda stream: stream.write(text.encode("utf-8")))
    except OSError as error:
        logger.warning("shortcut figures not cached (%s)", error)


def _figures_path(
    rows: pd.DataFrame,
    positive: str,
    target: np.ndarray,
    folds: np.ndarray | None,
    n_folds: int,
    seed: int,
    size: int,
    cache: str | Path | None,
) -> Path:
    """Where the figures of these probes live: keyed by every input they read.

    Why: the probes audit, decode, segment and fit 3 x folds boosters (about
    12 s on isic9, 2 cores); an audit of unchanged data reads their figures
    back. The key is the files' content and suffix, the positive class and
    target, the folds given or else what the probes' own folds follow from
    (the copies the audit finds: pixel and perceptual hashes, source groups;
    ``n_folds``), the seed, the image side, this module's and scikit-learn's
    versions.
    """
    digest = hashlib.sha256(
        f"v{PROBES_VERSION}:{version('scikit-learn')}:{size}:{seed}:{positive}:"
        f"{n_folds if folds is None else 'given'}:{DEFAULT_NEAR_THRESHOLD}:".encode()
    )
    suffixes = [Path(path).suffix.lower() for path in rows["path"]]
    if folds is None:
        hashes = rows[["pixel_sha256", "phash", "group"]].astype(str)
        fold_of = ["|".join(row) for row in hashes.itertuples(index=False)]
    else:
        fold_of = [str(fold) for fold in folds]
    for sha256, suffix, melanoma, fold in zip(
        rows["sha256"], suffixes, target, fold_of, strict=True
    ):
        digest.update(f"{sha256}{suffix}:{melanoma}:{fold};".encode())
    return cache_dir(cache) / f"shortcuts-{digest.hexdigest()[:24]}.json"


def _probe(
    rows: pd.DataFrame,
    images: np.ndarray,
    target: np.ndarray,
    row_folds: np.ndarray,
    positive: str,
    seed: int,
    n_jobs: int = 1,
) -> dict:
    """Segment the images, and score every probe out of fold."""
    outside, fallbacks = _outside_lesion(images, n_jobs)
    inputs = _Inputs(rows=rows, images=images, outside=outside, n_jobs=n_jobs)
    probes = {}
    for name, probe in PROBES.items():
        features, categorical = probe.features(inputs)
        # A field no file has (say, DPI) is left out; the booster cannot bin it.
        present = np.isfinite(features).any(axis=0)
        features = features[:, present]
        if categorical is not None:
            categorical = categorical[present]
        scores = _out_of_fold(features, target, row_folds, categorical, seed)
        auc, balanced_accuracy = _fold_means(target, scores, row_folds)
        probes[name] = {
            "melanoma_auc": auc,
            "balanced_accuracy": balanced_accuracy,
            "n_features": int(features.shape[1]),
            # Features that differ between images: 0 means the probe saw nothing.
            "n_varying": int(
                np.count_nonzero(np.nanmax(features, 0) > np.nanmin(features, 0))
            ),
            "description": f"{probe.description}; {_SCORING}",
        }
    flagged = [name for name, p in probes.items() if p["melanoma_auc"] >= WARNING_AUC]
    return {
        "probes": probes,
        "warning_auc": WARNING_AUC,
        "flagged": flagged,
        "positive": positive,
        "n_images": len(rows),
        "n_positive": int(target.sum()),
        "n_folds": len(np.unique(row_folds)),
        "segmentation_fallbacks": fallbacks,
    }


def to_text(result: dict) -> str:
    """A small table of the probes, and one warning line per flagged probe."""
    lines = [
        f"shortcut probes: {result['positive']} vs the rest from what is not the "
        f"lesion, {result['n_images']} images, {result['n_folds']} folds "
        f"(warning at AUC {result['warning_auc']:.2f})",
        f"  {'probe':<10} {'AUC':>5} {'bal.acc':>8}  features (varying/all)",
    ]
    for name, probe in result["probes"].items():
        lines.append(
            f"  {name:<10} {probe['melanoma_auc']:>5.2f} "
            f"{probe['balanced_accuracy']:>8.2f}  "
            f"{probe['n_varying']}/{probe['n_features']}"
        )
    lines.extend(f"WARNING: {sentence}" for sentence in warnings(result))
    return "\n".join(lines)


def warnings(result: dict) -> list[str]:
    """One sentence per flagged probe, for the terminal and the report."""
    return [
        f"the {name} probe predicts {result['positive']} with AUC "
        f"{result['probes'][name]['melanoma_auc']:.2f} without looking at the "
        "lesion: figures measured on this data may not carry over to other "
        "clinics' images."
        for name in result.get("flagged", [])
    ]
