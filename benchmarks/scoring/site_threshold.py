"""Which URGENT threshold a triage uses: the model's own, one set on a new
site's labelled images (``--calibrate``), or the top of the list (``--flag-top``).

A threshold set on one archive's images need not hold at another clinic (at a
new site it has flagged nearly every image). A few dozen labelled images from
the site fix it the way ``train`` set the model's: the highest score that flags
the target share of the site's melanomas (benchmarks/scoring/threshold.py), its
specificity with a bootstrap interval that re-chooses the threshold in every
resample, so a small site sample shows as a wide interval.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.core.errors import UserError

CALIBRATION_COLUMNS = ("file", "label")
_TOP = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class CalibrationImages:
    """A site's labelled images: absolute paths and training class names."""

    csv: Path
    paths: list[Path]
    labels: np.ndarray


def read_calibration(
    csv: str | Path, classes: list[str], positive: str
) -> CalibrationImages:
    """The images and labels of a ``--calibrate`` CSV, checked: columns ``file``
    (absolute, or relative to the CSV's folder) and ``label`` (a training
    class), every file present, both melanomas and others among them."""
    csv = Path(csv)
    where = f"--calibrate {csv}"
    if not csv.is_file():
        raise UserError(f"{where}: no such file; pass a CSV with columns file,label")
    try:
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise UserError(
            f"{where}: not a readable CSV ({error}); save it as CSV"
        ) from None
    missing = [name for name in CALIBRATION_COLUMNS if name not in table.columns]
    if missing:
        raise UserError(
            f"{where}: no column {missing[0]!r}; columns found: "
            f"{', '.join(map(str, table.columns)) or 'none'}; it needs file,label"
        )
    if table.empty:
        raise UserError(f"{where}: no rows; list a few dozen labelled images")
    labels = table["label"].str.strip().to_numpy()
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise UserError(
            f"{where}: label {unknown[0]!r} is not a class of the model; use one "
            f"of {', '.join(classes)}"
        )
    n_positive = int((labels == positive).sum())
    if n_positive == 0 or n_positive == len(labels):
        kind = (
            f"no {positive} images"
            if n_positive == 0
            else f"only {positive} images, no other lesions"
        )
        raise UserError(
            f"{where}: {kind} among its {len(labels)}; a threshold needs both "
            f"{positive} and other lesions"
        )
    paths: list[Path] = []
    first_line: dict[Path, int] = {}
    for number, name in enumerate(table["file"], start=2):
        path = Path(name.strip())
        path = path if path.is_absolute() else csv.parent / path
        if not path.is_file():
            raise UserError(
                f"{where}: line {number}: {name!r} is not a file (relative "
                "paths are read from the CSV's folder)"
            )
        path = path.resolve()
        if path in first_line:
            raise UserError(
                f"{where}: line {number}: {name!r} is the image of line "
                f"{first_line[path]} again; list each image once, with one label"
            )
        first_line[path] = number
        paths.append(path)
    return CalibrationImages(csv, paths, labels)


def parse_flag_top(text: str | None) -> tuple[float, bool] | None:
    """``--flag-top N`` or ``PCT%``: (count or percent, is_percent)."""
    if text is None:
        return None
    match = _TOP.match(text)
    value = float(match.group(1)) if match else -1.0
    percent = bool(match and match.group(2))
    if (
        not match
        or value <= 0
        or (percent and value > 100)
        or (not percent and value != int(value))
    ):
        raise UserError(
            f"--flag-top {text}: give a whole number of images (such as 20) or "
            "a percentage of the scored images (such as 10%)"
        )
    return value, percent


def top_count(flag_top: tuple[float, bool], scored: int) -> int:
    """How many images ``--flag-top`` flags among ``scored`` (a percentage
    rounds up, so 10% of 5 images flags one)."""
    value, percent = flag_top
    wanted = math.ceil(round(value * scored / 100, 9)) if percent else int(value)
    return min(wanted, scored)
