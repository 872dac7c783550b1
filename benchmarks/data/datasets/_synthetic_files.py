"""Write the synthetic lesions to disk in the isic9 folder layout, masks alongside."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from filelock import FileLock
from PIL import Image

from benchmarks.core.errors import UserError
from benchmarks.data.datasets._synthetic import (
    DEFAULT_TEST_COUNTS,
    DEFAULT_TRAIN_COUNTS,
    generate_lesions,
)

# Bump when the generator's pictures change, so cached copies are regenerated.
GENERATOR_VERSION = "1"
_SPLIT_FOLDERS = {"train": "Train", "test": "Test"}


def _write_split(
    out: Path,
    split: str,
    counts: Mapping[str, int],
    size: int,
    hair: bool,
    seed: int,
    shortcut: str | None,
) -> None:
    # Test draws from its own seed stream so it never repeats a Train image.
    lesions = generate_lesions(
        counts,
        size=size,
        hair=hair,
        seed=seed if split == "train" else seed + 1,
        shortcut=shortcut,
    )
    folder = _SPLIT_FOLDERS[split]
    numbers: dict[str, int] = {}
    for image, mask, label in zip(
        lesions.images, lesions.masks, lesions.labels, strict=True
    ):
        numbers[label] = numbers.get(label, 0) + 1
        stem = f"SYN_{split}_{label.replace(' ', '_')}_{numbers[label]:04d}"
        image_path = out / folder / label / f"{stem}.jpg"
        mask_path = out / "masks" / folder / label / f"{stem}.png"
        image_path.parent.mkdir(parents=True, exist_ok=True)
        mask_path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(image_path, quality=95)
        Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path)


def write_synthetic(
    out: Path,
    *,
    train_counts: Mapping[str, int] = DEFAULT_TRAIN_COUNTS,
    test_counts: Mapping[str, int] = DEFAULT_TEST_COUNTS,
    size: int = 128,
    hair: bool = True,
    seed: int = 0,
    shortcut: str | None = None,
) -> Path:
    """Write ``out/Train/<class>/*.jpg``, ``out/Test/...`` and true masks under
    ``out/masks/``; the folder loader reads it like isic9.

    ``shortcut`` ties an acquisition cue to melanoma (see ``generate_lesions``);
    synthetic.json records it only when set, so plain sets are unchanged.

    Raises
    ------
    UserError
        When ``out`` exists and is not empty: we never write over a user's files.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out}: exists and is not empty; choose a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        _write_split(staging, "train", train_counts, size, hair, seed, shortcut)
        _write_split(staging, "test", test_counts, size, hair, seed, shortcut)
        description = {
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "size": size,
            "hair": hair,
            "train_counts": dict(train_counts),
            "test_counts": dict(test_counts),
        }
        if shortcut is not None:
            description["shortcut"] = shortcut
        (staging / "synthetic.json").write_text(json.dumps(description, indent=2))
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def cached_synthetic(cache: Path, *, seed: int = 0, size: int = 128) -> Path:
    """The default synthetic set, generated once into the cache and reused."""
    key = hashlib.sha256(
        json.dumps(
            [GENERATOR_VERSION, seed, size, DEFAULT_TRAIN_COUNTS, DEFAULT_TEST_COUNTS]
        ).encode()
    ).hexdigest()[:16]
    folder = cache / "synthetic" / key
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Two runs starting on a fresh cache: one writes, the other waits for it.
    with FileLock(folder.parent / f"{key}.lock"):
        if not (folder / "synthetic.json").exists():
            shutil.rmtree(folder, ignore_errors=True)
            write_synthetic(folder, seed=seed, size=size)
    return folder
