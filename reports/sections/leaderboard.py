"""The leaderboard: each configuration's validation figures, mean [95% CI]
over folds, the best marked and every other tested against it."""

from __future__ import annotations

import pandas as pd

from benchmarks.analysis.leaderboard import BEST_RULE, SIGNIFICANCE
from benchmarks.grid.store import RunStore
from reports._section import Section
from reports._tables import LEADERBOARD_METRICS, RunTables
from reports.sections._cells import _cell, _number, _sortable


def _leaderboard_rows(tables: RunTables) -> list[dict]:
    # Folds that are held-out sources: a t interval over two or three of them
    # spans [0, 1] and says nothing; each source's own interval is in the
    # Leave-source-out section.
    intervals = not tables.info.leave_source_out
    rows = []
    for row in tables.leaderboard.to_dict("records"):
        cells = []
        for name, _ in LEADERBOARD_METRICS:
            mean = row[f"{name}_mean"]
            low, high = row[f"{name}_ci_low"], row[f"{name}_ci_high"]
            interval = None
            if intervals and mean is not None and low is not None and row["folds"] > 1:
                interval = (low, high)  # kept within [0, 1] by the leaderboard
            cells.append(_cell(mean, interval))
        p = row["p_vs_best"]
        if row["best"]:
            shown = "best"
        elif p is None or pd.isna(p):
            shown = "-"
        else:
            shown = f"{p:.3f}" + ("" if p < SIGNIFICANCE else " (not distinguishable)")
        rows.append(
            {
                "model": row["model"],
                "strategy": row["strategy"],
                "folds": row["folds"],
                "best": row["best"],
                "cells": cells,
                "gap": _number(row["train_val_gap_mean"]),
                "gap_sort": _sortable(row["train_val_gap_mean"]),
                "p": shown,
                "p_sort": "0" if row["best"] else _sortable(p),
            }
        )
    return rows


def context(tables: RunTables, store: RunStore) -> dict:
    return {
        "best_rule": BEST_RULE,
        "significance": SIGNIFICANCE,
        "metric_names": [shown for _, shown in LEADERBOARD_METRICS],
        "rows": _leaderboard_rows(tables),
        "held_out_sources": tables.info.leave_source_out,
    }


SECTION = Section("leaderboard", "Leaderboard", "leaderboard.html", context)
