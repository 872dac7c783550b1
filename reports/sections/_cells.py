"""How the report's tables print a figure: three decimals, "-" where undefined,
a 95% interval beside it, and the value its column sorts by."""

from __future__ import annotations

import math

import pandas as pd


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _sortable(value: float | None) -> str:
    return "" if value is None or pd.isna(value) else repr(float(value))


def _cell(value: float | None, interval: tuple[float, float] | None) -> dict:
    """A table cell: the figure, its 95% interval shown on a line of its own
    (so a narrow column wraps between them, not inside the interval), and the
    value it sorts by."""
    shown = None
    if interval is not None and value is not None and not pd.isna(value):
        shown = f" [{_number(interval[0])}, {_number(interval[1])}]"
    return {"text": _number(value), "ci": shown, "sort": _sortable(value)}


def _interval(value: float | None, interval: tuple[float, float] | None) -> str:
    if interval is None or value is None or pd.isna(value):
        return _number(value)
    return f"{_number(value)} [{_number(interval[0])}, {_number(interval[1])}]"
