"""The held-out Test split: each configuration's final fit scored once, with
bootstrap intervals, and a warning where Test kept copies of training images."""

from __future__ import annotations

from benchmarks.data.external import BOOTSTRAP_RESAMPLES
from benchmarks.grid.store import RunStore
from benchmarks.scoring.threshold import sensitivity_interval
from reports._section import Section
from reports._tables import LEADERBOARD_METRICS, RunTables
from reports.sections._cells import _cell


def _test_rows(tables: RunTables) -> list[dict]:
    return [
        {
            "model": row["model"],
            "strategy": row["strategy"],
            "n": row["n"],
            "cells": [
                _cell(row[name], row.get(f"{name}_ci"))
                for name, _ in LEADERBOARD_METRICS
            ],
        }
        for row in tables.test.to_dict("records")
    ]


def _leak_warning(tables: RunTables) -> str:
    leaks = tables.audit.get("train_test_leaks", 0)
    if not leaks or tables.audit["policy"]["test_leaks"] == "drop":
        return ""
    return (
        f"The audit found {leaks} image(s) in Test with an identical copy in Train, "
        "and this run kept them: Test figures are optimistic. Re-run with "
        "--test-leaks drop for a clean Test split."
    )


#: Below this many melanomas in Test, the page says how little a perfect
#: sensitivity on them shows: a bootstrap cannot vary what it never saw missed.
FEW_MELANOMAS = 20


def _few_melanomas(tables: RunTables, store: RunStore) -> str:
    if tables.test.empty:
        return ""
    manifest = store.manifest()
    test = manifest[manifest["split"] == "test"]
    count = int((test["label"].astype(str) == tables.positive).sum())
    if count >= FEW_MELANOMAS:
        return ""
    if count == 0:
        return (
            f"Test holds no {tables.positive} image: its {tables.positive} "
            "figures are not measured."
        )
    low, _ = sensitivity_interval(count, count)
    return (
        f"Test holds {count} {tables.positive} image(s): even {count} of {count} "
        "found gives a sensitivity whose exact 95% interval reaches down to "
        f"{low:.2f}, which a bootstrap over so few cannot show. Read Test's "
        "figures as a check, not a measurement."
    )


def context(tables: RunTables, store: RunStore) -> dict:
    return {
        "leak_warning": _leak_warning(tables),
        "few_melanomas": _few_melanomas(tables, store),
        "resamples": BOOTSTRAP_RESAMPLES,
        "metric_names": [shown for _, shown in LEADERBOARD_METRICS],
        "rows": _test_rows(tables),
    }


SECTION = Section("test", "Held-out Test", "test.html", context)
