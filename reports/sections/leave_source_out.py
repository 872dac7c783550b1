"""Leave-source-out: each source held out in turn, scored by models trained on
the others; which family wins where, and the classes each source holds."""

from __future__ import annotations

import pandas as pd

from benchmarks.analysis.generalization import family_by_source
from benchmarks.analysis.leaderboard import WORST_SOURCE_MINIMUM
from benchmarks.grid.store import RunStore
from benchmarks.scoring.threshold import TARGET_SENSITIVITY
from reports._section import Section
from reports._tables import RunTables
from reports.sections._cells import _interval, _number, _sortable


def _held_out_rows(tables: RunTables) -> list[dict]:
    rows = []
    for row in tables.held_out.to_dict("records"):
        shown = {
            name: row[name]
            for name in ("configuration", "held_out", "trained_on", "n", "n_melanoma")
        }
        for name, column, interval in (
            ("auc", "melanoma_auc", "melanoma_auc_ci"),
            ("sensitivity", "melanoma_sensitivity_at_80_specificity", None),
            ("balanced", "balanced_accuracy", None),
            ("carried_sensitivity", "carried_sensitivity", "carried_sensitivity_ci"),
            ("carried_specificity", "carried_specificity", "carried_specificity_ci"),
            ("own_sensitivity", "own_sensitivity", None),
            ("own_specificity", "own_specificity", None),
        ):
            shown[name] = _interval(row[column], row[interval] if interval else None)
            shown[f"{name}_sort"] = _sortable(row[column])
        rows.append(shown)
    return rows


def _family_wins(tables: RunTables) -> dict:
    """Which family wins on which held-out source: each family's best melanoma
    AUC per source, the highest of each source marked."""
    table = family_by_source(tables.held_out, tables.info.sources)
    if table.empty:
        return {}
    best = table.max(axis=0)
    return {
        "sources": list(table.columns),
        "rows": [
            {
                "family": family,
                "cells": [
                    {
                        "text": _number(value),
                        "sort": _sortable(value),
                        "wins": not pd.isna(value) and value == best[source],
                    }
                    for source, value in row.items()
                ],
            }
            for family, row in table.iterrows()
        ],
        "winners": [
            ", ".join(table.index[table[source] == best[source]]) or "-"
            for source in table.columns
        ],
    }


def _source_counts(audit: dict) -> dict:
    """Classes by source, when a run combines several."""
    sources = audit.get("sources", {})
    if len(sources) < 2:
        return {}
    classes = sorted({label for counts in sources.values() for label in counts})
    return {
        "classes": classes,
        "rows": [
            {"source": name, "counts": [counts.get(label, 0) for label in classes]}
            for name, counts in sources.items()
        ],
    }


def context(tables: RunTables, store: RunStore) -> dict | None:
    rows = _held_out_rows(tables)
    if not rows:
        return None
    return {
        "worst_source_rule": tables.info.leave_source_out
        and len(tables.info.sources) >= WORST_SOURCE_MINIMUM,
        "target_sensitivity": f"{TARGET_SENSITIVITY:.0%}",
        "rows": rows,
        "family_wins": _family_wins(tables),
        "source_counts": _source_counts(tables.audit),
    }


SECTION = Section(
    "leave-source-out", "Leave-source-out", "leave_source_out.html", context
)
