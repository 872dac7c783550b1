"""Score a folder of images with a model folder and write the ranked worklist:
likely melanomas first, URGENT at or above the model's threshold.

Images are decoded exactly as the run decoded its training images
(``benchmarks.data.images.decode_resized`` at the model's sizes), in worker processes
and in chunks, so memory stays flat however many images the folder holds. A
file that cannot be read is listed in unreadable.csv and the page, never fatal.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import json
import logging
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import imagehash
import numpy as np
import pandas as pd
from PIL import Image

from benchmarks.core.cache import atomic_write
from benchmarks.core.errors import UserError
from benchmarks.core.filenames import real, shown
from benchmarks.core.spreadsheet import csv_bytes
from benchmarks.data.audit import near_any
from benchmarks.data.images import (
    UnreadableImage,
    decode_resized,
    is_image_name,
    not_a_file,
    open_rgb,
)
from benchmarks.data.preprocessing import preprocess
from benchmarks.deploy.model_dir import LoadedModel, synthetic_warning
from benchmarks.grid import families
from benchmarks.scoring import drift
from benchmarks.scoring.site_threshold import (
    parse_flag_top,
    read_calibration,
    top_count,
)
from benchmarks.scoring.threshold import choose_operating_point, sensitivity_interval
from models import available_cores
from models.machine import exit_with_parent

logger = logging.getLogger(__name__)

#: Images per model call (the CNN predicts in batches of this size).
BATCH = 256
#: Images a worker process decodes (and extracts features from) per task.
CHUNK = 64
#: Longest side of a worklist thumbnail, in pixels.
THUMBNAIL = 80
TOP_CLASSES = 3
WORKLIST, UNREADABLE, PAGE = "worklist.csv", "unreadable.csv", "worklist.html"
#: A calibration's labelled images with their scores: left out of the
#: worklist, listed here so that every file below --images is accounted for.
CALIBRATION_SCORES = "calibration_scores.csv"
#: The copy of model.json a triage writes, with the threshold it used.
MODEL_COPY = "model.json"


@dataclass(frozen=True)
class TriageResult:
    """What a triage did, for the command's summary line."""

    scored: int
    urgent: int
    unreadable: int
    seconds: float
    out: Path
    warning: str | None = None
    #: Where the URGENT threshold came from, in words.
    threshold_note: str = ""
    #: Scored images the model was fitted on (``seen_in_training``).
    in_training: int = 0

    @property
    def images_per_second(self) -> float:
        return self.scored / max(self.seconds, 1e-9)


def find_files(folder: Path, skip: Path | None = None) -> tuple[list[str], list[dict]]:
    """Image files below ``folder`` (relative POSIX paths, sorted), and every
    other file as {file, reason}; hidden files, and ``skip``, are left out.

    Links to folders are listed, never followed: one inside ``folder`` leads
    to images scored under their own path (following it would score them
    twice, or loop for ever), one outside it leaves the folder given. Broken
    or looping links are listed, and so is anything that is not a regular
    file, unopened (a FIFO would block its reader for ever).
    """
    images: list[str] = []
    others: list[dict] = []
    root = folder.resolve()
    skipped = skip.resolve() if skip is not None else None

    def listed(path: Path) -> str:
        return shown(path.relative_to(folder).as_posix())

    def walk(here: Path) -> None:
        try:
            found = sorted(here.iterdir(), key=lambda path: path.name)
        except OSError as error:
            reason = f"folder not listed: {error.strerror or error}"
            others.append({"file": listed(here), "reason": reason})
            return
        for path in found:
            if path.name.startswith("."):
                continue
            reason = None
            if path.is_symlink():
                reason = _folder_link(path, root)
            elif path.is_dir():
                if path.resolve() != skipped:
                    walk(path)
                continue
            if reason is None:
                reason = not_a_file(path)
            if reason is None and not is_image_name(path.name):
                reason = f"not an image file type ({path.suffix or 'no suffix'})"
            if reason is None:
                images.append(listed(path))
            else:
                others.append({"file": listed(path), "reason": reason})

    walk(folder)
    return sorted(images), sorted(others, key=lambda item: item["file"])


def _folder_link(path: Path, root: Path) -> str | None:
    """Why a link is listed rather than opened or followed; None for a link
    to a file, which is read as the file."""
    try:
        is_folder = stat.S_ISDIR(os.stat(path).st_mode)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "link loop: its links lead round in a circle"
        if error.errno == errno.ENOENT:
            return f"broken link: {shown(os.readlink(path))} does not exist"
        return f"link not followed: {error.strerror or error}"
    if not is_folder:
        return None
    target = path.resolve()
    if path.parent.resolve().is_relative_to(target):
        return "link to a folder above it (a loop), not followed"
    if target.is_relative_to(root):
        return "link to a folder inside --images, whose images are scored there"
    return "link to a folder outside --images, not followed (pass that folder)"


@dataclass(frozen=True)
class _Inputs:
    """What to compute from each file: model images and/or handcrafted features."""

    image_sizes: tuple[int, ...]
    feature_size: int | None
    remove_hair: bool = True
    groups: tuple[str, ...] = ()
    feature_preprocessing: str = "none"

    @classmethod
    def of(cls, metadata: dict) -> _Inputs:
        inputs = metadata["inputs"]
        sizes = tuple(sorted({size for size, _ in inputs["images"]}))
        features = inputs.get("features")
        if features is None:
            return cls(sizes, None)
        return cls(
            sizes,
            features["image_size"],
            features["remove_hair"],
            tuple(features["groups"]),
            # Model folders made before features were preprocessed: as shot.
            features.get("preprocessing", "none"),
        )


@dataclass
class _Chunk:
    """A worker's output for consecutive files: the ones it read, their model
    inputs and thumbnails, and why the others could not be read."""

    read: list[int] = field(default_factory=list)
    images: dict[int, list[np.ndarray]] = field(default_factory=dict)
    features: np.ndarray | None = None
    thumbnails: list[bytes] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    hashes: list[tuple[str, str]] = field(default_factory=list)
    feature_preprocessing: str = "none"


#: EXIF orientations that turn a picture a quarter: width and height swap.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})


def _thumbnail(path: Path) -> tuple[bytes, tuple[int, int], tuple[str, str]]:
    """The worklist's thumbnail of a file, the file's upright (width, height)
    read from its header, and its (sha256, perceptual hash) to recognise a
    training image by. The hash is taken of the thumbnail's draft decode: no
    second full decode, and within 2 bits of the full picture's on the
    development sets (docs/triage.md)."""
    data = path.read_bytes()
    image = open_rgb(data, draft_size=THUMBNAIL)
    hashes = (hashlib.sha256(data).hexdigest(), str(imagehash.phash(image)))
    with Image.open(io.BytesIO(data)) as header:
        width, height = header.size
        if header.getexif().get(0x0112) in _QUARTER_TURNS:
            width, height = height, width
    image.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=75)
    return buffer.getvalue(), (width, height), hashes


def _prepare(folder: Path, files: list[str], start: int, inputs: _Inputs) -> _Chunk:
    """Decode ``files`` (indices from ``start``); runs in a worker process."""
    chunk = _Chunk()
    pictures = []
    for offset, name in enumerate(files):
        path = real(folder / name)
        try:
            images = {size: decode_resized(path, size) for size in inputs.image_sizes}
            picture = (
                decode_resized(path, inputs.feature_size)
                if inputs.feature_size
                else None
            )
            thumbnail, shape, hashes = _thumbnail(path)
        except UnreadableImage as error:
            chunk.failures.append((start + offset, str(error)))
            continue
        except OSError as error:
            chunk.failures.append((start + offset, error.strerror or str(error)))
            continue
        chunk.read.append(start + offset)
        chunk.thumbnails.append(thumbnail)
        chunk.sizes.append(shape)
        chunk.hashes.append(hashes)
        for size, image in images.items():
            chunk.images.setdefault(size, []).append(image)
        if picture is not None:
            pictures.append(picture)
    if inputs.feature_size and pictures:
        from features import HandcraftedFeatures

        chunk.features = HandcraftedFeatures(
            remove_hair=inputs.remove_hair, groups=inputs.groups, n_jobs=1
        ).transform(preprocess(inputs.feature_preprocessing, np.stack(pictures)))
        chunk.feature_preprocessing = inputs.feature_preprocessing
    return chunk


@dataclass(frozen=True)
class _ChunkInputs:
    """The scored images of some chunks as the model's families read them."""

    chunks: list[_Chunk]
    preprocessing: str

    def features(self, preprocessing: str) -> np.ndarray:
        chunks = [c for c in self.chunks if c.read]
        if any(c.feature_preprocessing != preprocessing for c in chunks):
            raise RuntimeError(
                f"features on {preprocessing} images asked of chunks computed "
                "otherwise; the model folder's inputs disagree with its families"
            )
        return np.concatenate([c.features for c in chunks])

    def images(self, size: int, preprocessing: str) -> np.ndarray:
        images = np.stack(
            [image for c in self.chunks for image in c.images.get(size, [])]
        )
        return preprocess(preprocessing, images)

    def embeddings(self, model: str) -> np.ndarray:
        raise RuntimeError("triage reads embeddings from the model's fitted parts")


#: Perceptual hashes this close (bits) are the same picture. Tighter than the
#: audit's 4 for copies within one archive: between clinics, different lesions
#: lie 4 bits apart by chance (5 of derm7pt-dev's 405 images from the training
#: images of isic9 and HAM10000), while a training image saved again at twice
#: the size and JPEG quality 60 lay at 0-2 bits (98 of 99; docs/triage.md).
SAME_PICTURE_BITS = 2


def seen_in_training(model: LoadedModel, hashes: list[tuple[str, str]]) -> np.ndarray:
    """Why each image (its sha256 and perceptual hash) is one the model was
    fitted on: 'same file', 'near-identical picture' (perceptual hashes within
    ``SAME_PICTURE_BITS``), or '' where it is not, or where the model folder
    keeps no training hashes. Its score is no test of the model."""
    reasons = np.full(len(hashes), "", dtype=object)
    training = model.training_images
    if training is None or not hashes or training.empty:
        return reasons
    digests = np.array([digest for digest, _ in hashes])
    reasons[np.isin(digests, training["sha256"].to_numpy())] = "same file"
    ours = np.array([int(value, 16) for value in training["phash"] if value], np.uint64)
    theirs = np.array([int(value, 16) for _, value in hashes], np.uint64)
    near = near_any(theirs, ours, SAME_PICTURE_BITS)
    reasons[near & (reasons == "")] = "near-identical picture"
    return reasons


def _drift_values(model: LoadedModel, chunks: list[_Chunk]) -> np.ndarray:
    """What ``train`` recorded of its images, for these chunks' images."""
    inputs = model.metadata["inputs"]
    if "features" in inputs:
        columns = drift.skin_columns(inputs["features"]["names"])
        preprocessing = inputs["features"].get("preprocessing", "none")
        return _ChunkInputs(chunks, "none").features(preprocessing)[:, columns]
    size = inputs["images"][0][0]
    return drift.mean_colour(_ChunkInputs(chunks, "none").images(size, "none"))


def _drift_warning(
    metadata: dict,
    looks: list[np.ndarray],
    sizes: list[tuple[int, int]],
    threshold: Threshold,
) -> str | None:
    """How the scored images differ from the training images (colour, then
    size and shape) and what may not hold for them under ``threshold``, or
    None when they look alike."""
    sentences = []
    reference = metadata.get("input_statistics")
    if reference and looks:
        sentences.append(drift.shift(reference, np.concatenate(looks)))
    if metadata.get("image_size") and sizes:
        sentences.append(drift.size_shift(metadata["image_size"], np.array(sizes)))
    found = [sentence for sentence in sentences if sentence]
    if not found:
        return None
    return "; ".join([*found, _what_may_not_hold(threshold)])


def _what_may_not_hold(threshold: Threshold) -> str:
    """The drift warning's last clause: the model's own threshold is in doubt
    only where it is the one in use."""
    if threshold.top is not None:
        return (
            "the model's threshold and figures may not hold for them; URGENT here "
            "is the top of the list, not that threshold"
        )
    if threshold.calibration is not None:
        return (
            "the model card's figures may not hold for them; URGENT here uses "
            "this site's own threshold, set on its labelled images"
        )
    return "the model's threshold and figures may not hold for them"


def _probabilities(model: LoadedModel, chunks: list[_Chunk]) -> np.ndarray:
    """Class probabilities of the chunks' images, in the model's class order,
    combined as the run's trials combined them."""
    metadata = model.metadata
    return families.predict_proba(
        metadata["model"],
        model.estimators,
        _ChunkInputs(chunks, metadata["inputs"]["preprocessing"]),
        tuple(metadata["classes"]),
        metadata.get("plugins", ()),
    )


@dataclass(frozen=True)
class _Rows:
    """Some rows of an input source (the URGENT images of a batch)."""

    base: _ChunkInputs
    rows: np.ndarray

    @property
    def preprocessing(self) -> str:
        return self.base.preprocessing

    def features(self, preprocessing: str) -> np.ndarray:
        return self.base.features(preprocessing)[self.rows]

    def images(self, size: int, preprocessing: str) -> np.ndarray:
        return self.base.images(size, preprocessing)[self.rows]

    def embeddings(self, model: str) -> np.ndarray:
        return self.base.embeddings(model)


@dataclass
class _Reasons:
    """Why each URGENT image scored high, by its position among the scored:
    the feature groups that raised its melanoma margin most (boosted trees
    via SHAP, linear models via coefficient x standardised value or, with a
    melanoma head, its exact terms) and a network's Grad-CAM map over the
    image (benchmarks/grid/explanations.py).

    Only URGENT rows are explained, batch by batch as they are scored, so the
    cost follows the number of URGENT images, not of files.
    """

    model: LoadedModel
    threshold: float
    groups: dict[int, list[tuple[str, float]]] = field(default_factory=dict)
    heat_maps: dict[int, str] = field(default_factory=dict)
    scored: int = 0

    def add(self, chunks: list[_Chunk], proba: np.ndarray) -> None:
        from benchmarks.grid import explanations

        metadata = self.model.metadata
        positive = metadata["positive_class"]
        melanoma = proba[:, list(metadata["classes"]).index(positive)]
        urgent = np.flatnonzero(melanoma >= self.threshold)
        start, self.scored = self.scored, self.scored + len(proba)
        if not len(urgent):
            return
        plugins = tuple(metadata.get("plugins", ()))
        source = families.FittedSource(
            _Rows(_ChunkInputs(chunks, metadata["inputs"]["preprocessing"]), urgent),
            self.model.estimators,
            plugins,
        )
        explained_groups = explained_maps = False
        for name in families.with_parts([metadata["model"]], plugins):
            spec = families.family(name, plugins)
            if not spec.fits:
                continue
            estimator = self.model.estimators[name]
            X = np.asarray(families.design_matrix(spec, source))
            names = explanations.column_names(spec, X.shape[1] if X.ndim == 2 else None)
            if not explained_groups and names and len(names) == X.shape[1]:
                found = explanations.contributions(estimator, X, positive)
                if found is not None:
                    tops = explanations.top_groups(found[0], names)
                    self.groups.update(
                        zip((start + urgent).tolist(), tops, strict=True)
                    )
                    explained_groups = True
            elif not explained_maps and X.ndim == 4:
                maps = explanations.grad_cam(estimator, X, positive)
                if maps is not None:
                    for row, image, heat in zip(urgent, X, maps, strict=True):
                        self.heat_maps[start + int(row)] = _heat_map(image, heat)
                    explained_maps = True


def _heat_map(image: np.ndarray, heat: np.ndarray) -> str:
    """The model's view of an image with its Grad-CAM map over it, as a
    thumbnail-sized JPEG data URI."""
    from benchmarks.grid.explanations import overlay

    picture = Image.fromarray(overlay(image, heat))
    picture = picture.resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s"


def _progress(done: int, total: int, started: float) -> str:
    width = 24
    filled = round(width * done / total) if total else width
    rate = done / max(time.perf_counter() - started, 1e-9)
    eta = (total - done) / rate if rate else 0.0
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files, "
        f"{rate:.0f}/s, ETA {_minutes(eta)}"
    )


class _Spool:
    """Thumbnails in a temporary file, read back one at a time for the page."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.places: list[tuple[int, int]] = []

    def add(self, data: bytes) -> None:
        self.stream.seek(0, os.SEEK_END)
        self.places.append((self.stream.tell(), len(data)))
        self.stream.write(data)

    def read(self, index: int) -> bytes:
        offset, length = self.places[index]
        self.stream.seek(offset)
        return self.stream.read(length)


def _chunks_of(
    folder: Path, files: list[str], inputs: _Inputs, n_jobs: int
) -> Iterator[_Chunk]:
    from joblib import Parallel, delayed

    tasks = (
        delayed(_prepare)(folder, files[start : start + CHUNK], start, inputs)
        for start in range(0, len(files), CHUNK)
    )
    # A generator with joblib's bounded pre-dispatch: a few chunks in flight.
    return Parallel(n_jobs=n_jobs, return_as="generator", initializer=exit_with_parent)(
        tasks
    )


def _worklist(
    files: list[str],
    scored: list[int],
    proba: np.ndarray,
    model: LoadedModel,
    threshold: Threshold,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The worklist table, most urgent first (ties in file order), and each
    row's position in ``scored``; URGENT by ``threshold``'s score, or its
    first ``top`` rows."""
    metadata = model.metadata
    classes = np.array(metadata["classes"], dtype=object)
    melanoma = proba[:, list(classes).index(metadata["positive_class"])]
    order = np.argsort(-melanoma, kind="stable")
    proba, melanoma = proba[order], melanoma[order]
    top = np.argsort(-proba, axis=1, kind="stable")[:, :TOP_CLASSES]
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(order) + 1),
            "file": [files[scored[index]] for index in order],
            "melanoma_probability": melanoma.round(6),
            "flag": np.where(threshold.flags(melanoma), "URGENT", ""),
            "predicted_class": classes[proba.argmax(axis=1)],
        }
    )
    for place in range(top.shape[1]):
        table[f"top{place + 1}_class"] = classes[top[:, place]]
        table[f"top{place + 1}_probability"] = np.take_along_axis(
            proba, top[:, place : place + 1], axis=1
        )[:, 0].round(6)
    table["threshold"] = round(threshold.used(melanoma), 6)
    table["threshold_from"] = threshold.source
    return table, order


def _page_rows(
    table: pd.DataFrame,
    order: np.ndarray,
    spool: _Spool,
    n_top: int,
    reasons: _Reasons | None = None,
) -> Iterator[dict[str, Any]]:
    groups = reasons.groups if reasons is not None else {}
    heat_maps = reasons.heat_maps if reasons is not None else {}
    for position, values in enumerate(table.to_dict("records")):
        encoded = base64.b64encode(spool.read(order[position]))
        yield {
            "rank": values["rank"],
            "file": values["file"],
            "probability": values["melanoma_probability"],
            "urgent": values["flag"] == "URGENT",
            "in_training": values["in_training"],
            "top": [
                (values[f"top{k}_class"], values[f"top{k}_probability"])
                for k in range(1, n_top + 1)
            ],
            "thumbnail": "data:image/jpeg;base64," + encoded.decode("ascii"),
            "reasons": groups.get(int(order[position]), []),
            "heat_map": heat_maps.get(int(order[position])),
        }


@dataclass(frozen=True)
class Threshold:
    """The URGENT rule a triage applies: a score (the model's or a site's), or
    the ``top`` highest scores of the list."""

    score: float
    source: str
    note: str = ""
    top: tuple[float, bool] | None = None
    calibration: dict | None = None
    labelled: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    def flags(self, ordered: np.ndarray) -> np.ndarray:
        """URGENT or not for scores sorted highest first."""
        if self.top is None:
            return ordered >= self.score
        return np.arange(len(ordered)) < top_count(self.top, len(ordered))

    def used(self, ordered: np.ndarray) -> float:
        """The score at which images were flagged (the lowest URGENT score
        under ``--flag-top``; NaN when it flagged none)."""
        if self.top is None:
            return self.score
        count = top_count(self.top, len(ordered))
        return float(ordered[count - 1]) if count else float("nan")


def _model_threshold(metadata: dict) -> Threshold:
    return Threshold(metadata["threshold"]["threshold"], "model")


def _flag_top_threshold(flag_top: tuple[float, bool]) -> Threshold:
    value, percent = flag_top
    amount = f"{value:g}%" if percent else f"{value:g}"
    return Threshold(
        -np.inf,
        f"flag-top {amount}",
        note=f"the top {amount} of the list by melanoma probability "
        "(--flag-top), not a threshold: no melanoma share is promised",
        top=flag_top,
    )


def _score_files(
    model: LoadedModel, paths: list[Path], inputs: _Inputs, n_jobs: int
) -> tuple[np.ndarray, np.ndarray]:
    """The model's melanoma probability of each of ``paths`` (absolute), and
    which of them it was fitted on (``seen_in_training``); a file that cannot
    be read is an error, as it carries a label."""
    files = [str(path) for path in paths]
    chunks = list(_chunks_of(Path("/"), files, inputs, n_jobs))
    for chunk in chunks:
        for index, reason in chunk.failures:
            raise UserError(
                f"--calibrate: {files[index]}: cannot be read ({reason}); remove "
                "it from the CSV or replace the file"
            )
    metadata = model.metadata
    proba = _probabilities(model, chunks)
    hashes = [pair for chunk in chunks for pair in chunk.hashes]
    positive = list(metadata["classes"]).index(metadata["positive_class"])
    return proba[:, positive], seen_in_training(model, hashes)


def _calibrated_threshold(
    model: LoadedModel, csv: str | Path, inputs: _Inputs, n_jobs: int
) -> tuple[Threshold, set[Path]]:
    """The site's threshold from its labelled images (the rule ``train`` used),
    and those images, which the worklist leaves out."""
    metadata = model.metadata
    positive = metadata["positive_class"]
    images = read_calibration(csv, list(metadata["classes"]), positive)
    scores, seen = _score_files(model, images.paths, inputs, n_jobs)
    saved = metadata["threshold"]
    point = choose_operating_point(
        images.labels == positive,
        scores,
        saved["target_sensitivity"],
        seed=metadata["training"].get("seed", 0),
    )
    flagged = round(point.sensitivity * point.n_positive)
    low, high = sensitivity_interval(flagged, point.n_positive)
    note = (
        f"{positive} probability at or above {point.threshold:.4f}, set for this "
        f"site from {len(images.paths)} labelled images ({point.n_positive} "
        f"{positive} images) in {images.csv.name}. On those images it flagged "
        f"{flagged} of the {point.n_positive} {positive} images (target "
        f"{point.target_sensitivity:.0%}); the threshold was chosen on them, so "
        f"new {positive} images are likely to be flagged less often, and "
        f"{point.n_positive} of them pin that share down only to {low:.0%}-"
        f"{high:.0%} (exact 95% CI, which does not count the choice). It left "
        f"{point.specificity:.0%} of the {point.n_negative} others unflagged "
        f"(95% bootstrap CI {point.specificity_ci[0]:.0%}-"
        f"{point.specificity_ci[1]:.0%}, the threshold chosen again in each "
        "resample, as another draw of labelled images would choose it). The "
        f"model's own threshold was {saved['threshold']:.4f}"
    )
    if (seen != "").any():
        note += (
            f". {int((seen != '').sum())} of the labelled images are ones the "
            "model was fitted on (calibration_scores.csv, in_training): their "
            "scores flatter it, so list other images"
        )
    calibration = {
        **point.to_dict(),
        "sensitivity_ci_exact": [low, high],
        "csv": str(images.csv),
        "images": len(images.paths),
        "scores_file": CALIBRATION_SCORES,
    }
    labelled = pd.DataFrame(
        {
            "file": [str(path) for path in images.paths],
            "label": images.labels,
            "melanoma_probability": scores.round(6),
            "flag": np.where(scores >= point.threshold, "URGENT", ""),
            "in_training": seen,
        }
    )
    threshold = Threshold(
        point.threshold,
        f"calibrated on {images.csv.name}",
        note,
        None,
        calibration,
        labelled.sort_values("melanoma_probability", ascending=False, kind="stable"),
    )
    return threshold, set(images.paths)


def _write_model_copy(
    out: Path,
    model: LoadedModel,
    threshold: Threshold,
    table: pd.DataFrame,
    drift_warning: str | None,
) -> None:
    """OUT/model.json: the model's model.json as it is, and under ``triage``
    the threshold this worklist used, where it came from and whether the
    images looked unlike the training images."""
    used = threshold.used(table["melanoma_probability"].to_numpy())
    record = {
        **model.metadata,
        "triage": {
            "model_folder": str(model.folder),
            "threshold_used": None if np.isnan(used) else used,
            "threshold_from": threshold.source,
            "model_threshold": model.metadata["threshold"]["threshold"],
            "calibration": threshold.calibration,
            "flag_top": None if threshold.top is None else threshold.source,
            "drift_warning": drift_warning,
            "threshold_untrusted": threshold_untrusted(drift_warning, threshold),
            "in_training": int((table["in_training"] != "").sum()),
        },
    }
    text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write(out / MODEL_COPY, lambda stream: stream.write(text.encode("utf-8")))


def _write_csv(path: Path, table: pd.DataFrame) -> None:
    atomic_write(path, lambda stream: stream.write(csv_bytes(table)))


def triage(
    model: LoadedModel,
    images: str | Path,
    out: str | Path,
    *,
    n_jobs: int | None = None,
    write: Callable[[str], None] = logger.info,
    explain: bool = False,
    calibrate: str | Path | None = None,
    flag_top: str | None = None,
) -> TriageResult:
    """Score every image file below ``images`` and write OUT/worklist.csv,
    OUT/unreadable.csv and OUT/worklist.html.

    ``n_jobs`` worker processes decode images (None: every core); the model
    scores in the calling process, ``BATCH`` images at a time. ``explain``
    adds, for each URGENT image, the feature groups that raised its
    melanoma score most and a network's Grad-CAM map (``_Reasons``); off by
    default, as with every image URGENT it can double a CNN's triage time.

    ``calibrate`` (a CSV of file,label) sets the site's URGENT threshold from
    those images, which the worklist then leaves out (their scores go to
    OUT/calibration_scores.csv); ``flag_top`` ('N' or
    'PCT%') flags the top of the list instead of any threshold. Without
    either, the model's threshold applies, and the page says not to trust it
    when the images are unlike the training images.
    """
    started = time.perf_counter()
    folder, out = Path(images), Path(out)
    _check_folders(folder, out, calibrate)
    out.mkdir(parents=True, exist_ok=True)
    top = _flag_top(flag_top, calibrate)
    files, unreadable = find_files(folder, skip=out)
    inputs, jobs = _Inputs.of(model.metadata), n_jobs or available_cores()
    threshold, files = _threshold_and_files(
        model, folder, files, top, calibrate, inputs, jobs
    )
    synthetic = synthetic_warning(model.metadata)
    if synthetic:
        logger.warning("%s (model %s)", synthetic, model.folder)
    # Under --flag-top the cut is known only at the end: explain every image.
    reasons = _Reasons(model, threshold.score) if explain else None
    with tempfile.TemporaryFile() as stream:
        spool = _Spool(stream)
        scores = _score_folder(
            model, folder, files, inputs, jobs, spool, reasons, write, started
        )
        unreadable.extend(scores.failures)
        n_classes = len(model.metadata["classes"])
        warning = _drift_warning(model.metadata, scores.looks, scores.sizes, threshold)
        table, order = _worklist(
            files, scores.read, scores.proba(n_classes), model, threshold
        )
        table["threshold_untrusted"] = threshold_untrusted(warning, threshold)
        table["in_training"] = seen_in_training(model, scores.hashes)[order]
        threshold = _with_cut(threshold, table)
        unreadable.sort(key=lambda item: item["file"])
        _write_tables(out, model, threshold, table, unreadable, warning)
        _write_page(
            out / PAGE,
            model,
            folder,
            _page_rows(table, order, spool, min(TOP_CLASSES, n_classes), reasons),
            table=table,
            unreadable=unreadable,
            threshold=threshold,
            drift_warning=warning,
            synthetic=synthetic,
            explained=reasons is not None,
        )
    return TriageResult(
        scored=len(table),
        urgent=int((table["flag"] == "URGENT").sum()),
        unreadable=len(unreadable),
        seconds=time.perf_counter() - started,
        out=out,
        warning=warning,
        threshold_note=threshold.note,
        in_training=int((table["in_training"] != "").sum()),
    )


def _check_folders(folder: Path, out: Path, calibrate: str | Path | None) -> None:
    """Refuse, before any work, an --images that is not a folder, an --out that
    is a file, one holding files of triage's names that no earlier triage
    wrote (a user's own worklist is never replaced), and a --calibrate CSV
    where triage writes the calibration's scores."""
    if not folder.is_dir():
        what = "a file, not a folder" if folder.exists() else "no such folder"
        raise UserError(f"--images {folder}: {what}; pass a folder of images")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: a file, not a folder; pick a folder name")
    if calibrate is not None and (
        Path(calibrate).resolve() == (out / CALIBRATION_SCORES).resolve()
    ):
        raise UserError(
            f"--calibrate {calibrate}: triage writes the calibration's scores to "
            "that file; rename the CSV or choose another --out"
        )
    if _written_by_triage(out):
        return
    for name in (WORKLIST, PAGE, UNREADABLE, CALIBRATION_SCORES, MODEL_COPY):
        if (out / name).exists():
            raise UserError(
                f"--out {out}: holds {name}, which triage did not write; choose "
                "an empty or new folder (nothing was changed)"
            )


def _written_by_triage(out: Path) -> bool:
    """Whether ``out`` holds an earlier triage's output (its copy of
    model.json has a ``triage`` block), which a new triage may replace."""
    try:
        record = json.loads((out / MODEL_COPY).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and isinstance(record.get("triage"), dict)


def _flag_top(
    flag_top: str | None, calibrate: str | Path | None
) -> tuple[float, bool] | None:
    """``--flag-top`` read; refused beside ``--calibrate``, as each sets the
    URGENT rule its own way."""
    top = parse_flag_top(flag_top)
    if top is not None and calibrate is not None:
        raise UserError(
            "--calibrate and --flag-top: choose one (a site threshold from "
            "labelled images, or the top of the list)"
        )
    return top


def _threshold_and_files(
    model: LoadedModel,
    folder: Path,
    files: list[str],
    top: tuple[float, bool] | None,
    calibrate: str | Path | None,
    inputs: _Inputs,
    n_jobs: int,
) -> tuple[Threshold, list[str]]:
    """The URGENT rule (the top of the list, a site's threshold or the
    model's) and the files to score: a calibration's labelled images are left
    out of the worklist, as their scores set its threshold."""
    threshold = _model_threshold(model.metadata)
    if top is not None:
        threshold = _flag_top_threshold(top)
    elif calibrate is not None:
        threshold, labelled = _calibrated_threshold(model, calibrate, inputs, n_jobs)
        files = [
            name for name in files if real(folder / name).resolve() not in labelled
        ]
    return threshold, files


@dataclass
class _Scores:
    """A folder's files as scored, gathered batch by batch: the ones read (by
    index in the file list), their class probabilities, what the drift check
    compares, and the files that could not be read."""

    read: list[int] = field(default_factory=list)
    parts: list[np.ndarray] = field(default_factory=list)
    looks: list[np.ndarray] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    hashes: list[tuple[str, str]] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)

    def score(
        self, model: LoadedModel, chunks: list[_Chunk], reasons: _Reasons | None
    ) -> None:
        """Score a batch's images, with their drift values and, when asked,
        why the URGENT ones scored high; a batch of unreadable files adds
        nothing."""
        if any(chunk.read for chunk in chunks):
            self.parts.append(_probabilities(model, chunks))
            self.looks.append(_drift_values(model, chunks))
            if reasons is not None:
                reasons.add(chunks, self.parts[-1])

    def proba(self, n_classes: int) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.zeros((0, n_classes))


def _score_folder(
    model: LoadedModel,
    folder: Path,
    files: list[str],
    inputs: _Inputs,
    n_jobs: int,
    spool: _Spool,
    reasons: _Reasons | None,
    write: Callable[[str], None],
    started: float,
) -> _Scores:
    """Score ``files`` as workers decode them, ``BATCH`` images per model
    call, their thumbnails kept in ``spool``: memory stays flat however many
    files there are. ``write`` hears the progress after each batch."""
    scores = _Scores()
    pending: list[_Chunk] = []
    done = 0
    for chunk in _chunks_of(folder, files, inputs, n_jobs):
        pending.append(chunk)
        scores.read.extend(chunk.read)
        scores.sizes.extend(chunk.sizes)
        scores.hashes.extend(chunk.hashes)
        for thumbnail in chunk.thumbnails:
            spool.add(thumbnail)
        scores.failures.extend(
            {"file": files[index], "reason": reason} for index, reason in chunk.failures
        )
        done += len(chunk.read) + len(chunk.failures)
        if sum(len(item.read) for item in pending) >= BATCH or done == len(files):
            scores.score(model, pending, reasons)
            pending.clear()
            write(_progress(done, len(files), started))
    return scores


def _with_cut(threshold: Threshold, table: pd.DataFrame) -> Threshold:
    """Under ``--flag-top``, the note with the score where the list was cut,
    known only once every image is scored."""
    if threshold.top is None:
        return threshold
    cut = threshold.used(table["melanoma_probability"].to_numpy())
    if np.isnan(cut):
        return threshold
    return replace(
        threshold, note=f"{threshold.note}; the lowest URGENT probability is {cut:.4f}"
    )


def _write_tables(
    out: Path,
    model: LoadedModel,
    threshold: Threshold,
    table: pd.DataFrame,
    unreadable: list[dict],
    drift_warning: str | None,
) -> None:
    """OUT/worklist.csv, OUT/unreadable.csv, OUT/model.json and a
    calibration's OUT/calibration_scores.csv, the files a
    site's own tools read."""
    _write_csv(out / WORKLIST, table)
    listing = pd.DataFrame(unreadable, columns=["file", "reason"])
    _write_csv(out / UNREADABLE, listing)
    if threshold.labelled is not None:
        _write_csv(out / CALIBRATION_SCORES, threshold.labelled)
    _write_model_copy(out, model, threshold, table, drift_warning)


def _write_page(
    path: Path,
    model: LoadedModel,
    folder: Path,
    rows: Iterator[dict[str, Any]],
    *,
    table: pd.DataFrame,
    unreadable: list[dict],
    threshold: Threshold,
    drift_warning: str | None,
    synthetic: str | None,
    explained: bool,
) -> None:
    """OUT/worklist.html: the worklist's ``rows`` with what the model is, how
    it set URGENT and, when the images are unlike its training images, not to
    trust its threshold."""
    from reports import write_worklist_html

    metadata = model.metadata
    write_worklist_html(
        path,
        rows,
        folder=str(folder),
        scored=len(table),
        urgent=int((table["flag"] == "URGENT").sum()),
        unreadable=unreadable,
        threshold=metadata["threshold"],
        model=metadata["model"],
        strategy=metadata["strategy"],
        training=metadata["training"],
        classes=metadata["classes"],
        positive=metadata["positive_class"],
        drift_warning=drift_warning,
        threshold_note=threshold.note,
        threshold_untrusted=threshold_untrusted(drift_warning, threshold),
        calibration_images=0 if threshold.labelled is None else len(threshold.labelled),
        in_training=int((table["in_training"] != "").sum()),
        calibration_file=CALIBRATION_SCORES,
        synthetic_warning=synthetic,
        explained=explained,
    )


def threshold_untrusted(drift_warning: str | None, threshold: Threshold) -> bool:
    """The model's own threshold scoring images unlike its training images:
    the case where a new site's list has flagged nearly everything."""
    return bool(drift_warning) and threshold.source == "model"
