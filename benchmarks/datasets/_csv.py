"""Read a metadata table (HAM10000 or ISIC Archive export) plus its image folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmarks.datasets._manifest import SPLITS, FileEntry
from benchmarks.errors import UserError
from benchmarks.images import is_image_name


@dataclass(frozen=True)
class CsvLayout:
    """Which columns hold the image id, the label and (optionally) group and split."""

    name: str
    id_column: str
    label_column: str
    group_column: str | None = None
    split_column: str | None = None


# Known exports, tried in order; the first whose id and label columns exist wins.
KNOWN_LAYOUTS = (
    CsvLayout("ham10000", "image_id", "dx", group_column="lesion_id"),
    CsvLayout("isic-archive", "isic_id", "diagnosis", group_column="lesion_id"),
    CsvLayout("isic-archive", "isic_id", "diagnosis_1", group_column="lesion_id"),
    CsvLayout("derm7pt", "image_id", "label", group_column="lesion_id"),
)


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0]
        raise UserError(f"--data {path}: not a readable CSV ({reason})") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"--data {path}: the CSV is empty") from None


def _choose_layout(
    table: pd.DataFrame,
    path: Path,
    id_column: str | None,
    label_column: str | None,
    group_column: str | None,
) -> CsvLayout:
    columns = list(table.columns)
    if id_column is None and label_column is None:
        for layout in KNOWN_LAYOUTS:
            if {layout.id_column, layout.label_column} <= set(columns):
                group = group_column or layout.group_column
                return CsvLayout(
                    layout.name,
                    layout.id_column,
                    layout.label_column,
                    group if group in columns else None,
                    "split" if "split" in columns else None,
                )
    layout = CsvLayout(
        "csv",
        id_column or KNOWN_LAYOUTS[0].id_column,
        label_column or KNOWN_LAYOUTS[0].label_column,
        group_column,
        "split" if "split" in columns else None,
    )
    for role, column, option in (
        ("image id", layout.id_column, "--id-column"),
        ("label", layout.label_column, "--label-column"),
        ("group", layout.group_column, "--group-column"),
    ):
        if column is not None and column not in columns:
            raise UserError(
                f"--data {path}: no column '{column}' (the {role}); columns found: "
                f"{', '.join(columns)}; pass {option} NAME"
            )
    return layout


def _image_index(images: Path) -> dict[str, Path]:
    """Map each image's file stem to its path, searching sub-folders too
    (HAM10000 ships its images in two part folders)."""
    index: dict[str, Path] = {}
    for path in sorted(images.rglob("*")):
        if path.is_file() and is_image_name(path):
            index.setdefault(path.stem, path)
    return index


def csv_entries(
    path: Path,
    *,
    images: Path | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    group_column: str | None = None,
) -> tuple[list[FileEntry], str]:
    """One entry per table row, and the name of the layout that was recognised.

    A row whose image is missing still gets an entry (its path does not exist), so
    the audit reports it and loading skips it.
    """
    if not path.is_file():
        raise UserError(f"--data {path}: no such file; check the path")
    images = images or path.parent
    if not images.is_dir():
        raise UserError(f"--images {images}: no such folder; check the path")
    table = _read_table(path)
    layout = _choose_layout(table, path, id_column, label_column, group_column)
    if table.empty:
        raise UserError(
            f"--data {path}: a header and no rows; list one image per row "
            f"({layout.id_column}, {layout.label_column})"
        )
    if layout.split_column is not None:
        unknown = sorted(set(table[layout.split_column]) - set(SPLITS))
        if unknown:
            raise UserError(
                f"--data {path}: column 'split' has {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(SPLITS)}"
            )
    index = _image_index(images)
    entries = []
    for _, row in table.iterrows():
        image_id = row[layout.id_column]
        group = row[layout.group_column] if layout.group_column else ""
        path = index.get(image_id, images / image_id)
        # An id such as ../other/x.jpg or /etc/x.jpg is reported, never opened.
        outside = not Path(os.path.normpath(path)).is_relative_to(
            os.path.normpath(images)
        )
        entries.append(
            FileEntry(
                path=path,
                label=row[layout.label_column],
                split=row[layout.split_column] if layout.split_column else "train",
                group=group or image_id,
                error="outside the image folder (--images); not opened"
                if outside
                else "",
            )
        )
    return entries, layout.name
