"""Label names across sources: HAM10000's dx codes, ISIC Archive spellings and
a user's own map, all read as the isic9 class names.

Why one module: an external set and a second ``--data`` source both need
their labels in the training classes' words before anything is compared.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.core.errors import UserError

#: Diagnosis codes and common spellings of HAM10000 and ISIC Archive exports ->
#: the isic9 class names. HAM's akiec also holds Bowen's disease.
LABEL_MAP: dict[str, str] = {
    "mel": "melanoma",
    "melanoma": "melanoma",
    "nv": "nevus",
    "nevus": "nevus",
    "naevus": "nevus",
    "melanocytic nevus": "nevus",
    "bcc": "basal cell carcinoma",
    "basal cell carcinoma": "basal cell carcinoma",
    "bkl": "pigmented benign keratosis",
    "benign keratosis": "pigmented benign keratosis",
    "pigmented benign keratosis": "pigmented benign keratosis",
    "akiec": "actinic keratosis",
    "ak": "actinic keratosis",
    "actinic keratosis": "actinic keratosis",
    "df": "dermatofibroma",
    "dermatofibroma": "dermatofibroma",
    "vasc": "vascular lesion",
    "vascular lesion": "vascular lesion",
    "scc": "squamous cell carcinoma",
    "squamous cell carcinoma": "squamous cell carcinoma",
    "seborrheic keratosis": "seborrheic keratosis",
}


def map_labels(
    labels: pd.Series, classes: tuple[str, ...], extra: dict[str, str] | None = None
) -> pd.Series:
    """Each label as a training class where a map knows it (``extra`` first,
    then ``LABEL_MAP``), else as it is."""
    known = set(classes)
    table = {
        **LABEL_MAP,
        **{key.lower(): value for key, value in (extra or {}).items()},
    }

    def mapped(label: str) -> str:
        if label in known:
            return label
        return table.get(label.strip().lower(), label)

    return labels.astype(str).map(mapped)


def read_label_map(path: str | Path) -> dict[str, str]:
    """``--label-map FILE``: a CSV of two columns, external label -> class."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, header=None)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise UserError(f"--label-map {path}: not a readable CSV ({error})") from None
    if table.shape[1] != 2:
        raise UserError(
            f"--label-map {path}: {table.shape[1]} columns; write two, the external "
            "label and the training class"
        )
    return dict(zip(table[0].str.strip(), table[1].str.strip(), strict=True))
