"""Findings: what the run's numbers say in sentences, each with its figure and
interval: the warnings (shortcuts, generalization, carried thresholds) open, the
rest folded by topic under a one-line summary."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.analysis.findings import (
    best,
    carried_thresholds,
    family_comparison,
    overfitting,
    overfitting_summary,
    strategy_differences,
    strategy_effects,
    strategy_summary,
)
from benchmarks.analysis.generalization import findings as generalization_findings
from benchmarks.analysis.leaderboard import SIGNIFICANCE
from benchmarks.analysis.verdict import CNN_AGAINST_FEATURES, cnn_against_features
from benchmarks.data.shortcuts import warnings as shortcut_warnings
from benchmarks.grid.plan import plugins
from benchmarks.grid.store import RunStore
from reports._section import Section
from reports._tables import RunTables
from reports.sections import calibration
from reports.sections import explanations as _explanations


def _calibration_finding(tables: RunTables, store: RunStore) -> str | None:
    """The best configuration's calibration, pointing at its reliability
    diagrams."""
    best = tables.leaderboard[tables.leaderboard["best"]]
    if best.empty:
        return None
    configuration = best["configuration"].iloc[0]
    rows = calibration.calibration_rows(tables, store, only=configuration)
    if not rows:
        return None
    validation, _, test, _ = (cell["text"] for cell in rows[0]["cells"])
    return (
        f"Calibration of the best configuration ({configuration}): melanoma "
        f"ECE {validation} (mean \u00b1 std over validation folds), "
        f"{test} on Test; reliability diagrams under Calibration."
    )


def _importance_finding(tables: RunTables) -> str | None:
    """What the best boosted trees of handcrafted features lean on, by ABCD
    group, pointing at the importance figures."""
    importance = _explanations.importance_table(tables)
    if importance is None:
        return None
    model, strategy, table = importance
    shares = table.groupby("group")["shap"].sum()
    # A model that never split on a feature moved no score: nothing to share out.
    if not shares.sum() > 0:
        return None
    shares = (shares / shares.sum()).sort_values(ascending=False)
    listed = ", ".join(f"{group} {share:.0%}" for group, share in shares.items())
    return (
        f"What {model}:{strategy} leans on (share of mean |SHAP| of the melanoma "
        f"score over its validation folds): {listed}; by feature and with "
        "Grad-CAM maps under Why this score."
    )


@dataclass(frozen=True)
class Topic:
    """One folded block of findings: its anchor, its one-line summary and its
    sentences."""

    id: str
    summary: str
    sentences: list[str]


def _topics(tables: RunTables, store: RunStore) -> list[Topic]:
    """The findings by topic, each folded under a one-line summary; a topic
    with nothing to say is left out."""
    board, records = tables.leaderboard, tables.records
    info = tables.info
    installed = plugins(info.config)
    families = (
        f"{CNN_AGAINST_FEATURES} "
        f"{cnn_against_features(board, records, info, installed)}"
    )
    effects = strategy_differences(board, records, info.n_folds)
    calibration_finding = _calibration_finding(tables, store)
    topics = [
        Topic("findings-pick", "How the best was chosen", best(board)),
        Topic(
            "findings-families",
            families,
            family_comparison(board, records, info.n_folds, installed)
            + [sentence for sentence in (_importance_finding(tables),) if sentence],
        ),
        Topic(
            "findings-overfitting",
            f"Overfitting: {overfitting_summary(board)}",
            overfitting(board, records, info.n_folds),
        ),
        Topic(
            "findings-strategies",
            f"Strategies against none: {strategy_summary(effects)}",
            strategy_effects(board, records, info.n_folds),
        ),
        Topic(
            "findings-calibration",
            "Calibration of the best configuration",
            [calibration_finding] if calibration_finding else [],
        ),
    ]
    return [topic for topic in topics if topic.sentences]


def context(tables: RunTables, store: RunStore) -> dict:
    return {
        "findings": [
            f"Shortcut audit: {sentence}"
            for sentence in shortcut_warnings(tables.audit.get("shortcuts", {}))
        ]
        + generalization_findings(tables.generalization)
        + carried_thresholds(tables.leaderboard),
        "topics": _topics(tables, store),
        "significance": SIGNIFICANCE,
    }


SECTION = Section("findings", "Findings", "findings.html", context)
