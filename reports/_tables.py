"""The report's numbers: tables built from a run's trial records and scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.analysis.generalization import (
    generalization_table,
    held_out_table,
    with_site_thresholds,
)
from benchmarks.analysis.leaderboard import FOLD_METRICS, run_leaderboard
from benchmarks.data.external import BOOTSTRAP_RESAMPLES
from benchmarks.grid.configuration import Trial
from benchmarks.grid.record import TrialRecord
from benchmarks.grid.store import RunInfo, RunStore
from benchmarks.scoring.metrics import (
    CONFIDENCE_LEVEL,
    MAX_FALSE_POSITIVE_RATE,
    auc_rows,
)

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
    records: list[TrialRecord]
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


def fold_table(records: list[TrialRecord]) -> pd.DataFrame:
    """One row per (trial, part): every scalar metric, train and validation."""
    rows = []
    for record in records:
        if record.is_final:
            continue
        for part in ("train", "validation"):
            metrics = record.metrics.of(part)
            rows.append(
                {
                    "model": record.model,
                    "strategy": record.strategy,
                    "fold": record.fold,
                    "part": part,
                    **{name: metrics[name] for name in _FOLD_METRICS},
                }
            )
    return pd.DataFrame(rows)


def test_table(records: list[TrialRecord], board: pd.DataFrame) -> pd.DataFrame:
    """The final fits' scores on the held-out Test split, in leaderboard order."""
    order = {
        (model, strategy): index
        for index, (model, strategy) in enumerate(
            zip(board.get("model", []), board.get("strategy", []), strict=True)
        )
    }
    rows = [
        {
            "model": record.model,
            "strategy": record.strategy,
            "n": record.metrics.test["n"],
            **{name: record.metrics.test[name] for name, _ in LEADERBOARD_METRICS},
        }
        for record in records
        if record.is_final and record.metrics.test is not None
    ]
    rows.sort(key=lambda row: order.get((row["model"], row["strategy"]), len(order)))
    return pd.DataFrame(rows)


def _figures(
    truth: np.ndarray, proba: np.ndarray, positive: int, n_classes: int
) -> dict[str, float]:
    """The leaderboard's figures of one resample, as ``evaluate`` computes
    them, in a fraction of its time (a bootstrap calls this a thousand times)."""
    predicted = proba.argmax(axis=1)
    counts = np.bincount(
        truth * n_classes + predicted, minlength=n_classes * n_classes
    ).reshape(n_classes, n_classes)
    hits = np.diag(counts).astype(float)
    true_totals, predicted_totals = counts.sum(axis=1), counts.sum(axis=0)
    present = true_totals > 0
    both = true_totals + predicted_totals
    is_positive = truth == positive
    n_positive = int(is_positive.sum())
    n_negative = len(truth) - n_positive
    figures = {
        "balanced_accuracy": float((hits[present] / true_totals[present]).mean()),
        "macro_f1": float(
            np.where(both > 0, 2 * hits / np.maximum(both, 1), 0.0).mean()
        ),
        "melanoma_sensitivity": hits[positive] / n_positive if n_positive else np.nan,
        "melanoma_specificity": (
            1 - (predicted_totals[positive] - hits[positive]) / n_negative
            if n_negative
            else np.nan
        ),
        "melanoma_auc": np.nan,
        "melanoma_sensitivity_at_80_specificity": np.nan,
    }
    if n_positive and n_negative:
        score = proba[:, positive]
        figures["melanoma_auc"] = float(auc_rows(is_positive[None], score[None])[0])
        order = np.argsort(-score, kind="stable")
        ranked, hit = score[order], is_positive[order]
        # One ROC point per distinct score: the last row of each run of ties.
        last = np.r_[ranked[1:] != ranked[:-1], True]
        tpr = np.cumsum(hit)[last] / n_positive
        fpr = np.cumsum(~hit)[last] / n_negative
        allowed = fpr <= MAX_FALSE_POSITIVE_RATE
        figures["melanoma_sensitivity_at_80_specificity"] = float(
            tpr[allowed].max() if allowed.any() else 0.0
        )
    return figures


def test_intervals(
    store: RunStore, info: RunInfo, records: list[TrialRecord], table: pd.DataFrame
) -> pd.DataFrame:
    """``table`` (the Test figures) with a 95% interval column ``NAME_ci`` per
    figure: a seeded bootstrap over Test images that resamples whole lesions,
    as the external sets' intervals do (photos of one lesion are not
    independent evidence)."""
    if table.empty:
        return table
    manifest = store.manifest()
    labels = manifest["label"].astype(str).to_numpy()
    groups = manifest["group"].astype(str).to_numpy()
    classes = list(info.classes)
    positive = classes.index(info.positive)
    finals = {r.key: r for r in records if r.is_final}
    columns: dict[str, list] = {f"{name}_ci": [] for name, _ in LEADERBOARD_METRICS}
    for row in table.to_dict("records"):
        key = Trial(row["model"], row["strategy"], None).key
        intervals: dict[str, tuple[float, float] | None] = dict.fromkeys(
            (name for name, _ in LEADERBOARD_METRICS), None
        )
        if key in finals:
            scores = store.scores(key)
            rows = scores["evaluation_rows"]
            proba = np.asarray(scores["evaluation_proba"], dtype=float)
            truth = pd.Index(classes).get_indexer(labels[rows])
            _, group_index = np.unique(groups[rows], return_inverse=True)
            members = [
                np.flatnonzero(group_index == g) for g in range(group_index.max() + 1)
            ]
            rng = np.random.default_rng(info.config.seed)
            drawn_figures = []
            for _ in range(BOOTSTRAP_RESAMPLES):
                drawn = rng.integers(0, len(members), len(members))
                picked = np.concatenate([members[g] for g in drawn])
                drawn_figures.append(
                    _figures(truth[picked], proba[picked], positive, len(classes))
                )
            tail = (1 - CONFIDENCE_LEVEL) / 2 * 100
            for name in intervals:
                values = np.array([f[name] for f in drawn_figures], dtype=float)
                values = values[~np.isnan(values)]
                if len(values) >= BOOTSTRAP_RESAMPLES // 2:
                    low, high = np.percentile(values, [tail, 100 - tail])
                    intervals[name] = (float(low), float(high))
        for name, interval in intervals.items():
            columns[f"{name}_ci"].append(interval)
    return table.assign(**columns)


def pooled_scores(
    store: RunStore, records: list[TrialRecord], model: str, strategy: str
) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, probabilities) of one configuration's out-of-fold
    validation predictions, every CV image once."""
    rows, proba = [], []
    for record in records:
        if (
            record.model == model
            and record.strategy == strategy
            and not record.is_final
        ):
            scores = store.scores(record.key)
            rows.append(scores["evaluation_rows"])
            proba.append(scores["evaluation_proba"])
    return np.concatenate(rows), np.concatenate(proba)


def build(store: RunStore) -> RunTables:

    info = store.info()
    audit = store.audit()
    records = store.records()
    board = with_site_thresholds(
        run_leaderboard(info, records, audit), store, info, records
    )
    return RunTables(
        info,
        audit,
        records,
        fold_table(records),
        board,
        test_intervals(store, info, records, test_table(records, board)),
        generalization_table(store, info, board, records),
        held_out_table(store, info, board, records),
    )
