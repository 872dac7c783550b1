"""Write RUN_DIR/report.html: one self-contained file, figures embedded."""

from __future__ import annotations

import json
import logging
import math
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from benchmarks.analysis.findings import carried_thresholds
from benchmarks.analysis.findings import findings as run_findings
from benchmarks.analysis.generalization import family_by_source
from benchmarks.analysis.generalization import findings as generalization_findings
from benchmarks.analysis.leaderboard import (
    BEST_RULE,
    SIGNIFICANCE,
    WORST_SOURCE_MINIMUM,
    write_leaderboard,
)
from benchmarks.core.cache import atomic_write, atomic_write_json
from benchmarks.core.errors import UserError
from benchmarks.data.external import BOOTSTRAP_RESAMPLES
from benchmarks.data.shortcuts import warnings as shortcut_warnings
from benchmarks.grid.plan import plugins
from benchmarks.grid.store import RunStore
from benchmarks.scoring.metrics import summarize
from benchmarks.scoring.threshold import TARGET_SENSITIVITY
from reports import _calibration, _explanations, _figures
from reports._tables import LEADERBOARD_METRICS, RunTables, build

logger = logging.getLogger(__name__)


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


def _leaderboard_rows(tables: RunTables) -> list[dict]:
    rows = []
    for row in tables.leaderboard.to_dict("records"):
        cells = []
        for name, _ in LEADERBOARD_METRICS:
            mean = row[f"{name}_mean"]
            low, high = row[f"{name}_ci_low"], row[f"{name}_ci_high"]
            interval = None
            if mean is not None and low is not None and row["folds"] > 1:
                # Every metric lives in [0, 1]; a t interval over 3 folds does not.
                interval = (max(low, 0.0), min(high, 1.0))
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


def _fold_rows(tables: RunTables) -> list[dict]:
    folds = tables.folds
    train = folds[folds["part"] == "train"].set_index(["model", "strategy", "fold"])
    validation = folds[folds["part"] == "validation"].set_index(
        ["model", "strategy", "fold"]
    )
    rows = []
    order = {
        (row["model"], row["strategy"]): index
        for index, row in enumerate(tables.leaderboard.to_dict("records"))
    }
    for key in sorted(validation.index, key=lambda k: (order[k[:2]], k[2])):
        model, strategy, fold = key
        rows.append(
            {
                "model": model,
                "strategy": strategy,
                "fold": fold,
                "train": train.at[key, "balanced_accuracy"],
                "validation": validation.at[key, "balanced_accuracy"],
                "gap": train.at[key, "balanced_accuracy"]
                - validation.at[key, "balanced_accuracy"],
                "train_f1": train.at[key, "macro_f1"],
                "validation_f1": validation.at[key, "macro_f1"],
            }
        )
    return rows


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


def _speed_rows(tables: RunTables) -> list[dict]:
    order = {
        (row["model"], row["strategy"]): index
        for index, row in enumerate(tables.leaderboard.to_dict("records"))
    }
    rows: dict[tuple[str, str], list[dict]] = {}
    for record in tables.records:
        rows.setdefault((record.model, record.strategy), []).append(record.timings)
    return [
        {
            "model": model,
            "strategy": strategy,
            "trials": len(timings),
            "minutes": sum(t.wall_seconds for t in timings) / 60,
            "fit": float(np.mean([t.fit_seconds for t in timings])),
            "predict": float(np.mean([t.predict_seconds for t in timings])),
            # None for a model that trains nothing (fusion).
            "train_rate": summarize([t.train_images_per_second for t in timings])[
                "mean"
            ],
            "predict_rate": float(
                np.mean([t.predict_images_per_second for t in timings])
            ),
        }
        for (model, strategy), timings in sorted(
            rows.items(), key=lambda item: order.get(item[0], len(order))
        )
    ]


def _interval(value: float | None, interval: tuple[float, float] | None) -> str:
    if interval is None or value is None or pd.isna(value):
        return _number(value)
    return f"{_number(value)} [{_number(interval[0])}, {_number(interval[1])}]"


#: The generalization table's cells: (shown as, column, its interval column).
_GENERALIZATION_CELLS = (
    ("cv", "cv_melanoma_auc", None),
    ("test", "test_melanoma_auc", None),
    ("auc", "melanoma_auc", "melanoma_auc_ci"),
    ("drop", "auc_drop", None),
    ("gap", "train_val_gap", None),
    ("sensitivity", "sensitivity", "sensitivity_ci"),
    ("specificity", "specificity", "specificity_ci"),
    ("balanced", "balanced_accuracy", None),
)


def _generalization_rows(tables: RunTables) -> list[dict]:
    rows = []
    for row in tables.generalization.to_dict("records"):
        shown = {
            name: row[name] for name in ("configuration", "external", "n", "n_melanoma")
        }
        for name, column, interval in _GENERALIZATION_CELLS:
            shown[name] = _interval(row[column], row[interval] if interval else None)
            shown[f"{name}_sort"] = _sortable(row[column])
        rows.append(shown)
    return rows


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


def _figure_findings(tables: RunTables, calibration_rows: list[dict]) -> list[str]:
    """The first screen's pointers into the calibration and importance figures:
    the best configuration's calibration, and what the best boosted trees of
    handcrafted features lean on, by ABCD group."""
    sentences = []
    best = tables.leaderboard[tables.leaderboard["best"]]
    if not best.empty:
        configuration = best["configuration"].iloc[0]
        row = next(
            (row for row in calibration_rows if row["configuration"] == configuration),
            None,
        )
        if row is not None:
            validation, _, test, _ = (cell["text"] for cell in row["cells"])
            sentences.append(
                f"Calibration of the best configuration ({configuration}): melanoma "
                f"ECE {validation} (mean \u00b1 std over validation folds), "
                f"{test} on Test; reliability diagrams under Calibration."
            )
    importance = _explanations.importance_table(tables)
    if importance is None:
        return sentences
    model, strategy, table = importance
    shares = table.groupby("group")["shap"].sum()
    # A model that never split on a feature moved no score: nothing to share out.
    if not shares.sum() > 0:
        return sentences
    shares = (shares / shares.sum()).sort_values(ascending=False)
    listed = ", ".join(f"{group} {share:.0%}" for group, share in shares.items())
    sentences.append(
        f"What {model}:{strategy} leans on (share of mean |SHAP| of the melanoma "
        f"score over its validation folds): {listed}; by feature and with "
        "Grad-CAM maps under Why this score."
    )
    return sentences


def _leak_warning(tables: RunTables) -> str:
    leaks = tables.audit.get("train_test_leaks", 0)
    if not leaks or tables.audit["policy"]["test_leaks"] == "drop":
        return ""
    return (
        f"The audit found {leaks} image(s) in Test with an identical copy in Train, "
        "and this run kept them: Test figures are optimistic. Re-run with "
        "--test-leaks drop for a clean Test split."
    )


def render(store: RunStore, tables: RunTables | None = None) -> str:
    """The report's HTML for a run folder (``tables``: already built from it)."""
    tables = tables or build(store)
    if tables.leaderboard.empty:
        raise UserError(
            f"{store.run_dir}: no finished trials yet; run or resume it first"
        )
    manifest = store.manifest()
    labels = manifest["label"].astype(str).to_numpy()
    info = tables.info
    split_counts = manifest["split"].value_counts()
    versions = info.versions
    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False
    )
    template = environment.from_string(
        resources.files("reports").joinpath("template.html").read_text("utf-8")
    )
    wall = sum(record.timings.wall_seconds for record in tables.records)
    calibration_rows = _calibration.calibration_rows(tables, store)
    return template.render(
        run_id=info.run_id,
        synthetic=info.dataset == "synthetic",
        dataset=info.dataset or "folder",
        n_images=int(split_counts.sum()),
        split_counts=", ".join(
            f"{count} {split}" for split, count in split_counts.items()
        ),
        fingerprint=info.data_fingerprint,
        classes=tables.classes,
        positive=tables.positive,
        profile=info.profile.name,
        n_folds=info.n_folds,
        seed=info.config.seed,
        preprocessing=info.config.preprocessing,
        variants=", ".join(info.config.variants),
        grid="; ".join(str(configuration) for configuration in info.grid),
        best_rule=BEST_RULE,
        wall_time=f"{wall / 60:.1f} min",
        n_trials=len(tables.records),
        machine=", ".join(f"{key} {value}" for key, value in info.machine.items()),
        versions=", ".join(f"{name} {version}" for name, version in versions.items()),
        audit=tables.audit,
        policy=tables.audit["policy"],
        unreadable_files=tables.audit.get("unreadable_files", [])[:50],
        conflict_pairs=tables.audit.get("conflict_class_pairs", []),
        significance=SIGNIFICANCE,
        metric_names=[shown for _, shown in LEADERBOARD_METRICS],
        leaderboard=_leaderboard_rows(tables),
        fold_rows=_fold_rows(tables),
        test_rows=_test_rows(tables),
        leak_warning=_leak_warning(tables),
        findings=[
            f"Shortcut audit: {sentence}"
            for sentence in shortcut_warnings(tables.audit.get("shortcuts", {}))
        ]
        + generalization_findings(tables.generalization)
        + carried_thresholds(tables.leaderboard),
        results=run_findings(
            tables.leaderboard,
            tables.records,
            info.n_folds,
            plugins(info.config),
            figures=_figure_findings(tables, calibration_rows),
        ),
        resamples=BOOTSTRAP_RESAMPLES,
        generalization=_generalization_rows(tables),
        held_out=_held_out_rows(tables),
        family_wins=_family_wins(tables),
        worst_source_rule=tables.info.leave_source_out
        and len(tables.info.sources) >= WORST_SOURCE_MINIMUM,
        source_counts=_source_counts(tables.audit),
        external_sets=[
            {
                "name": name,
                "scored": facts["scored"],
                "dropped": facts["in_training_data"],
            }
            for name, facts in tables.audit.get("external", {}).items()
        ],
        target_sensitivity=f"{TARGET_SENSITIVITY:.0%}",
        speed_rows=_speed_rows(tables),
        calibration_method=info.config.calibration,
        calibration_columns=[shown for _, shown in _calibration.CALIBRATION_COLUMNS],
        calibration_rows=calibration_rows,
        figures={
            "gap": _figures.gap_chart(tables),
            "curves": _figures.learning_curves(tables),
            "counts": _figures.class_counts(tables),
            "recall": _figures.recall_heatmap(tables),
            "confusion": _figures.confusion_matrices(tables, store, labels),
            "melanoma": _figures.melanoma_curves(tables, store, labels),
            "speed": _figures.speed_chart(tables),
            "external": _figures.external_curves(tables, store),
            "calibration": _calibration.reliability_diagram(tables, store, labels),
            "importance": _explanations.importance_chart(tables, store),
            "gradcam": _explanations.gradcam_panel(tables, store),
        },
    )


def write_report(run_dir: str | Path) -> Path:
    """report.html, leaderboard.csv and metrics.json in ``run_dir``."""
    store = RunStore(run_dir)
    tables = build(store)
    html = render(store, tables)
    path = store.path("report.html")
    atomic_write(path, lambda stream: stream.write(html.encode("utf-8")))
    write_leaderboard(store, tables.leaderboard)
    atomic_write_json(
        store.path("metrics.json"),
        {
            "run_id": tables.info.run_id,
            "leaderboard": json.loads(tables.leaderboard.to_json(orient="records")),
            "trials": [
                {k: v for k, v in record.to_json().items() if k != "versions"}
                for record in tables.records
            ],
        },
    )
    return path
