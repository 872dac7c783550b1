"""CSV files a spreadsheet opens safely: a cell that would start a formula is
written as text (OWASP's rule for CSV injection).

Why: file names and labels come from the user's folders; a worklist row whose
file is named ``=HYPERLINK(...)`` must not run when a clinician opens it.
"""

from __future__ import annotations

import pandas as pd

#: What a spreadsheet reads as the start of a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _plain(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralised(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with each text cell that starts like a formula prefixed by a
    single quote, which spreadsheets show as text; numbers stay numbers."""
    out = table.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            out[column] = values.map(_plain)
    return out


def csv_bytes(table: pd.DataFrame) -> bytes:
    """The CSV of ``table`` (no index), safe to open in a spreadsheet."""
    return neutralised(table).to_csv(index=False).encode("utf-8")
