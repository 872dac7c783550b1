"""Dataset sources (folder, csv, synthetic); each yields the same Manifest."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from benchmarks.core.cache import cache_dir
from benchmarks.data.datasets._csv import csv_entries
from benchmarks.data.datasets._folder import folder_entries
from benchmarks.data.datasets._manifest import (
    COLUMNS,
    SPLITS,
    FileEntry,
    build_manifest,
    drop_unreadable,
    relative_path,
)
from benchmarks.data.datasets._registry import (
    INFO,
    DatasetInfo,
    count_differences,
    identify,
    is_subset,
)
from benchmarks.data.datasets._synthetic import (
    CLASS_NAMES,
    DEFAULT_TEST_COUNTS,
    DEFAULT_TRAIN_COUNTS,
    SHORTCUTS,
    SyntheticLesions,
    generate_lesions,
)
from benchmarks.data.datasets._synthetic_files import cached_synthetic, write_synthetic

__all__ = [
    "CLASS_NAMES",
    "COLUMNS",
    "DEFAULT_TEST_COUNTS",
    "DEFAULT_TRAIN_COUNTS",
    "INFO",
    "SHORTCUTS",
    "SPLITS",
    "DatasetInfo",
    "FileEntry",
    "SyntheticLesions",
    "build_manifest",
    "count_differences",
    "drop_unreadable",
    "generate_lesions",
    "identify",
    "load_manifest",
    "relative_path",
    "write_synthetic",
]

logger = logging.getLogger(__name__)

SYNTHETIC = "synthetic"


def load_manifest(
    data: str | Path = SYNTHETIC,
    *,
    images: str | Path | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    group_column: str | None = None,
    cache: str | Path | None = None,
    seed: int = 0,
    option: str = "--data",
) -> pd.DataFrame:
    """The Manifest of ``data``: 'synthetic', a folder, or a metadata .csv;
    errors name ``option``, the option that gave ``data``.

    Every file is listed, readable or not; ``drop_unreadable`` decides what to
    train on, and the audit reports the rest.
    """
    if str(data) == SYNTHETIC:
        root = cached_synthetic(cache_dir(cache), seed=seed)
        entries, name = folder_entries(root), SYNTHETIC
    else:
        root = Path(data)
        if root.suffix.lower() in (".csv", ".tsv") or root.is_file():
            entries, name = csv_entries(
                root,
                images=Path(images) if images else None,
                id_column=id_column,
                label_column=label_column,
                group_column=group_column,
                option=option,
            )
        else:
            entries = folder_entries(root, option)
            # A folder written by `data synth` says so; class names alone would
            # make it look like isic9.
            name = SYNTHETIC if (root / "synthetic.json").is_file() else "folder"
    manifest = build_manifest(
        entries, root=root if root.is_dir() else root.parent, source=name, cache=cache
    )
    info = INFO.get(name) or identify(manifest)
    manifest.attrs["dataset"] = info.name if info else name
    # One line at most, and none for a plain subset (a development sample).
    differences = count_differences(manifest, info) if info is not None else []
    if differences and not is_subset(manifest, info):
        logger.warning(
            "counts differ from the %s registry: %s",
            info.name,
            "; ".join(differences),
        )
    return manifest
