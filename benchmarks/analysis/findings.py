"""The report's findings: what a run found, in sentences, each with its number,
95% interval and test, computed from the same folds as the leaderboard.

Pure functions of the leaderboard and the trial records: the report, a notebook
or a test can call them without a run folder.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from benchmarks.analysis.leaderboard import (
    BEST_RULE,
    RANKING,
    SIGNIFICANCE,
    WORST_SOURCE_AUC,
    best_index,
    interval_text,
    paired_differences,
    paired_test,
)
from benchmarks.core.errors import UserError
from benchmarks.grid.record import TrialRecord, by_configuration
from benchmarks.scoring.metrics import CONFIDENCE_LEVEL, summarize

#: The figures two configurations are compared on, with their shown names.
COMPARED = (
    ("balanced_accuracy", "balanced accuracy"),
    ("melanoma_auc", "melanoma AUC"),
)
_TEST = "corrected resampled t-test"


@dataclass(frozen=True)
class PairedDifference:
    """``first`` minus ``second``, two configurations of one run, over the
    folds both finished: the mean, its 95% interval (None below two folds)
    and the paired test's p. (``compare.FigureChange`` is a figure's change
    between two runs.)"""

    mean: float
    low: float | None
    high: float | None
    p: float | None
    folds: int
    #: Equal in every fold: no interval or test has anything to say.
    identical: bool = False

    @property
    def significant(self) -> bool:
        return self.p is not None and self.p < SIGNIFICANCE


def paired_difference(
    first: list[TrialRecord],
    second: list[TrialRecord],
    n_folds: int,
    name: str | Callable[[TrialRecord], float | None],
) -> PairedDifference | None:
    """The paired difference of a validation figure (or ``name(record)``) over
    the folds two configurations share; None when they share none.

    The interval uses the same corrected variance as the test (Nadeau &
    Bengio), so it excludes 0 exactly when p < 0.05: folds share training
    images, and a plain t interval would be far too narrow.
    """
    differences = np.asarray(paired_differences(first, second, name), dtype=float)
    differences = differences[~np.isnan(differences)]
    k = differences.size
    if k == 0:
        return None
    mean = float(differences.mean())
    if not differences.any():
        return PairedDifference(0.0, 0.0, 0.0, None, k, identical=True)
    if k < 2 or n_folds < 2:
        return PairedDifference(mean, None, None, None, k)
    fraction = 1 / n_folds
    variance = (1 / k + fraction / (1 - fraction)) * differences.var(ddof=1)
    half = float(
        stats.t.ppf(0.5 + CONFIDENCE_LEVEL / 2, df=k - 1) * math.sqrt(variance)
    )
    p = paired_test(first, second, n_folds, name)
    # Every figure compared lives in [0, 1], so a difference in [-1, 1]; a t
    # interval over two folds does not know that.
    return PairedDifference(mean, max(mean - half, -1.0), min(mean + half, 1.0), p, k)


def _p(p: float | None) -> str:
    if p is None:
        return "no test"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _signed(difference: PairedDifference) -> str:
    """'+0.050 [0.010, 0.090], p = 0.030' (or the one fold's difference)."""
    if difference.identical:
        return f"0.000 (the same in each of the {difference.folds} folds)"
    if difference.low is None:
        return (
            f"{difference.mean:+.3f} (from {difference.folds} fold: "
            "no interval or test)"
        )
    return (
        f"{difference.mean:+.3f} [{difference.low:.3f}, {difference.high:.3f}], "
        f"{_p(difference.p)}"
    )


def _effect(difference: PairedDifference, what: str) -> str:
    """'raises WHAT by 0.05 [0.01, 0.09], p = 0.03', 'lowers ...', or, where the
    folds cannot tell, 'changes WHAT by +0.01 [...]'."""
    if difference.identical:
        return f"leaves {what} unchanged in each of the {difference.folds} folds"
    if difference.significant and difference.low is not None:
        mean, low, high = difference.mean, difference.low, difference.high
        verb = "raises" if mean > 0 else "lowers"
        if mean < 0:
            mean, low, high = -mean, -high, -low
        return (
            f"{verb} {what} by {mean:.3f} [{low:.3f}, {high:.3f}], {_p(difference.p)}"
        )
    return f"changes {what} by {_signed(difference)}"


def fold_records(records: Sequence[TrialRecord]) -> dict[str, list[TrialRecord]]:
    """Cross-validation records by configuration ('MODEL:STRATEGY')."""
    grouped = by_configuration(record for record in records if not record.is_final)
    return {str(configuration): group for configuration, group in grouped.items()}


def _family_kind(model: str, plugins: Sequence[str]) -> str | None:
    """'images' for a family that reads images alone (a CNN), 'features' for
    one that reads handcrafted features alone, else None (hybrids, fusions)."""
    from benchmarks.grid import families

    try:
        spec = families.family(model, plugins)
    except UserError:  # a plug-in no longer installed
        return None
    if spec.inputs == (families.IMAGES,):
        return "images"
    if spec.inputs == (families.FEATURES,):
        return "features"
    return None


def _best_of(board: pd.DataFrame, rows: pd.Series) -> pd.Series | None:
    chosen = board[rows].reset_index(drop=True)
    return None if chosen.empty else chosen.iloc[best_index(chosen)]


def _n_folds(board: pd.DataFrame, n_folds: int | None) -> int:
    return int(n_folds or board["folds"].max())


@dataclass(frozen=True)
class FamilyContest:
    """The best CNN configuration against the best handcrafted-feature one,
    paired over the folds: each figure of ``COMPARED`` the folds gave."""

    cnn: str
    handcrafted: str
    folds: int
    differences: dict[str, PairedDifference]


def family_contest(
    board: pd.DataFrame,
    records: Sequence[TrialRecord],
    n_folds: int | None = None,
    plugins: Sequence[str] = (),
) -> FamilyContest | None:
    """The best of each kind by the leaderboard's ranking, paired; None when
    the run lacks either kind."""
    if board.empty:
        return None
    kinds = board["model"].map(lambda model: _family_kind(model, plugins))
    cnn = _best_of(board, kinds == "images")
    handcrafted = _best_of(board, kinds == "features")
    if cnn is None or handcrafted is None:
        return None
    grouped, folds = fold_records(records), _n_folds(board, n_folds)
    first, second = cnn["configuration"], handcrafted["configuration"]
    differences = {}
    for name, _ in COMPARED:
        difference = paired_difference(grouped[first], grouped[second], folds, name)
        if difference is not None:
            differences[name] = difference
    return FamilyContest(first, second, folds, differences)


def missing_kind(
    board: pd.DataFrame, plugins: Sequence[str] = ()
) -> Literal["CNN", "handcrafted-feature family"] | None:
    """Which of the two kinds a run lacks (the CNN first), None with both."""
    kinds = set(board["model"].map(lambda model: _family_kind(model, plugins)))
    if "images" not in kinds:
        return "CNN"
    if "features" not in kinds:
        return "handcrafted-feature family"
    return None


def family_comparison(
    board: pd.DataFrame,
    records: Sequence[TrialRecord],
    n_folds: int | None = None,
    plugins: Sequence[str] = (),
) -> list[str]:
    """The best CNN configuration against the best handcrafted-feature one
    (each the best of its kind by the leaderboard's ranking), on balanced
    accuracy and melanoma AUC; nothing when the run lacks either kind."""
    contest = family_contest(board, records, n_folds, plugins)
    if contest is None or not contest.differences:
        return []
    parts = [
        f"{shown} {_signed(contest.differences[name])}"
        for name, shown in COMPARED
        if name in contest.differences
    ]
    return [
        f"Best CNN ({contest.cnn}) minus best handcrafted-feature configuration "
        f"({contest.handcrafted}), paired over {contest.folds} folds: "
        f"{'; '.join(parts)} (mean [95% CI], {_TEST})."
    ]


def contest_clause(contest: FamilyContest) -> str:
    """The contest on melanoma AUC in one clause: who leads, by how much, or
    that the folds cannot tell the two apart."""
    difference = contest.differences.get("melanoma_auc")
    if difference is None:
        return f"{contest.cnn} and {contest.handcrafted} share no fold to compare"
    if difference.significant and difference.low is not None:
        leader, other = (
            (contest.cnn, contest.handcrafted)
            if difference.mean > 0
            else (contest.handcrafted, contest.cnn)
        )
        low, high = sorted((abs(difference.low), abs(difference.high)))
        return (
            f"{leader} leads {other} by {abs(difference.mean):.3f} melanoma AUC "
            f"[{low:.3f}, {high:.3f}], {_p(difference.p)}"
        )
    return (
        f"{contest.cnn} and {contest.handcrafted} cannot be told apart on "
        f"melanoma AUC ({_signed(difference)})"
    )


def strategy_differences(
    board: pd.DataFrame, records: Sequence[TrialRecord], n_folds: int | None = None
) -> dict[str, list[tuple[str, PairedDifference]]]:
    """For each model that ran ``none`` and another strategy, every other
    strategy minus ``none`` on balanced accuracy, paired over the folds."""
    if board.empty:
        return {}
    grouped, folds = fold_records(records), _n_folds(board, n_folds)
    effects = {}
    for model in dict.fromkeys(board["model"]):
        baseline = grouped.get(f"{model}:none")
        if not baseline:
            continue
        pairs = []
        for strategy in board.loc[board["model"] == model, "strategy"]:
            if strategy == "none":
                continue
            difference = paired_difference(
                grouped[f"{model}:{strategy}"], baseline, folds, "balanced_accuracy"
            )
            if difference is not None:
                pairs.append((strategy, difference))
        if pairs:
            effects[model] = pairs
    return effects


def strategy_effects(
    board: pd.DataFrame, records: Sequence[TrialRecord], n_folds: int | None = None
) -> list[str]:
    """For each model, every strategy against ``none`` on balanced accuracy:
    one sentence per model that ran ``none`` and at least one other."""
    folds = _n_folds(board, n_folds) if not board.empty else 0
    return [
        f"Strategies against none for {model} (paired over {folds} folds, "
        f"{_TEST}): "
        + "; ".join(
            f"{strategy} {_effect(difference, 'balanced accuracy')}"
            for strategy, difference in pairs
        )
        + "."
        for model, pairs in strategy_differences(board, records, n_folds).items()
    ]


def strategy_summary(
    effects: dict[str, list[tuple[str, PairedDifference]]],
) -> str:
    """The strategies' effects in one line, such as 'oversample helps cnn,
    hybrid; smote hurts xgb; nothing helps xgb-invariant': a strategy helps
    (hurts) a family where the folds tell its balanced accuracy above (below)
    that of none."""
    helps: dict[str, list[str]] = {}
    hurts: dict[str, list[str]] = {}
    for model, pairs in effects.items():
        for strategy, difference in pairs:
            if difference.significant and difference.mean != 0:
                side = helps if difference.mean > 0 else hurts
                side.setdefault(strategy, []).append(model)
    parts = [
        f"{strategy} {verb} {', '.join(models)}"
        for verb, side in (("helps", helps), ("hurts", hurts))
        for strategy, models in side.items()
    ]
    helped = {model for models in helps.values() for model in models}
    unhelped = [model for model in effects if model not in helped]
    if unhelped:
        parts.append(f"nothing helps {', '.join(unhelped)}")
    return "; ".join(parts)


def _gap(record: TrialRecord) -> float | None:
    return record.gap["balanced_accuracy"]


def overfitting(
    board: pd.DataFrame, records: Sequence[TrialRecord], n_folds: int | None = None
) -> list[str]:
    """The configurations with the smallest and the largest train-val gap in
    balanced accuracy, each with its interval, and whether the folds tell the
    two apart."""
    gaps = board["train_val_gap_mean"].astype(float) if not board.empty else None
    if gaps is None or gaps.notna().sum() < 2:
        return []
    grouped, folds = fold_records(records), _n_folds(board, n_folds)
    if gaps.max() - gaps.min() < 1e-9:
        return [
            "Every configuration has the same train-val gap in balanced "
            f"accuracy, {gaps.max():.3f}: none overfits more than another."
        ]
    least_row, most_row = board.loc[gaps.idxmin()], board.loc[gaps.idxmax()]
    least, most = least_row["configuration"], most_row["configuration"]

    held_out = any(str(column).startswith("held_out_") for column in board.columns)

    def shown(configuration: str) -> str:
        stats_ = summarize([_gap(record) for record in grouped[configuration]])
        if stats_["n"] < 2 or held_out:
            return f"{stats_['mean']:.3f}"
        # A gap of two figures in [0, 1] lies in [-1, 1]; a t interval over
        # three folds does not know that.
        low, high = max(stats_["ci_low"], -1.0), min(stats_["ci_high"], 1.0)
        return f"{stats_['mean']:.3f} [{low:.3f}, {high:.3f}]"

    def scored(row: pd.Series) -> str:
        """Its gap and its validation balanced accuracy: a small gap means
        little where the model barely learns."""
        gap, accuracy = shown(row["configuration"]), row["balanced_accuracy_mean"]
        if pd.isna(accuracy):
            return gap
        return f"{gap}, at validation balanced accuracy {accuracy:.3f}"

    over = "mean over held-out sources" if held_out else "mean [95% CI] over folds"
    sentence = (
        f"Train-val gap in balanced accuracy ({over}): "
        f"least overfit {least}, {scored(least_row)}; most overfit {most}, "
        f"{scored(most_row)}"
    )
    difference = paired_difference(grouped[most], grouped[least], folds, _gap)
    if difference is not None and difference.low is not None and not held_out:
        sentence += f"; their difference {_signed(difference)} ({_TEST})"
    return [sentence + "."]


def overfitting_summary(board: pd.DataFrame) -> str | None:
    """The least and the most overfit configurations in one line; None with
    fewer than two gaps."""
    gaps = board["train_val_gap_mean"].astype(float) if not board.empty else None
    if gaps is None or gaps.notna().sum() < 2:
        return None
    if gaps.max() - gaps.min() < 1e-9:
        return f"every configuration's gap is {gaps.max():.3f}"
    least, most = gaps.idxmin(), gaps.idxmax()
    return (
        f"least overfit {board.loc[least, 'configuration']} ({gaps[least]:.3f}), "
        f"most {board.loc[most, 'configuration']} ({gaps[most]:.3f})"
    )


def best(board: pd.DataFrame) -> list[str]:
    """The configuration the leaderboard marks best, which ``train`` fits by
    default, with its ranking figure and the rule that chose it."""
    if board.empty or not board["best"].any():
        return []
    row = board[board["best"]].iloc[0]
    worst = row.get(WORST_SOURCE_AUC)
    if worst is not None and not pd.isna(worst):
        return [
            f"Best, and what train fits by default: {row['configuration']}, melanoma "
            f"AUC {worst:.3f} on its worst held-out source, "
            f"{row['melanoma_auc_mean']:.3f} on average over the "
            f"{row['folds']} held-out sources. Rule: {BEST_RULE}."
        ]
    held_out = any(str(column).startswith("held_out_") for column in board.columns)
    shown = interval_text(row, RANKING[0], interval=not held_out)
    where = (
        f"mean over the {row['folds']} held-out sources"
        if held_out
        else f"mean [95% CI] over {row['folds']} folds"
    )
    return [
        f"Best, and what train fits by default: {row['configuration']}, melanoma "
        f"sensitivity at 80% specificity {shown} ({where}). Rule: {BEST_RULE}."
    ]


#: Below this specificity at the threshold carried over to a held-out source,
#: its worklist would flag most of its benign lesions as urgent.
MIN_CARRIED_SPECIFICITY = 0.40


def carried_thresholds(board: pd.DataFrame) -> list[str]:
    """Leave-source-out: one sentence per held-out source where the best
    configuration's threshold carried over from the other sources keeps a
    specificity below ``MIN_CARRIED_SPECIFICITY``, with the figures at the
    source's own threshold beside."""
    if board.empty or not board["best"].any():
        return []
    row = board[board["best"]].iloc[0]
    suffix = "_carried_specificity"
    sources = [
        column[len("held_out_") : -len(suffix)]
        for column in board.columns
        if column.startswith("held_out_") and column.endswith(suffix)
    ]
    sentences = []
    for source in sources:
        figures = {
            name: row.get(f"held_out_{source}_{name}")
            for name in (
                "carried_sensitivity",
                "carried_specificity",
                "own_sensitivity",
                "own_specificity",
            )
        }
        if any(value is None or pd.isna(value) for value in figures.values()):
            continue
        if figures["carried_specificity"] >= MIN_CARRIED_SPECIFICITY:
            continue
        sentences.append(
            f"The threshold does not carry over to {source}: set on the other "
            f"sources' out-of-fold scores as train sets it, {row['configuration']}'s "
            f"melanoma threshold keeps specificity {figures['carried_specificity']:.2f}"
            f" there (sensitivity {figures['carried_sensitivity']:.2f}); set on "
            f"{source}'s own scores by the same rule it would keep "
            f"{figures['own_specificity']:.2f} (sensitivity "
            f"{figures['own_sensitivity']:.2f}). At a new site, set the threshold "
            "on labelled images of that site before trusting the worklist."
        )
    return sentences
