"""Compute handcrafted features once per (data content, image size, extractor) and
keep them as Parquet beside the image cache."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from benchmarks.core.cache import cache_dir, cached, write_cached
from benchmarks.data.image_cache import cache_key, load_images
from benchmarks.data.preprocessing import get, preprocess

if TYPE_CHECKING:
    from features import HandcraftedFeatures

logger = logging.getLogger(__name__)

FEATURE_SIZE = 180


def _key(
    manifest: pd.DataFrame,
    size: int,
    extractor: HandcraftedFeatures,
    preprocessing: str,
) -> str:
    from features import EXTRACTOR_VERSION

    settings = f"{EXTRACTOR_VERSION}:{extractor.remove_hair}:{extractor.groups}"
    if preprocessing != "none":  # keeps the keys of tables made before
        settings += f":{get(preprocessing).cache_name}"
    images = cache_key(manifest["sha256"], size)
    return hashlib.sha256(f"{images}:{settings}".encode()).hexdigest()[:24]


def features_path(
    manifest: pd.DataFrame,
    *,
    size: int = FEATURE_SIZE,
    extractor: HandcraftedFeatures | None = None,
    cache: str | Path | None = None,
    preprocessing: str = "none",
) -> Path:
    """Where ``load_features`` keeps the feature table of ``manifest``."""
    from features import HandcraftedFeatures

    extractor = extractor or HandcraftedFeatures()
    key = _key(manifest, size, extractor, preprocessing)
    return cache_dir(cache) / f"features-{key}.parquet"


def load_features(
    manifest: pd.DataFrame,
    *,
    size: int = FEATURE_SIZE,
    extractor: HandcraftedFeatures | None = None,
    cache: str | Path | None = None,
    preprocessing: str = "none",
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """The feature table of ``manifest`` (one row per manifest row, same order),
    computed on its images after ``preprocessing``.

    Extraction (and decoding) runs in ``n_jobs`` processes the first time (None:
    all cores; a given ``extractor`` keeps its own); later calls read
    ``features-<key>.parquet`` from the cache folder.
    """
    # Imported here, not at module level: the command line reads FEATURE_SIZE
    # while building its parser, and every command would pay for the import.
    from features import HandcraftedFeatures

    extractor = extractor or HandcraftedFeatures(n_jobs=n_jobs)
    path = features_path(
        manifest,
        size=size,
        extractor=extractor,
        cache=cache,
        preprocessing=preprocessing,
    )
    if cached(path):
        return pd.read_parquet(path)
    images = preprocess(
        preprocessing,
        np.asarray(load_images(manifest, size, cache=cache, n_jobs=n_jobs)),
    )
    logger.info("extracting features of %d images at %d px", len(images), size)
    values = extractor.fit_transform(np.asarray(images))
    table = pd.DataFrame(values, columns=extractor.get_feature_names_out())
    logger.info(
        "segmentation fell back to a centred ellipse on %.1f%% of images",
        100 * extractor.segmentation_fallback_rate_,
    )
    table.attrs["segmentation_fallback_rate"] = extractor.segmentation_fallback_rate_
    write_cached(path, lambda stream: table.to_parquet(stream, index=False))
    return table
