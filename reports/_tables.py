"""The report's numbers: tables built from a run's trial records and scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.config import MODELS, STRATEGIES
from benchmarks.metrics import corrected_resampled_ttest, summarize
from benchmarks.store import RunStore

#: Leaderboard metrics, in column order: (record key, shown name).
LEADERBOARD_METRICS = (
    ("balanced_accuracy", "balanced accuracy"),
    ("macro_f1", "macro F1"),
    ("melanoma_sensitivity", "melanoma sensitivity"),
    ("melanoma_specificity", "melanoma specificity"),
    ("melanoma_auc", "melanoma AUC"),
    (
        "melanoma_sensitivity_at_80_specificity",
        "melanoma sensitivity at 80% specificity",
    ),
)
_FOLD_METRICS = ("accuracy", "ece", *(key for key, _ in LEADERBOARD_METRICS))
#: A configuration whose paired test against the best gives p at or above this
#: is "not distinguishable" from it.
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class RunTables:
    """Everything the template and the figures read, computed once."""

    config: dict
    audit: dict
    records: list[dict]
    folds: pd.DataFrame
    leaderboard: pd.DataFrame
    test: pd.DataFrame
    best: tuple[str, str] | None

    @property
    def positive(self) -> str:
        return self.config["positive_class"]

    @property
    def classes(self) -> list[str]:
        return self.config["classes"]


def _order(model: str, strategy: str) -> tuple[int, int]:
    return MODELS.index(model), STRATEGIES.index(strategy)


def fold_table(records: list[dict]) -> pd.DataFrame:
    """One row per (trial, part): every scalar metric, train and validation."""
    rows = []
    for record in records:
        if record["fold"] == "final":
            continue
        for part in ("train", "validation"):
            metrics = record["metrics"][part]
            rows.append(
                {
                    "model": record["model"],
                    "strategy": record["strategy"],
                    "fold": record["fold"],
                    "part": part,
                    **{name: metrics[name] for name in _FOLD_METRICS},
                }
            )
    return pd.DataFrame(rows)


def _paired_p(
    folds: pd.DataFrame, best: tuple[str, str], other: tuple[str, str], k: int
) -> float | None:
    validation = folds[folds["part"] == "validation"]

    def scores(configuration: tuple[str, str]) -> pd.Series:
        model, strategy = configuration
        chosen = validation[
            (validation["model"] == model) & (validation["strategy"] == strategy)
        ]
        return chosen.set_index("fold")["balanced_accuracy"]

    first, second = scores(best).align(scores(other), join="inner")
    return corrected_resampled_ttest(
        first.to_numpy(dtype=float), second.to_numpy(dtype=float), test_fraction=1 / k
    )


def leaderboard_table(folds: pd.DataFrame, n_folds: int) -> pd.DataFrame:
    """Mean and 95% CI per metric, the best marked, p against the best."""
    validation = folds[folds["part"] == "validation"]
    train = folds[folds["part"] == "train"]
    rows = []
    for (model, strategy), group in validation.groupby(["model", "strategy"]):
        row: dict = {"model": model, "strategy": strategy, "folds": len(group)}
        for name, _ in LEADERBOARD_METRICS:
            stats = summarize(group[name].tolist())
            row[f"{name}_mean"] = stats["mean"]
            row[f"{name}_ci_low"] = stats["ci_low"]
            row[f"{name}_ci_high"] = stats["ci_high"]
        trained = train[(train["model"] == model) & (train["strategy"] == strategy)]
        row["train_balanced_accuracy_mean"] = summarize(
            trained["balanced_accuracy"].tolist()
        )["mean"]
        row["gap_mean"] = row["train_balanced_accuracy_mean"] - (
            row["balanced_accuracy_mean"] or 0.0
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table.sort_values(
        by=["model", "strategy"],
        key=lambda column: column.map(lambda value: (MODELS + STRATEGIES).index(value)),
    ).reset_index(drop=True)
    best_index = int(table["balanced_accuracy_mean"].astype(float).idxmax())
    best = (table.at[best_index, "model"], table.at[best_index, "strategy"])
    table["best"] = table.index == best_index
    table["p_vs_best"] = [
        None if row.best else _paired_p(folds, best, (row.model, row.strategy), n_folds)
        for row in table.itertuples()
    ]
    table["distinguishable"] = [
        None if p is None else p < SIGNIFICANCE for p in table["p_vs_best"]
    ]
    return table


def test_table(records: list[dict]) -> pd.DataFrame:
    """The final fits' scores on the held-out Test split."""
    rows = [
        {
            "model": record["model"],
            "strategy": record["strategy"],
            "n": record["metrics"]["test"]["n"],
            **{
                name: record["metrics"]["test"][name] for name, _ in LEADERBOARD_METRICS
            },
        }
        for record in records
        if record["fold"] == "final"
    ]
    rows.sort(key=lambda row: _order(row["model"], row["strategy"]))
    return pd.DataFrame(rows)


def pooled_scores(
    store: RunStore, records: list[dict], model: str, strategy: str
) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, probabilities) of one configuration's out-of-fold
    validation predictions, every CV image once."""
    rows, proba = [], []
    for record in records:
        if (
            record["model"] == model
            and record["strategy"] == strategy
            and record["fold"] != "final"
        ):
            scores = store.scores(record["key"])
            rows.append(scores["evaluation_rows"])
            proba.append(scores["evaluation_proba"])
    return np.concatenate(rows), np.concatenate(proba)


def build(store: RunStore) -> RunTables:
    import json

    config = store.read_config()
    audit = json.loads(store.path("audit.json").read_text(encoding="utf-8"))
    records = store.records()
    folds = fold_table(records)
    n_folds = config["config"]["folds"] or config["profile"]["folds"]
    board = leaderboard_table(folds, n_folds) if not folds.empty else pd.DataFrame()
    best = None
    if not board.empty:
        winner = board[board["best"]].iloc[0]
        best = (winner["model"], winner["strategy"])
    return RunTables(config, audit, records, folds, board, test_table(records), best)
