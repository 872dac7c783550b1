"""The leaderboard: one row per configuration, fold figures, Test figures, the best.

The one table behind the terminal summary, leaderboard.csv, the report and
``train``'s default pick, so they can never disagree on a figure or on which
configuration is best.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence

import numpy as np
import pandas as pd

from benchmarks.analysis.generalization import with_site_thresholds
from benchmarks.core.cache import atomic_write
from benchmarks.core.spreadsheet import csv_bytes
from benchmarks.grid.configuration import Configuration
from benchmarks.grid.record import TrialRecord, by_configuration
from benchmarks.grid.store import RunInfo, RunStore
from benchmarks.scoring.metrics import (
    MAX_FALSE_POSITIVE_RATE,
    corrected_resampled_ttest,
    summarize,
)

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
#: The one rule for "best": the leaderboard marks it, the report states it and
#: ``train`` picks it by default.
BEST_RULE = (
    f"highest mean out-of-fold melanoma sensitivity at "
    f"{1 - MAX_FALSE_POSITIVE_RATE:.0%} specificity, ties by balanced accuracy; "
    "when the shortcut audit flags the data, only configurations whose family "
    "(preprocessing variants included) reads inputs that do not describe the "
    "camera compete, and of those not distinguishable from their leader "
    "(p >= 0.05) the one with the smallest train-val gap wins (all families "
    "compete when the run has none such); with "
    "leave-source-out folds, by the mean over the held-out sources, among all "
    "families; with three or more sources, by the melanoma AUC on the worst "
    "held-out source, ties by the mean over the held-out sources "
    "(leave-one-domain-out selection, as DomainBed states it)"
)
#: From this many held-out sources on, the best is judged by its worst source.
WORST_SOURCE_MINIMUM = 3
#: The leaderboard column of the worst held-out source's melanoma AUC, and the
#: columns that rank configurations by it (its ties by the mean).
WORST_SOURCE_AUC = "worst_held_out_melanoma_auc"
WORST_SOURCE_RANKING = (WORST_SOURCE_AUC, "melanoma_auc_mean")
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
    records: list[TrialRecord], order: Sequence[Configuration]
) -> dict[Configuration, list[TrialRecord]]:
    """Records by configuration: ``order`` first (the run's grid), then any
    other in name order."""
    grouped = by_configuration(records)
    listed = set(order)
    rest = sorted(item for item in grouped if item not in listed)
    return {item: grouped[item] for item in [*order, *rest] if item in grouped}


def _fold_values(
    folds: list[TrialRecord], name: str | Callable[[TrialRecord], float | None]
) -> dict[int, float | None]:
    if callable(name):
        return {record.fold: name(record) for record in folds}
    return {record.fold: record.metrics.validation[name] for record in folds}


def best_index(
    board: pd.DataFrame,
    eligible: Collection[str] | None = None,
    columns: Sequence[str] | None = None,
) -> int:
    """The position of the best row by ``columns`` (default: the fold means of
    ``RANKING``), among the rows of the ``eligible`` families where any is on
    the board."""
    # Rounded so that equal fold means computed in another order still tie;
    # the first in leaderboard order wins an exact tie.
    keys = board[list(columns or [f"{name}_mean" for name in RANKING])]
    keys = keys.astype(float).round(9).fillna(-1.0).to_numpy()
    candidates = [
        index
        for index, model in enumerate(board["model"])
        if eligible is None or model in eligible
    ]
    return min(candidates or range(len(board)), key=lambda index: tuple(-keys[index]))


def eligible_families(
    audit: dict, models: Iterable[str] | None = None, plugins: Sequence[str] = ()
) -> set[str] | None:
    """The families that may be best: all (None), or, when the shortcut audit
    flagged the data, those among ``models`` (default: every installed family)
    whose inputs do not describe the camera.

    Why: on such data the cross-validated ranking rewards recognising the
    archive; a family that cannot see it is the one whose figures carry over.
    The registry judges each name, so a variant ``NAME@PREPROCESSING`` is
    eligible exactly when its family is.
    """
    if not audit.get("shortcuts", {}).get("flagged"):
        return None
    from benchmarks.grid import families

    names = families.installed() if models is None else dict.fromkeys(models)
    return {name for name in names if acquisition_invariant(name, plugins)}


def acquisition_invariant(model: str, plugins: Sequence[str] = ()) -> bool:
    """Whether the family ``model`` reads only inputs that do not describe
    the camera; False for a plug-in no longer installed."""
    from benchmarks.core.errors import UserError
    from benchmarks.grid import families

    try:
        return families.family(model, plugins).acquisition_invariant
    except UserError:  # a plug-in no longer installed: it cannot be judged
        return False


def leaderboard_of(
    store: RunStore, records: list[TrialRecord] | None = None
) -> pd.DataFrame:
    """A run folder's leaderboard: its records in its grid's order, the best
    by ``BEST_RULE`` given its audit and folds; a leave-source-out run's with
    each held-out source's sensitivity and specificity at the threshold
    carried over from the others and at its own (``with_site_thresholds``).
    ``records`` where the caller has read them already."""
    audit = store.audit() if store.path("audit.json").is_file() else {}
    info = store.info()
    records = store.records() if records is None else records
    board = run_leaderboard(info, records, audit)
    return with_site_thresholds(board, store, info, records)


def write_leaderboard(
    store: RunStore, board: pd.DataFrame | None = None
) -> pd.DataFrame:
    """leaderboard.csv in the run folder, rewritten after each run and report;
    ``board`` where the caller has it already."""
    board = leaderboard_of(store) if board is None else board
    atomic_write(
        store.path("leaderboard.csv"), lambda stream: stream.write(csv_bytes(board))
    )
    return board


def run_leaderboard(
    info: RunInfo, records: list[TrialRecord], audit: dict
) -> pd.DataFrame:
    """``leaderboard`` as a run's folds and audit decide it."""
    if info.leave_source_out:
        # Each held-out source is scored by models that never saw its camera.
        return leaderboard(records, info.grid, None, info.sources)
    from benchmarks.grid.plan import plugins

    models = [item.model for item in info.grid] + [r.model for r in records]
    return leaderboard(
        records, info.grid, eligible_families(audit, models, plugins(info.config))
    )


def paired_differences(
    first: list[TrialRecord],
    second: list[TrialRecord],
    name: str | Callable[[TrialRecord], float | None],
) -> list[float]:
    """``first`` minus ``second`` validation ``name`` (or ``name(record)``),
    fold by fold, over the folds both finished and where both are defined."""
    one, other = _fold_values(first, name), _fold_values(second, name)
    return [
        one[fold] - other[fold]
        for fold in sorted(set(one) & set(other))
        if one[fold] is not None and other[fold] is not None
    ]


def paired_test(
    first: list[TrialRecord],
    second: list[TrialRecord],
    n_folds: int,
    name: str | Callable[[TrialRecord], float | None] = RANKING[0],
) -> float | None:
    """p of the corrected resampled t-test of ``first`` against ``second`` on
    validation ``name``, over the folds both configurations finished."""
    differences = paired_differences(first, second, name)
    if n_folds < 2:
        return None
    return corrected_resampled_ttest(
        differences, [0.0] * len(differences), test_fraction=1 / n_folds
    )


def _paired_p(
    best: list[TrialRecord], other: list[TrialRecord], n_folds: int
) -> tuple[float | None, bool | None]:
    """p of the corrected resampled t-test on the first ranking figure, over the
    folds both configurations finished, and whether it tells them apart."""
    p = paired_test(best, other, n_folds)
    return p, None if p is None else bool(p < SIGNIFICANCE)


def leaderboard(
    records: list[TrialRecord],
    order: Sequence[Configuration] = (),
    eligible: Collection[str] | None = None,
    held_out: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per configuration with at least one finished fold, in ``order``
    (the run's grid), the best by ``BEST_RULE`` marked, each other row's p
    against it.

    ``train_val_gap`` is train minus validation balanced accuracy, fold by
    fold; the Test columns come from the final fit on all training images
    (empty without a Test split). ``held_out`` names the source each fold
    holds out in a leave-source-out run: each gets its own columns
    (held_out_NAME_...), the figures of the models trained on the others.
    """
    rows, fold_records = [], []
    for configuration, group in _configurations(records, order).items():
        folds = [record for record in group if not record.is_final]
        final = next((record for record in group if record.is_final), None)
        if folds:
            rows.append(_row(configuration, group, folds, final, held_out))
            fold_records.append(folds)
    extra = [name for row in rows for name in row if name not in COLUMNS]
    board = pd.DataFrame(rows, columns=[*COLUMNS, *dict.fromkeys(extra)])
    if board.empty:
        return board
    worst_first = len(held_out) >= WORST_SOURCE_MINIMUM
    best = best_index(board, eligible, WORST_SOURCE_RANKING if worst_first else None)
    n_folds = max(len(folds) for folds in fold_records)
    tested: dict[tuple[int, int], tuple[float | None, bool | None]] = {}

    def test(leader: int, index: int) -> tuple[float | None, bool | None]:
        """Row ``index`` against row ``leader``, each pair computed once."""
        if index == leader:
            return None, None
        if (leader, index) not in tested:
            tested[leader, index] = _paired_p(
                fold_records[leader], fold_records[index], n_folds
            )
        return tested[leader, index]

    if eligible is not None:
        leader = best
        best = _least_overfit(board, lambda index: test(leader, index), best, eligible)
    tests = [test(best, index) for index in range(len(board))]
    board["best"] = board.index == best
    board["p_vs_best"] = [p for p, _ in tests]
    board["distinguishable"] = [distinct for _, distinct in tests]
    return board


def _row(
    configuration: Configuration,
    group: list[TrialRecord],
    folds: list[TrialRecord],
    final: TrialRecord | None,
    held_out: Sequence[str],
) -> dict:
    """A configuration's leaderboard row, before the best is marked."""
    row: dict = {
        "configuration": str(configuration),
        "model": configuration.model,
        "strategy": configuration.strategy,
        "folds": len(folds),
    }
    for name in FOLD_METRICS:
        stats = summarize([r.metrics.validation[name] for r in folds])
        if stats["ci_low"] is not None:
            # Every fold metric lives in [0, 1]; a t interval over two or
            # three folds (or held-out sources) does not know that.
            stats["ci_low"] = max(stats["ci_low"], 0.0)
            stats["ci_high"] = min(stats["ci_high"], 1.0)
        row.update({f"{name}_{stat}": stats[stat] for stat in _STATS})
    train = summarize([r.metrics.train["balanced_accuracy"] for r in folds])
    row["train_balanced_accuracy_mean"] = train["mean"]
    gap = summarize([r.gap["balanced_accuracy"] for r in folds])
    row["train_val_gap_mean"], row["train_val_gap_std"] = gap["mean"], gap["std"]
    row["wall_seconds"] = sum(r.timings.wall_seconds for r in group)
    test = (final.metrics.test if final else None) or {}
    row.update({f"test_{name}": test.get(name) for name in TEST_METRICS})
    for record in folds if held_out else ():
        figures, name = record.metrics.validation, held_out[record.fold]
        row.update(
            {
                f"held_out_{name}_{metric}": figures[metric]
                for metric in EXTERNAL_METRICS
            }
        )
    if len(held_out) >= WORST_SOURCE_MINIMUM:
        row[WORST_SOURCE_AUC] = _worst(
            [r.metrics.validation["melanoma_auc"] for r in folds], len(held_out)
        )
    for source, figures in ((final.external if final else None) or {}).items():
        row.update(
            {f"external_{source}_{name}": figures[name] for name in EXTERNAL_METRICS}
        )
    return row


def _worst(values: list[float | None], n_sources: int) -> float | None:
    """The lowest of the held-out sources' figures; None until every source
    has one (a configuration missing a source cannot be judged by its worst)."""
    present = [value for value in values if value is not None]
    return min(present) if len(present) == n_sources else None


def _least_overfit(
    board: pd.DataFrame,
    test: Callable[[int], tuple[float | None, bool | None]],
    best: int,
    eligible: Collection[str],
) -> int:
    """Among the ``eligible`` rows not distinguishable from ``best``, the one
    with the smallest train-val gap.

    Why: on data the shortcut audit flags, a higher cross-validated figure can
    come from residual acquisition cues a flexible model still finds; among
    configurations the folds cannot tell apart, the one that fits its
    training part least beyond its validation part has learnt the least of
    them (a one-standard-error rule).
    """
    if board.loc[best, "model"] not in eligible:
        return best
    tied = [
        index
        for index, model in enumerate(board["model"])
        if model in eligible and (index == best or test(index)[1] is False)
    ]
    gaps = board["train_val_gap_mean"].astype(float).fillna(np.inf)
    return min(tied, key=lambda index: (round(gaps[index], 9), index))


def best_configuration(board: pd.DataFrame) -> Configuration:
    """The configuration the leaderboard marks best."""
    row = board[board["best"]].iloc[0]
    return Configuration(row["model"], row["strategy"])


def interval_text(row: pd.Series, name: str, interval: bool = True) -> str:
    """A row's fold mean of ``name`` with its 95% interval clipped to [0, 1],
    '0.871 [0.850, 0.890]'; the mean alone where one fold gives no interval,
    or where ``interval`` is False (folds that are held-out sources: a
    Student-t interval over two of them spans more than [0, 1])."""
    mean = row[f"{name}_mean"]
    if mean is None or pd.isna(mean):
        return "-"
    low, high = row[f"{name}_ci_low"], row[f"{name}_ci_high"]
    if not interval or row["folds"] < 2 or any(pd.isna(value) for value in (low, high)):
        return f"{mean:.3f}"
    return f"{mean:.3f} [{max(float(low), 0.0):.3f}, {min(float(high), 1.0):.3f}]"


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
