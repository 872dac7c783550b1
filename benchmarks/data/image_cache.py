"""Decode each image once into one uint8 array per (dataset content, size), on
disk; and preprocess it once per preprocessing."""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.core.cache import cache_dir, cached, write_cached
from benchmarks.data.images import decode_resized

logger = logging.getLogger(__name__)

# Bump when decoding or resizing changes, so old arrays are not reused.
CACHE_VERSION = "1"


def cache_key(sha256s: pd.Series | list[str], size: int) -> str:
    """Content key: the ordered file hashes and the size, not paths or dates."""
    digest = hashlib.sha256(f"v{CACHE_VERSION}:{size}:".encode())
    for value in sha256s:
        digest.update(value.encode())
    return digest.hexdigest()[:24]


def images_path(
    sha256s: pd.Series | list[str], size: int, cache: str | Path | None = None
) -> Path:
    """Where ``load_images`` keeps the decoded images of these files at ``size``."""
    return cache_dir(cache) / f"images-{cache_key(sha256s, size)}.npy"


def preprocessed_path(images: str | Path, preprocessing: str) -> Path:
    """Where ``preprocessed_images`` keeps the cached array ``images``
    preprocessed so (beside it: same content, same key; the preprocessing
    by name and version)."""
    from benchmarks.data.preprocessing import get

    images = Path(images)
    name = get(preprocessing).cache_name
    return images.with_name(f"{images.stem}-{name}{images.suffix}")


def preprocessed_images(images: str | Path, preprocessing: str) -> np.ndarray:
    """The cached image array ``images`` with ``preprocessing`` applied, read-only.

    Why on disk: a preprocessing such as lesion-crop segments every image
    (about 12 s for isic9 at 48 px on one core), and each worker process of a
    run, and each later run, would otherwise do it again. A cache folder that
    cannot be written only costs the time.
    """
    if preprocessing == "none":
        return np.load(images, mmap_mode="r")
    from benchmarks.data.preprocessing import preprocess

    path = preprocessed_path(images, preprocessing)
    if cached(path):
        return np.load(path, mmap_mode="r")
    logger.info("preprocessing %s with %s", Path(images).name, preprocessing)
    array = preprocess(preprocessing, np.load(images, mmap_mode="r"))
    try:
        write_cached(path, lambda stream: np.save(stream, array))
    except OSError as error:
        logger.warning("could not cache %s (%s); computing it each time", path, error)
        array.flags.writeable = False
        return array
    return np.load(path, mmap_mode="r")


def decode_all(paths: list[str], size: int, n_jobs: int | None = None) -> np.ndarray:
    """Decode and resize ``paths`` into an (n, size, size, 3) uint8 array.

    Threads are enough: Pillow releases the GIL while decoding and resizing.
    """
    images = np.empty((len(paths), size, size, 3), dtype=np.uint8)

    def fill(index: int) -> None:
        images[index] = decode_resized(paths[index], size)

    with ThreadPoolExecutor(max_workers=n_jobs or os.cpu_count() or 1) as pool:
        list(pool.map(fill, range(len(paths))))
    return images


def load_images(
    manifest: pd.DataFrame,
    size: int,
    *,
    cache: str | Path | None = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """The images of ``manifest`` (in row order) as a read-only memory-mapped array.

    The first call decodes on all cores and stores ``images-<key>.npy`` in the
    cache folder; later calls with the same content and size read it back.

    Raises
    ------
    ValueError
        When the manifest still has unreadable rows (drop them first) or ``size``
        is out of range.
    """
    if not 8 <= size <= 2048:
        raise ValueError(f"size={size}: choose an image side from 8 to 2048 pixels")
    unreadable = manifest.loc[~manifest["readable"], "path"]
    if not unreadable.empty:
        raise ValueError(
            f"{len(unreadable)} unreadable row(s), e.g. {unreadable.iloc[0]}; "
            "pass the manifest through drop_unreadable() first"
        )
    path = images_path(manifest["sha256"], size, cache)
    if not cached(path):
        logger.info("decoding %d images at %dx%d", len(manifest), size, size)
        images = decode_all(list(manifest["path"]), size, n_jobs)
        write_cached(path, lambda stream: np.save(stream, images))
    return np.load(path, mmap_mode="r")
