"""The report's numbers: tables built from a run's trial records and scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.generalization import generalization_table, held_out_table
from benchmarks.leaderboard import FOLD_METRICS, run_leaderboard
from benchmarks.store import RunInfo, RunStore

#: Leaderboard metrics, in column order: (record key, shown name).
LEADERBOARD_METRICS = tuple(
    zip(
        FOLD_METRICS,
        (
            "balanced accuracy",
            "macro F1",
            "melanoma sensitivity",
            "melanoma specificity",
            "melanoma AUC",
            "melanoma sensitivity at 80% specificity",
        ),
        strict=True,
    )
)
_FOLD_METRICS = ("accuracy", "ece", *FOLD_METRICS)


@dataclass(frozen=True)
class RunTables:
    """Everything the template and the figures read, computed once."""

    info: RunInfo
    audit: dict
    records: list[dict]
    folds: pd.DataFrame
    leaderboard: pd.DataFrame
    test: pd.DataFrame
    generalization: pd.DataFrame
    held_out: pd.DataFrame

    @property
    def positive(self) -> str:
        return self.info.positive

    @property
    def classes(self) -> list[str]:
        return list(self.info.classes)

    @property
    def models(self) -> list[str]:
        """The run's families in leaderboard order."""
        return list(dict.fromkeys(self.leaderboard["model"]))

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(self.leaderboard["strategy"]))


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


def test_table(records: list[dict], board: pd.DataFrame) -> pd.DataFrame:
    """The final fits' scores on the held-out Test split, in leaderboard order."""
    order = {
        (model, strategy): index
        for index, (model, strategy) in enumerate(
            zip(board.get("model", []), board.get("strategy", []), strict=True)
        )
    }
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
        if record["fold"] == "final" and "test" in record["metrics"]
    ]
    rows.sort(key=lambda row: order.get((row["model"], row["strategy"]), len(order)))
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

    info = store.info()
    audit = store.audit()
    records = store.records()
    board = run_leaderboard(info, records, audit)
    return RunTables(
        info,
        audit,
        records,
        fold_table(records),
        board,
        test_table(records, board),
        generalization_table(store, info, board, records),
        held_out_table(store, info, board, records),
    )
