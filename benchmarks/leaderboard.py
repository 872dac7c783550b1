"""The leaderboard: model x strategy, fold means and spreads, Test figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.config import MODELS, STRATEGIES
from benchmarks.metrics import summarize

#: Validation metrics summarised over folds (mean and std columns).
FOLD_METRICS = (
    "balanced_accuracy",
    "macro_f1",
    "melanoma_sensitivity",
    "melanoma_specificity",
    "melanoma_auc",
    "melanoma_sensitivity_at_80_specificity",
)
COLUMNS = (
    "model",
    "strategy",
    "folds",
    *(f"{name}_{stat}" for name in FOLD_METRICS for stat in ("mean", "std")),
    "train_val_gap_mean",
    "train_val_gap_std",
    "wall_seconds",
    "test_balanced_accuracy",
    "test_melanoma_sensitivity",
    "test_melanoma_specificity",
    "test_melanoma_auc",
)


def _order(record: dict) -> tuple[int, int]:
    return MODELS.index(record["model"]), STRATEGIES.index(record["strategy"])


def leaderboard(records: list[dict]) -> pd.DataFrame:
    """One row per (model, strategy) with at least one finished fold.

    ``train_val_gap`` is train minus validation balanced accuracy; the Test
    columns come from the final fit on all training images (empty without a
    Test split).
    """
    configurations: dict[tuple[str, str], list[dict]] = {}
    for record in sorted(records, key=_order):
        configurations.setdefault((record["model"], record["strategy"]), []).append(
            record
        )
    rows = []
    for (model, strategy), group in configurations.items():
        folds = [record for record in group if record["fold"] != "final"]
        final = [record for record in group if record["fold"] == "final"]
        if not folds:
            continue
        row: dict = {"model": model, "strategy": strategy, "folds": len(folds)}
        for name in FOLD_METRICS:
            stats = summarize([r["metrics"]["validation"][name] for r in folds])
            row[f"{name}_mean"], row[f"{name}_std"] = stats["mean"], stats["std"]
        gap = summarize([r["gap"]["balanced_accuracy"] for r in folds])
        row["train_val_gap_mean"], row["train_val_gap_std"] = gap["mean"], gap["std"]
        row["wall_seconds"] = sum(r["timings"]["wall_seconds"] for r in group)
        test = final[0]["metrics"]["test"] if final else {}
        for name in ("balanced_accuracy", "melanoma_sensitivity"):
            row[f"test_{name}"] = test.get(name)
        for name in ("melanoma_specificity", "melanoma_auc"):
            row[f"test_{name}"] = test.get(name)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _cell(mean: float | None, std: float | None) -> str:
    if mean is None or np.isnan(mean):
        return "-"
    return (
        f"{mean:.3f} +- {std:.3f}"
        if std is not None and not np.isnan(std)
        else (f"{mean:.3f}")
    )


def to_text(board: pd.DataFrame) -> str:
    """The terminal table printed at the end of a run."""
    shown = pd.DataFrame(
        {
            "model": board["model"],
            "strategy": board["strategy"],
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
            "mel AUC": [_cell(m, None) for m in board["melanoma_auc_mean"]],
            "train-val gap": [_cell(m, None) for m in board["train_val_gap_mean"]],
            "test bal acc": [_cell(m, None) for m in board["test_balanced_accuracy"]],
            "test mel sens": [
                _cell(m, None) for m in board["test_melanoma_sensitivity"]
            ],
            "minutes": [f"{s / 60:.1f}" for s in board["wall_seconds"]],
        }
    )
    return shown.to_string(index=False)
