"""A run's answer in at most three lines: the configuration to use and its
figure, whether that figure carries over (and how much it overfits), and the
CNN against the handcrafted features.

Why its own module: the report's first screen, the end of ``run`` and ``list
runs`` show the same lines, so they are worked out once, from the leaderboard
and the trial records alone (no scores read, no resampling).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from benchmarks.analysis.findings import (
    contest_clause,
    family_contest,
    fold_records,
    missing_kind,
)
from benchmarks.analysis.leaderboard import (
    WORST_SOURCE_AUC,
    acquisition_invariant,
    best_index,
    interval_text,
)
from benchmarks.grid.record import TrialRecord
from benchmarks.grid.store import RunInfo

CARRIES_OVER = "Carries over?"
CNN_AGAINST_FEATURES = "CNN against handcrafted features:"


@dataclass(frozen=True)
class VerdictLine:
    """One line of the verdict: its question or lead word, its answer, and
    the report section that shows the figures behind it."""

    label: str
    text: str
    section: str

    def __str__(self) -> str:
        return f"{self.label} {self.text}"


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def held_out_aucs(
    records: Sequence[TrialRecord], configuration: str, info: RunInfo
) -> dict[str, float | None]:
    """Leave-source-out: the configuration's melanoma AUC on each held-out
    source, in the order of ``--data``."""
    folds = {
        record.fold: record.metrics.validation["melanoma_auc"]
        for record in fold_records(records).get(configuration, [])
    }
    return {
        source: folds[fold] for fold, source in enumerate(info.sources) if fold in folds
    }


def _pick(row: pd.Series, records: Sequence[TrialRecord], info: RunInfo) -> str:
    configuration = row["configuration"]
    worst = _number(row.get(WORST_SOURCE_AUC))
    if worst is not None:
        aucs = held_out_aucs(records, configuration, info)
        source = min(
            (name for name, auc in aucs.items() if auc is not None),
            key=lambda name: aucs[name],
        )
        return (
            f"{configuration}: melanoma AUC {worst:.3f} on its worst held-out "
            f"source ({source}), {row['melanoma_auc_mean']:.3f} on average over "
            f"{row['folds']} sources."
        )
    # Held-out sources get no interval; the next line gives each one's figure.
    interval = not info.leave_source_out
    where = (
        f"mean over {row['folds']} held-out sources"
        if info.leave_source_out
        else f"{row['folds']}-fold cross-validation"
    )
    sensitivity = interval_text(row, "melanoma_sensitivity_at_80_specificity", interval)
    return (
        f"{configuration}: melanoma sensitivity {sensitivity} at 80% specificity, "
        f"AUC {interval_text(row, 'melanoma_auc', interval)} ({where})."
    )


def _why_not_the_top(
    row: pd.Series, board: pd.DataFrame, plugins: Sequence[str]
) -> str:
    """Why the pick is not the row with the highest ranking figure, in this
    run's terms ('' where it is): the shortcut rule set the top aside, or
    chose the least overfit of the rows the folds cannot tell apart."""
    figure = "melanoma_sensitivity_at_80_specificity_mean"
    top = board.iloc[best_index(board)]
    if top["configuration"] == row["configuration"]:
        return ""
    eligible = [
        model
        for model in dict.fromkeys(board["model"])
        if acquisition_invariant(model, plugins)
    ]
    leader = board.iloc[best_index(board, eligible)]
    text = ""
    if top["model"] not in eligible:
        text = (
            " The shortcut audit flagged this data, so only families that cannot "
            f"see the camera competed ({', '.join(eligible)}): "
            f"{top['configuration']}'s {top[figure]:.3f} may rest on the camera."
        )
    if leader["configuration"] != row["configuration"]:
        text += (
            f" {'Of those, ' if text else ''}{leader['configuration']} scored "
            f"{leader[figure]:.3f}; the folds cannot tell it from this one, which "
            f"overfits less (train-val gap {row['train_val_gap_mean']:.3f} against "
            f"{leader['train_val_gap_mean']:.3f})."
        )
    return text


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _external(
    row: pd.Series, records: Sequence[TrialRecord]
) -> dict[str, float | None]:
    """The configuration's final fit's melanoma AUC on each external set."""
    final = next(
        (
            record
            for record in records
            if record.is_final and str(record.configuration) == row["configuration"]
        ),
        None,
    )
    if final is None or not final.external:
        return {}
    return {
        name: _number(figures.get("melanoma_auc"))
        for name, figures in final.external.items()
    }


def _carries_over(
    row: pd.Series, records: Sequence[TrialRecord], info: RunInfo
) -> VerdictLine:
    """Held-out sources or external sets against cross-validation, and the
    train-val gap."""
    gap = _number(row["train_val_gap_mean"])
    overfit = "" if gap is None else f"; train-val gap {gap:.3f} in balanced accuracy"
    external = _external(row, records)
    cv_auc = _number(row["melanoma_auc_mean"])
    on_external = "; ".join(
        f"{name} {_shown(auc)}"
        + ("" if auc is None or cv_auc is None else f" ({auc - cv_auc:+.3f})")
        for name, auc in external.items()
    )
    if info.leave_source_out:
        aucs = held_out_aucs(records, row["configuration"], info)
        listed = ", ".join(f"{name} {_shown(auc)}" for name, auc in aucs.items())
        also = "".join(
            f"; {name} (external) {_shown(auc)}" for name, auc in external.items()
        )
        return VerdictLine(
            CARRIES_OVER,
            f"Melanoma AUC with each source held out: {listed}{also}{overfit}.",
            "leave-source-out",
        )
    if external:
        return VerdictLine(
            CARRIES_OVER,
            f"Melanoma AUC on {on_external} against "
            f"{_shown(cv_auc)} in cross-validation{overfit}.",
            "generalization",
        )
    return VerdictLine(
        CARRIES_OVER,
        f"Not measured: add --external or a second --data{overfit}.",
        "overfitting",
    )


def cnn_against_features(
    board: pd.DataFrame,
    records: Sequence[TrialRecord],
    info: RunInfo,
    plugins: Sequence[str] = (),
) -> str:
    """The best CNN against the best handcrafted-feature configuration on
    melanoma AUC, in one clause."""
    contest = family_contest(board, records, info.n_folds, plugins)
    if contest is None:
        missing = missing_kind(board, plugins)
        return f"not compared, this run has no {missing} ('run all' has both)."
    return f"{contest_clause(contest)}."


def verdict(
    board: pd.DataFrame,
    records: Sequence[TrialRecord],
    info: RunInfo,
    plugins: Sequence[str] = (),
) -> list[VerdictLine]:
    """The verdict's lines, none before the leaderboard marks a best."""
    if board.empty or not board["best"].any():
        return []
    row = board[board["best"]].iloc[0]
    text = _pick(row, records, info)
    if not info.leave_source_out:
        text += _why_not_the_top(row, board, plugins)
    pick = VerdictLine("Use", text, "leaderboard")
    if len(info.grid) == 1:
        # A grid of one configuration chose nothing: no endorsement.
        pick = VerdictLine(
            "Only",
            f"{pick.text} It was the grid's one configuration: nothing was "
            "compared with it.",
            "leaderboard",
        )
    return [
        pick,
        _carries_over(row, records, info),
        VerdictLine(
            CNN_AGAINST_FEATURES,
            cnn_against_features(board, records, info, plugins),
            "findings-families",
        ),
    ]
