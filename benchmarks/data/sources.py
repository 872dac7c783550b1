"""Several sources in one run: each image keeps the name of the source it came
from, and every source's labels are read as one set of class names.

Why: a model trained on one archive can learn that archive's camera instead of
the lesion. Scoring each source by models trained on the others
(``--cv leave-source-out``) measures what carries over to the next clinic.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from benchmarks.core.errors import UserError
from benchmarks.data.datasets import SYNTHETIC, load_manifest
from benchmarks.data.labels import map_labels

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def named_path(text: str, option: str) -> tuple[str, str]:
    """``[NAME=]PATH`` as (name, path); without a name, the folder's (a CSV's
    folder for a CSV), the current folder's for ``meta.csv`` or ``.``."""
    name, equals, path = text.partition("=")
    if not equals:
        path = text
        where = Path(os.path.abspath(text))
        name = (
            where.parent if where.suffix.lower() in (".csv", ".tsv") else where
        ).name
    if not _NAME.match(name):
        raise UserError(
            f"{option} {text}: name it NAME=PATH with a plain name (ASCII "
            "letters and digits, '-', '_', '.'), such as ham=metadata.csv"
        )
    return name, path


def source_names(data: tuple[str, ...]) -> list[str]:
    """The name of each ``--data`` source, in order; refuses a name given twice."""
    names = [named_path(text, "--data")[0] for text in data]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UserError(
            f"--data {repeated[0]}: two sources have this name; give each its own "
            "NAME=PATH"
        )
    return names


def _root(manifest: pd.DataFrame) -> str:
    return manifest.attrs.get("root") or os.path.dirname(manifest["path"].iloc[0])


def load_sources(
    data: tuple[str, ...],
    *,
    label_map: dict[str, str] | None = None,
    cache: str | Path | None = None,
    seed: int = 0,
    **columns: str | None,
) -> pd.DataFrame:
    """One Manifest of every ``--data`` source, with a ``source`` column.

    With several sources every label is read through the shared label map (a
    HAM10000 'mel' and an isic9 'melanoma' are one class), groups are kept
    within their source, paths are kept
    relative to the sources' common folder, and ``attrs['dataset']`` joins the
    sources' names. ``columns`` are the CSV options, the same for every CSV.
    """
    names = source_names(data)
    parts = []
    for name, text in zip(names, data, strict=True):
        path = named_path(text, "--data")[1]
        part = load_manifest(path, cache=cache, seed=seed, **columns)
        part["source"] = name
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    for name, part in zip(names, parts, strict=True):
        part["label"] = map_labels(part["label"], (), label_map)
        # A group is a file name or a lesion id within its source; copies
        # across sources are joined by the audit's hashes.
        part["group"] = name + ":" + part["group"].astype(str)
    roots = [_root(part) for part in parts]
    combined = pd.concat(parts, ignore_index=True)
    combined.attrs.update(
        root=os.path.commonpath([os.path.abspath(root) for root in roots]),
        dataset="+".join(names),
        sources=names,
    )
    combined["path"] = combined["path"].map(os.path.abspath)
    return combined


def is_synthetic(data: tuple[str, ...]) -> bool:
    return any(named_path(text, "--data")[1] == SYNTHETIC for text in data)
