"""The leaderboard: one row per configuration, fold figures, Test figures, the best.

The one table behind the terminal summary, leaderboard.csv, the report and
``train``'s default pick, so they can never disagree on a figure or on which
configuration is best.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from benchmarks.configuration import Configuration
from benchmarks.metrics import (
    MAX_FALSE_POSITIVE_RATE,
    corrected_resampled_ttest,
    summarize,
)
from benchmarks.store import RunStore

#: Validation metrics summarised over folds (mean, std and 95% CI columns).
FOLD_METRICS = (
    "balanced_accuracy",
    "macro_f1",
    "melanoma_sensitivity",
    "melanoma_specificity",
    "melanoma_auc",
    "melanoma_sensitivity_at_80_specificity",
)
#: Figures of the final fit on the held-out Test split.
TEST_METRICS = (
    "balanced_accuracy",
    "melanoma_sensitivity",
    "melanoma_specificity",
    "melanoma_auc",
)
#: Figures of the final fit on each external set (columns external_NAME_...).
EXTERNAL_METRICS = (
    "melanoma_auc",
    "melanoma_sensitivity_at_80_specificity",
    "balanced_accuracy",
)
#: The fold means that rank configurations, in order: the best is the highest
#: first figure, ties broken by the next.
RANKING = ("melanoma_sensitivity_at_80_specificity", "balanced_accuracy")
BEST_RULE = (
    f"highest mean out-of-fold melanoma sensitivity at "
    f"{1 - MAX_FALSE_POSITIVE_RATE:.0%} specificity, ties by balanced accuracy; "
    "when the shortcut audit flags the data, among the families whose inputs do "
    "not describe the camera"
)
#: A configuration whose paired test against the best gives p at or above this
#: is "not distinguishable" from it.
SIGNIFICANCE = 0.05
_STATS = ("mean", "std", "ci_low", "ci_high")
COLUMNS = (
    "configuration",
    "model",
    "strategy",
    "folds",
    *(f"{name}_{stat}" for name in FOLD_METRICS for stat in _STATS),
    "train_balanced_accuracy_mean",
    "train_val_gap_mean",
    "train_val_gap_std",
    "wall_seconds",
    *(f"test_{name}" for name in TEST_METRICS),
    "best",
    "p_vs_best",
    "distinguishable",
)


def _configurations(
    records: list[dict], order: Sequence[Configuration]
) -> dict[Configuration, list[dict]]:
    """Records by configuration: ``order`` first (the run's grid), then any
    other in name order."""
    grouped: dict[Configuration, list[dict]] = {item: [] for item in order}
    for record in records:
        configuration = Configuration(record["model"], record["strategy"])
        grouped.setdefault(configuration, []).append(record)
    listed = set(order)
    rest = sorted(item for item in grouped if item not in listed)
    return {item: grouped[item] for item in [*order, *rest] if grouped[item]}


def _fold_values(folds: list[dict], name: str) -> dict[int, float | None]:
    return {record["fold"]: record["metrics"]["validation"][name] for record in folds}


def best_index(board: pd.DataFrame, eligible: Collection[str] | None = None) -> int:
    """The position of the best row by ``RANKING``, among the rows of the
    ``eligible`` families where any is on the board."""
    # Rounded so that equal fold means computed in another order still tie;
    # the first in leaderboard order wins an exact tie.
    keys = board[[f"{name}_mean" for name in RANKING]]
    keys = keys.astype(float).round(9).fillna(-1.0).to_numpy()
    candidates = [
        index
        for index, model in enumerate(board["model"])
        if eligible is None or model in eligible
    ]
    return min(candidates or range(len(board)), key=lambda index: tuple(-keys[index]))


def eligible_families(audit: dict) -> set[str] | None:
    """The families that may be best: all (None), or, when the shortcut audit
    flagged the data, those whose inputs do not describe the camera.

    Why: on such data the cross-validated ranking rewards recognising the
    archive; a family that cannot see it is the one whose figures carry over.
    """
    if not audit.get("shortcuts", {}).get("flagged"):
        return None
    from benchmarks.families import installed

    return {name for name, spec in installed().items() if spec.acquisition_invariant}


def leaderboard_of(store: RunStore) -> pd.DataFrame:
    """A run folder's leaderboard: its records in its grid's order, the best
    by ``BEST_RULE`` given its audit."""
    path = store.path("audit.json")
    audit = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return leaderboard(store.records(), store.info().grid, eligible_families(audit))


def _paired_p(
    best: list[dict], other: list[dict], n_folds: int
) -> tuple[float | None, bool | None]:
    """p of the corrected resampled t-test on the first ranking figure, over the
    folds both configurations finished."""
    first, second = _fold_values(best, RANKING[0]), _fold_values(other, RANKING[0])
    shared = sorted(set(first) & set(second))
    p = corrected_resampled_ttest(
        [np.nan if first[f] is None else first[f] for f in shared],
        [np.nan if second[f] is None else second[f] for f in shared],
        test_fraction=1 / n_folds,
    )
    return p, None if p is None else bool(p < SIGNIFICANCE)


def leaderboard(
    records: list[dict],
    order: Sequence[Configuration] = (),
    eligible: Collection[str] | None = None,
) -> pd.DataFrame:
    """One row per configuration with at least one finished fold, in ``order``
    (the run's grid), the best by ``BEST_RULE`` marked, each other row's p
    against it.

    ``train_val_gap`` is train minus validation balanced accuracy, fold by
    fold; the Test columns come from the final fit on all training images
    (empty without a Test split).
    """
    rows, fold_records = [], []
    for configuration, group in _configurations(records, order).items():
        folds = [record for record in group if record["fold"] != "final"]
        final = [record for record in group if record["fold"] == "final"]
        if not folds:
            continue
        row: dict = {
            "configuration": str(configuration),
            "model": configuration.model,
            "strategy": configuration.strategy,
            "folds": len(folds),
        }
        for name in FOLD_METRICS:
            stats = summarize([r["metrics"]["validation"][name] for r in folds])
            row.update({f"{name}_{stat}": stats[stat] for stat in _STATS})
        train = summarize([r["metrics"]["train"]["balanced_accuracy"] for r in folds])
        row["train_balanced_accuracy_mean"] = train["mean"]
        gap = summarize([r["gap"]["balanced_accuracy"] for r in folds])
        row["train_val_gap_mean"], row["train_val_gap_std"] = gap["mean"], gap["std"]
        row["wall_seconds"] = sum(r["timings"]["wall_seconds"] for r in group)
        test = (final[0]["metrics"].get("test") if final else None) or {}
        row.update({f"test_{name}": test.get(name) for name in TEST_METRICS})
        for source, figures in (final[0].get("external", {}) if final else {}).items():
            row.update(
                {
                    f"external_{source}_{name}": figures[name]
                    for name in EXTERNAL_METRICS
                }
            )
        rows.append(row)
        fold_records.append(folds)
    extra = [name for row in rows for name in row if name not in COLUMNS]
    board = pd.DataFrame(rows, columns=[*COLUMNS, *dict.fromkeys(extra)])
    if board.empty:
        return board
    best = best_index(board, eligible)
    n_folds = max(len(folds) for folds in fold_records)
    tests = [
        (None, None) if index == best else _paired_p(fold_records[best], folds, n_folds)
        for index, folds in enumerate(fold_records)
    ]
    board["best"] = board.index == best
    board["p_vs_best"] = [p for p, _ in tests]
    board["distinguishable"] = [distinct for _, distinct in tests]
    return board


def best_configuration(board: pd.DataFrame) -> Configuration:
    """The configuration the leaderboard marks best."""
    row = board[board["best"]].iloc[0]
    return Configuration(row["model"], row["strategy"])


def _cell(mean: float | None, std: float | None) -> str:
    if mean is None or np.isnan(mean):
        return "-"
    return (
        f"{mean:.3f} +- {std:.3f}"
        if std is not None and not np.isnan(std)
        else (f"{mean:.3f}")
    )


def to_text(board: pd.DataFrame) -> str:
    """The terminal table printed at the end of a run; * marks the best."""
    shown = pd.DataFrame(
        {
            "configuration": [
                f"{name}{' *' if best else ''}"
                for name, best in zip(
                    board["configuration"], board["best"], strict=True
                )
            ],
            "folds": board["folds"],
            "balanced acc": [
                _cell(m, s)
                for m, s in zip(
                    board["balanced_accuracy_mean"],
                    board["balanced_accuracy_std"],
                    strict=True,
                )
            ],
            "mel sens": [_cell(m, None) for m in board["melanoma_sensitivity_mean"]],
            "mel sens@80%spec": [
                _cell(m, None)
                for m in board["melanoma_sensitivity_at_80_specificity_mean"]
            ],
            "mel AUC": [_cell(m, None) for m in board["melanoma_auc_mean"]],
            "train-val gap": [_cell(m, None) for m in board["train_val_gap_mean"]],
            "test bal acc": [_cell(m, None) for m in board["test_balanced_accuracy"]],
            "test mel sens": [
                _cell(m, None) for m in board["test_melanoma_sensitivity"]
            ],
            "minutes": [f"{s / 60:.1f}" for s in board["wall_seconds"]],
        }
    )
    return shown.to_string(index=False) + f"\n* best: {BEST_RULE}"
