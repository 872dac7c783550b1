"""Findings: the first screen, what the run's numbers say in sentences, with
warnings (shortcuts, generalization, carried thresholds) above them."""

from __future__ import annotations

from benchmarks.analysis.findings import carried_thresholds
from benchmarks.analysis.findings import findings as run_findings
from benchmarks.analysis.generalization import findings as generalization_findings
from benchmarks.analysis.leaderboard import SIGNIFICANCE
from benchmarks.data.shortcuts import warnings as shortcut_warnings
from benchmarks.grid.plan import plugins
from benchmarks.grid.store import RunStore
from reports._section import Section
from reports._tables import RunTables
from reports.sections import calibration
from reports.sections import explanations as _explanations


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


def context(tables: RunTables, store: RunStore) -> dict:
    info = tables.info
    return {
        "findings": [
            f"Shortcut audit: {sentence}"
            for sentence in shortcut_warnings(tables.audit.get("shortcuts", {}))
        ]
        + generalization_findings(tables.generalization)
        + carried_thresholds(tables.leaderboard),
        "results": run_findings(
            tables.leaderboard,
            tables.records,
            info.n_folds,
            plugins(info.config),
            figures=_figure_findings(
                tables, calibration.calibration_rows(tables, store)
            ),
        ),
        "significance": SIGNIFICANCE,
    }


SECTION = Section("findings", "Findings", "findings.html", context)
