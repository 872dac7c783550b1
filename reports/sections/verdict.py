"""The verdict: the first screen. At most three lines (the configuration to
use, whether its figure carries over, the CNN against the handcrafted
features), each linking to its section, and one figure of every family's best
configuration: melanoma AUC in cross-validation and on each external set or
held-out source, and the train-val gap."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from benchmarks.analysis.verdict import verdict
from benchmarks.grid.plan import plugins
from benchmarks.grid.record import TrialRecord
from benchmarks.grid.store import RunStore
from benchmarks.scoring.metrics import summarize
from reports._figures import _best_per_family, _label, _png, colours, plt
from reports._section import Section
from reports._tables import RunTables

#: One marker per external set or held-out source, after cross-validation's dot.
SET_MARKERS = ("s", "^", "D", "v", "P", "X", "h", "<")
#: The figure's height in inches at most: with the verdict above it, the whole
#: figure fits a 1400x900 window for up to 12 families.
MAX_HEIGHT = 5.0
BEST_BAND = "#eaf6ea"
#: The heading of the part of the page each verdict line links to.
LINKS = {
    "leaderboard": "Leaderboard",
    "generalization": "Generalization",
    "leave-source-out": "Leave-source-out",
    "overfitting": "Overfitting",
    "findings-families": "Findings",
}


def _sets(tables: RunTables, configuration: str) -> list[tuple[str, float, tuple]]:
    """(name, melanoma AUC, 95% interval or None) on each held-out source, then
    each external set, of one configuration."""
    found = []
    for table, column in (
        (tables.held_out, "held_out"),
        (tables.generalization, "external"),
    ):
        if table.empty:
            continue
        rows = table[table["configuration"] == configuration]
        for row in rows.to_dict("records"):
            auc = row["melanoma_auc"]
            if auc is not None and not pd.isna(auc):
                found.append((str(row[column]), float(auc), row["melanoma_auc_ci"]))
    return found


def _gap(records: list[TrialRecord], configuration: str) -> dict:
    return summarize(
        [
            record.gap["balanced_accuracy"]
            for record in records
            if not record.is_final and str(record.configuration) == configuration
        ]
    )


def _errorbar(axis, x: float, y: float, interval, bounds=(0.0, 1.0), **style) -> None:
    """A point and, where known, its interval as a horizontal bar, within
    ``bounds``: what the quantity can be ([0, 1] for an AUC, [-1, 1] for a
    train-validation gap, which is negative where validation scored higher)."""
    error = None
    if interval is not None and not any(pd.isna(value) for value in interval):
        # A t interval over few folds can reach past the bounds; the figure cannot.
        low, high = max(interval[0], bounds[0]), min(interval[1], bounds[1])
        error = [[max(x - low, 0.0)], [max(high - x, 0.0)]]
    axis.errorbar(x, y, xerr=error, capsize=2, elinewidth=1.2, **style)


def _auc_row(
    axis, y: float, row: pd.Series, sets: list, places: dict[str, tuple], colour
) -> float:
    """One family's melanoma AUC: the cross-validation dot and, joined to it,
    each set's open marker (``places``: name -> (y offset, marker)); the
    lowest point drawn."""
    low = 1.0
    cv = row["melanoma_auc_mean"]
    known = cv is not None and not pd.isna(cv)
    start = y + places[None][0]
    if known:
        interval = (row["melanoma_auc_ci_low"], row["melanoma_auc_ci_high"])
        _errorbar(axis, cv, start, interval, fmt="o", color=colour)
        low = cv
    for name, auc, interval in sets:
        offset, marker = places[name]
        if known:
            axis.plot([cv, auc], [start, y + offset], color=colour, alpha=0.6)
        _errorbar(
            axis,
            auc,
            y + offset,
            interval,
            fmt=marker,
            color=colour,
            markerfacecolor="white",
        )
        low = min(low, auc if interval is None else interval[0])
    return low


def _axes_labels(auc_axis, gap_axis, rows: list[str], best: set[str]) -> None:
    auc_axis.axvline(0.5, color="0.5", linestyle="--", linewidth=1)
    auc_axis.set_yticks(
        range(len(rows)),
        [f"\u2605 {row}" if row in best else row for row in rows],
    )
    for label, row in zip(auc_axis.get_yticklabels(), rows, strict=True):
        if row in best:
            label.set_fontweight("bold")
    auc_axis.set_ylim(len(rows) - 0.5, -0.5)
    auc_axis.set_xlabel("melanoma AUC, 95% CI (dashed: chance)")
    auc_axis.grid(axis="x", alpha=0.3)
    gap_axis.axvline(0.0, color="0.5", linewidth=1)
    gap_axis.set_xlabel("train - val balanced accuracy")
    gap_axis.grid(axis="x", alpha=0.3)
    gap_axis.set_title("Overfitting", fontsize=10)


def _legend(axis, places: dict[str | None, tuple], cv_name: str) -> None:
    """The markers' key above the AUC panel, in one row."""
    handles = [
        axis.scatter(
            [],
            [],
            marker=marker,
            facecolor="0.3" if name is None else "white",
            edgecolor="0.3",
            label=cv_name if name is None else name,
        )
        for name, (_, marker) in places.items()
    ]
    axis.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=len(handles),
        frameon=False,
        fontsize=9,
        handletextpad=0.3,
        columnspacing=1.0,
    )


def summary_chart(tables: RunTables) -> str:
    """Every family's best configuration (rows): melanoma AUC with its 95%
    interval in cross-validation (dots) and on each external set or held-out
    source (open markers, joined to the dot: the drop), and the train-val
    gap in balanced accuracy; the run's best configuration banded and starred."""
    board = tables.leaderboard.set_index("configuration")
    rows = [_label(model, strategy) for model, strategy in _best_per_family(tables)]
    best = set(tables.leaderboard.loc[tables.leaderboard["best"], "configuration"])
    sets = {row: _sets(tables, row) for row in rows}
    found = {name for listed in sets.values() for name, _, _ in listed}
    names = [
        name
        for name in (*tables.info.sources, *tables.info.external_names)
        if name in found
    ]
    # Cross-validation (None) first, then each set, spread over the row.
    offsets = np.linspace(-0.28, 0.28, len(names) + 1)
    markers = itertools.cycle(SET_MARKERS)
    places: dict[str | None, tuple] = {None: (offsets[0], "o")}
    for name, offset in zip(names, offsets[1:], strict=True):
        places[name] = (offset, next(markers))
    palette = colours(tables.models)
    row_height = 0.42 if len(names) < 2 else 0.55
    figure, (auc_axis, gap_axis) = plt.subplots(
        1,
        2,
        figsize=(11, min(1.3 + row_height * len(rows), MAX_HEIGHT)),
        sharey=True,
        gridspec_kw={"width_ratios": (3, 1.2), "wspace": 0.06},
    )
    low = 0.5
    for y, configuration in enumerate(rows):
        row = board.loc[configuration]
        colour = palette[row["model"]]
        if configuration in best:
            for axis in (auc_axis, gap_axis):
                axis.axhspan(y - 0.48, y + 0.48, color=BEST_BAND, zorder=0)
        lowest = _auc_row(auc_axis, y, row, sets[configuration], places, colour)
        low = min(low, lowest)
        gap = _gap(tables.records, configuration)
        if gap["mean"] is not None:
            interval = (gap["ci_low"], gap["ci_high"]) if gap["n"] > 1 else None
            _errorbar(
                gap_axis, gap["mean"], y, interval, (-1.0, 1.0), fmt="o", color=colour
            )
    auc_axis.set_xlim(max(0.0, low - 0.05), 1.02)
    _axes_labels(auc_axis, gap_axis, rows, best)
    _legend(auc_axis, places, _cv_name(tables))
    return _png(figure)


def _cv_name(tables: RunTables) -> str:
    if tables.info.leave_source_out:
        return "mean over held-out sources"
    return f"cross-validation ({tables.info.n_folds} folds)"


def context(tables: RunTables, store: RunStore) -> dict | None:
    lines = verdict(
        tables.leaderboard, tables.records, tables.info, plugins(tables.info.config)
    )
    if not lines:
        return None
    return {"lines": lines, "links": LINKS, "chart": summary_chart(tables)}


SECTION = Section("verdict", "Verdict", "verdict.html", context)
