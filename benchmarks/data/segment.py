"""The lesion masks the handcrafted features read, written as PNGs and scored
against expert masks; and the share of masks that look unreliable, for the audit.

Every mask comes from ``features.lesion_mask`` on the image decoded as the
feature cache decodes it (squashed to ``FEATURE_SIZE``), so what ``segment``
writes and scores is what ``features``, ``run`` and ``triage`` measure.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from benchmarks.core.cache import cache_dir, cached, write_cached
from benchmarks.core.errors import UserError
from benchmarks.data.feature_cache import FEATURE_SIZE
from benchmarks.data.images import UnreadableImage, decode_resized, is_image_name
from models.machine import SERIAL_BELOW, map_chunks, single_threaded_opencv

logger = logging.getLogger(__name__)

#: The ISIC 2018 challenge's cut: a mask below this Jaccard index has failed.
FAILED_JACCARD = 0.65
#: Expert mask names tried for an image ``<stem>``, in this order.
TRUTH_NAMES = ("{stem}_segmentation.png", "{stem}_lesion.png", "{stem}.png")
#: An expert mask whose width / height differs from its image's by more than
#: this share outlines another picture; within it, it is resized to the image.
TRUTH_ASPECT_TOLERANCE = 0.02
#: The table ``segment`` writes beside the masks.
TABLE = "segment.csv"
#: EXIF orientations that turn the picture a quarter: width and height swap.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})
_ORIENTATION_TAG = 0x0112
#: Side the audit segments at: the features' 180 px cost a cold audit of
#: isic9 about 5 s more, for the same share of unreliable masks (docs/features.md).
MASK_AUDIT_SIZE = 120


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted; a UserError if none."""
    if not folder.is_dir():
        raise UserError(f"--images {folder}: no such folder; name a folder of images")
    files = sorted(p for p in folder.iterdir() if p.is_file() and is_image_name(p))
    if not files:
        raise UserError(
            f"--images {folder}: no .jpg, .png or other image files in it; name "
            "the folder that holds the images"
        )
    return files


def truth_file(folder: Path, stem: str) -> Path | None:
    """The expert mask of image ``stem`` in ``folder`` (``TRUTH_NAMES``), if any."""
    for pattern in TRUTH_NAMES:
        path = folder / pattern.format(stem=stem)
        if path.is_file():
            return path
    return None


def _upright_size(path: Path) -> tuple[int, int]:
    """(width, height) of the picture as decoded, EXIF rotation applied."""
    with Image.open(path) as image:
        width, height = image.size
        if image.getexif().get(_ORIENTATION_TAG) in _QUARTER_TURNS:
            return height, width
    return width, height


class UnusableTruth(Exception):
    """An expert mask that cannot be read or does not fit its image: that
    image goes unscored, the others are scored."""


def _read_truth(path: Path, size: tuple[int, int]) -> np.ndarray:
    """Lesion where the expert mask's grey value is >= 128, at ``size``."""
    try:
        with Image.open(path) as image:
            grey = image.convert("L")
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise UnusableTruth(f"not a readable mask image ({error})") from None
    width, height = grey.size
    if abs((width / height) / (size[0] / size[1]) - 1) > TRUTH_ASPECT_TOLERANCE:
        raise UnusableTruth(
            f"{width}x{height}, not the shape of its {size[0]}x{size[1]} image"
        )
    if grey.size != size:
        grey = grey.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(grey) >= 128


def scores(mask: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(Jaccard, Dice) of two bool masks; two empty masks agree fully."""
    intersection = float(np.count_nonzero(mask & truth))
    union = float(np.count_nonzero(mask | truth))
    total = float(np.count_nonzero(mask) + np.count_nonzero(truth))
    if union == 0:
        return 1.0, 1.0
    return intersection / union, 2.0 * intersection / total


def at_size(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A square feature mask back at the image's own (width, height), smoothly."""
    resized = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    return resized >= 0.5


def _segment_one(path: Path, out: Path, truth: Path | None) -> dict:
    from features import lesion_mask, mask_unreliable

    try:
        image = decode_resized(path, FEATURE_SIZE)
        size = _upright_size(path)
    except (UnreadableImage, OSError) as error:
        return {"image": path.name, "error": str(error)}
    _, mask, fallback = lesion_mask(np.ascontiguousarray(image))
    full = at_size(mask, size)
    Image.fromarray(full.astype(np.uint8) * 255).save(out / f"{path.stem}.png")
    row = {
        "image": path.name,
        "width": size[0],
        "height": size[1],
        "area_fraction": float(full.mean()),
        "fallback": bool(fallback),
        "unreliable": mask_unreliable(mask, fallback),
        "error": "",
    }
    if truth is not None:
        row["truth"] = truth.name
        try:
            row["jaccard"], row["dice"] = scores(full, _read_truth(truth, size))
            row["truth_error"] = ""
        except UnusableTruth as error:
            row["jaccard"] = row["dice"] = float("nan")
            row["truth_error"] = str(error)
    return row


def _segment_chunk(
    paths: list[Path], truths: list[Path | None], out: Path
) -> list[dict]:
    with single_threaded_opencv():
        return [_segment_one(p, out, t) for p, t in zip(paths, truths, strict=True)]


def segment_folder(
    images: Path, out: Path, truth: Path | None = None, *, n_jobs: int | None = None
) -> pd.DataFrame:
    """Write each image's feature mask to ``out/<stem>.png`` (255 lesion, 0
    background, at the image's own size); one row per image, with its Jaccard
    and Dice against ``truth``'s expert mask where given and found."""
    files = image_files(images)
    if truth is not None and not truth.is_dir():
        raise UserError(
            f"--truth {truth}: no such folder; name the folder of the expert masks"
        )
    refuse_overwrites(files, out, images, truth)
    truths = [truth_file(truth, p.stem) if truth else None for p in files]
    if truth is not None and not any(truths):
        names = " or ".join(TRUTH_NAMES)
        raise UserError(
            f"--truth {truth}: no mask for any image (looked for {names}); name the "
            "folder of the expert masks of these images"
        )
    parts = map_chunks(
        _segment_chunk, (files, truths), n_jobs=n_jobs, extra=(out,), max_chunk=64
    )
    return pd.DataFrame([row for part in parts for row in part])


def refuse_overwrites(
    files: list[Path], out: Path, images: Path, truth: Path | None
) -> None:
    """Refuse, before writing anything, an ``out`` that is the images' or the
    expert masks' folder, or that holds a file of the same name as one this
    run writes that no earlier ``segment`` wrote there: masks never replace
    a user's images or masks."""
    for option, folder in (("--images", images), ("--truth", truth)):
        if folder is not None and out.resolve() == folder.resolve():
            raise UserError(
                f"--out {out}: the {option} folder; masks would replace its "
                "files, choose another folder"
            )
    ours = _written_before(out)
    for name in [f"{path.stem}.png" for path in files] + [TABLE]:
        if (out / name).exists() and name not in ours:
            raise UserError(
                f"--out {out}: holds {name}, which segment did not write there; "
                "choose an empty or new folder (nothing was changed)"
            )


def _written_before(out: Path) -> set[str]:
    """The files an earlier ``segment`` wrote in ``out``, from its table."""
    try:
        table = pd.read_csv(out / TABLE, usecols=["image", "error"], dtype=str)
    except (OSError, ValueError, pd.errors.ParserError):
        return set()
    written = table.loc[table["error"].fillna("") == "", "image"].dropna()
    return {TABLE} | {f"{Path(name).stem}.png" for name in written}


def summary(table: pd.DataFrame) -> str:
    """One line: masks written, unreliable ones and, against experts, Jaccard's
    mean and median, Dice's mean and the share below ``FAILED_JACCARD``."""
    written = table[table["error"] == ""]
    if written.empty:
        return f"no masks written: all {len(table)} images were unreadable"
    line = (
        f"{len(written)} masks written, {int(written['unreliable'].sum())} look "
        f"unreliable ({written['unreliable'].mean():.1%}), "
        f"{int(written['fallback'].sum())} fell back to the centred ellipse"
    )
    if "jaccard" in written:
        scored = written["jaccard"].dropna()
        reasons = written.get("truth_error", pd.Series("", index=written.index))
        unusable = int((reasons.fillna("") != "").sum())
        if unusable:
            line += f"; {unusable} expert masks unusable (segment.csv says why)"
        if len(scored):
            line += (
                f"; against {len(scored)} expert masks: Jaccard mean "
                f"{scored.mean():.3f}, median {scored.median():.3f}, "
                f"{(scored < FAILED_JACCARD).mean():.1%} below {FAILED_JACCARD}; "
                f"Dice mean {written['dice'].dropna().mean():.3f}"
            )
    return line


def _unreliable_chunk(images: np.ndarray) -> list[bool]:
    from features import lesion_mask, mask_unreliable

    flags = []
    with single_threaded_opencv():
        for image in images:
            _, mask, fallback = lesion_mask(np.ascontiguousarray(image))
            flags.append(mask_unreliable(mask, fallback))
    return flags


def mask_audit(images: np.ndarray, *, n_jobs: int | None = None) -> dict:
    """How many of the masks of ``images`` look unreliable: the asymmetry and
    border figures of those images rest on a wrong outline."""
    parts = map_chunks(
        _unreliable_chunk,
        (images,),
        n_jobs=n_jobs,
        max_chunk=64,
        serial_below=SERIAL_BELOW,
    )
    flags = [flag for part in parts for flag in part]
    return {
        "images": len(flags),
        "unreliable": int(sum(flags)),
        "unreliable_share": float(np.mean(flags)) if flags else 0.0,
    }


def audit_masks(
    manifest: pd.DataFrame, *, cache: str | None = None, n_jobs: int | None = None
) -> dict:
    """``mask_audit`` of the readable images of a manifest, segmented as the
    features are but at ``MASK_AUDIT_SIZE``; the figures are cached by the
    images' contents and the extractor's version, so a second audit of
    unchanged data segments nothing."""
    from benchmarks.data.image_cache import load_images

    readable = manifest[manifest["readable"]].reset_index(drop=True)
    if readable.empty:
        side = MASK_AUDIT_SIZE
        return mask_audit(np.zeros((0, side, side, 3), np.uint8))
    from features import EXTRACTOR_VERSION

    digest = hashlib.sha256(f"masks:{EXTRACTOR_VERSION}:{MASK_AUDIT_SIZE}:".encode())
    for sha256 in sorted(readable["sha256"].astype(str)):
        digest.update(f"{sha256};".encode())
    path = cache_dir(cache) / f"masks-{digest.hexdigest()[:24]}.json"
    if cached(path):
        try:
            return json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            logger.warning("cached mask figures %s unreadable; segmenting again", path)
    images = load_images(readable, MASK_AUDIT_SIZE, cache=cache, n_jobs=n_jobs)
    facts = mask_audit(np.asarray(images), n_jobs=n_jobs)
    text = json.dumps(facts)
    try:
        write_cached(path, lambda stream: stream.write(text.encode("utf-8")))
    except OSError as error:  # a read-only cache costs the next audit the time
        logger.warning("mask figures not cached (%s)", error)
    return facts


def audit_line(facts: dict) -> str:
    """The audit's line on the masks: count and share that look unreliable."""
    return (
        f"{'lesion masks that look unreliable':<44}{facts['unreliable']:>6} "
        f"({facts['unreliable_share']:.1%} of {facts['images']}: the fallback, "
        "almost none or all of the frame, or most of its edge)"
    )
