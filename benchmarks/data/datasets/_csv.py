"""Read a metadata table (HAM10000 or ISIC Archive export) plus its image folder."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.core.errors import UserError
from benchmarks.data.datasets._manifest import SPLITS, FileEntry
from benchmarks.data.images import is_image_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CsvLayout:
    """Which columns hold the image id, the label and (optionally) group and split."""

    name: str
    id_column: str
    label_column: str
    group_column: str | None = None
    split_column: str | None = None


#: Image ids looked for before the whole table is read, spread over its rows;
#: under this share found, the table is refused. A table shorter than
#: MIN_CHECKED_IDS rows is read whole: its missing files are listed instead.
CHECKED_IDS = 500
MIN_CHECKED_IDS = 20
MIN_FOUND_SHARE = 0.05

# Known exports, tried in order; the first whose id and label columns exist wins.
KNOWN_LAYOUTS = (
    CsvLayout("ham10000", "image_id", "dx", group_column="lesion_id"),
    CsvLayout("isic-archive", "isic_id", "diagnosis", group_column="lesion_id"),
    CsvLayout("isic-archive", "isic_id", "diagnosis_1", group_column="lesion_id"),
    # Class names already in a 'label' column (derm7pt-dev: isic9's names).
    CsvLayout("labelled", "image_id", "label", group_column="lesion_id"),
)


def _read_table(path: Path, option: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0]
        raise UserError(f"{option} {path}: not a readable CSV ({reason})") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"{option} {path}: the CSV is empty") from None


def _choose_layout(
    table: pd.DataFrame,
    path: Path,
    id_column: str | None,
    label_column: str | None,
    group_column: str | None,
    option: str,
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
                f"{option} {path}: no column '{column}' (the {role}); columns found: "
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


def _first_of_each_id(
    table: pd.DataFrame, id_column: str, path: Path, option: str
) -> pd.DataFrame:
    """The table with each image id once: a repeated row would count an image
    twice in every fold and figure."""
    repeated = table[id_column].duplicated()
    if repeated.any():
        logger.warning(
            "%s %s: %d row(s) repeat an image id of an earlier row; each image is "
            "kept once, as its first row says",
            option,
            path,
            int(repeated.sum()),
        )
    return table[~repeated]


def _check_ids_name_files(
    ids: pd.Series, index: dict[str, Path], images: Path, path: Path, option: str
) -> None:
    """Refuse a table in which nearly no image id names a file: a wrong CSV,
    --images or --id-column, said in a second rather than after every row has
    been looked for."""
    if len(ids) < MIN_CHECKED_IDS:
        return
    rows = np.linspace(0, len(ids) - 1, min(len(ids), CHECKED_IDS)).astype(int)
    checked = ids.iloc[np.unique(rows)]
    found = sum(
        image_id in index or (images / image_id).is_file() for image_id in checked
    )
    if found < MIN_FOUND_SHARE * len(checked):
        raise UserError(
            f"{option} {path}: {found} of {len(checked)} image ids checked (such as "
            f"{checked.iloc[0]!r}) name a file under {images}; check the CSV, "
            "--images and --id-column"
        )


def csv_entries(
    path: Path,
    *,
    images: Path | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    group_column: str | None = None,
    option: str = "--data",
) -> tuple[list[FileEntry], str]:
    """One entry per table row, and the name of the layout that was recognised.

    A row whose image is missing still gets an entry (its path does not exist), so
    the audit reports it and loading skips it.
    """
    if not path.is_file():
        raise UserError(f"{option} {path}: no such file; check the path")
    images = images or path.parent
    if not images.is_dir():
        raise UserError(f"--images {images}: no such folder; check the path")
    table = _read_table(path, option)
    layout = _choose_layout(table, path, id_column, label_column, group_column, option)
    if table.empty:
        raise UserError(
            f"{option} {path}: a header and no rows; list one image per row "
            f"({layout.id_column}, {layout.label_column})"
        )
    if layout.split_column is not None:
        unknown = sorted(set(table[layout.split_column]) - set(SPLITS))
        if unknown:
            raise UserError(
                f"{option} {path}: column 'split' has {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(SPLITS)}"
            )
    table = _first_of_each_id(table, layout.id_column, path, option)
    index = _image_index(images)
    _check_ids_name_files(table[layout.id_column], index, images, path, option)
    entries = []
    for _, row in table.iterrows():
        image_id = row[layout.id_column]
        group = row[layout.group_column] if layout.group_column else ""
        path = index.get(image_id, images / image_id)
        # An id such as ../other/x.jpg or /etc/x.jpg is reported, never opened.
        outside = not Path(os.path.normpath(path)).is_relative_to(
            os.path.normpath(images)
        )
        label = row[layout.label_column].strip()
        error = ""
        if outside:
            error = "outside the image folder (--images); not opened"
        elif not label:
            # Reported and skipped like a missing file, never a class named ''.
            error = f"no label in column {layout.label_column!r}"
        entries.append(
            FileEntry(
                path=path,
                label=label,
                split=row[layout.split_column] if layout.split_column else "train",
                group=group or image_id,
                error=error,
            )
        )
    return entries, layout.name
