"""Three sources, one rule: the pick is judged by its worst held-out source;
a site's threshold carried over from the others beside its own."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.analysis.findings import best, carried_thresholds
from benchmarks.analysis.generalization import _operating, _threshold, family_by_source
from benchmarks.analysis.leaderboard import (
    BEST_RULE,
    FOLD_METRICS,
    WORST_SOURCE_AUC,
    leaderboard,
)
from benchmarks.grid.record import TrialRecord
from tests.conftest import trial_record

THREE = ("isic9", "ham", "atlas")


def _record(model: str, fold: int, auc: float, sensitivity: float) -> TrialRecord:
    validation = {name: 0.5 for name in FOLD_METRICS}
    validation.update(
        melanoma_auc=auc, melanoma_sensitivity_at_80_specificity=sensitivity
    )
    return trial_record(
        model,
        "none",
        fold,
        validation,
        train={"balanced_accuracy": 0.9},
        gap={"balanced_accuracy": 0.1},
    )


def _records(figures: dict[str, list[tuple[float, float]]]) -> list[TrialRecord]:
    return [
        _record(model, fold, auc, sensitivity)
        for model, folds in figures.items()
        for fold, (auc, sensitivity) in enumerate(folds)
    ]


def test_with_three_sources_the_worst_source_decides():
    records = _records(
        {
            # Best on average and by sensitivity, but poor on one source.
            "xgb": [(0.95, 0.95), (0.95, 0.95), (0.60, 0.30)],
            "linear-invariant": [(0.80, 0.60), (0.78, 0.55), (0.75, 0.50)],
            # Same worst source as linear-invariant, lower mean: the tie-break.
            "xgb-invariant": [(0.76, 0.70), (0.75, 0.70), (0.75, 0.70)],
        }
    )
    board = leaderboard(records, held_out=THREE)
    assert board.loc[board["best"], "configuration"].tolist() == [
        "linear-invariant:none"
    ]
    worst = dict(zip(board["configuration"], board[WORST_SOURCE_AUC], strict=True))
    assert worst == {
        "xgb:none": 0.60,
        "linear-invariant:none": 0.75,
        "xgb-invariant:none": 0.75,
    }
    assert "worst held-out source" in BEST_RULE and "DomainBed" in BEST_RULE
    (sentence,) = best(board)
    assert "0.750 on its worst held-out source" in sentence
    assert "0.777 on average over the 3 held-out sources" in sentence


def test_with_two_sources_the_mean_sensitivity_still_decides():
    records = _records(
        {
            "xgb": [(0.95, 0.95), (0.60, 0.30)],
            "linear-invariant": [(0.80, 0.60), (0.75, 0.50)],
        }
    )
    board = leaderboard(records, held_out=THREE[:2])
    assert board.loc[board["best"], "configuration"].tolist() == ["xgb:none"]
    assert WORST_SOURCE_AUC not in board


def test_a_configuration_missing_a_source_is_not_judged_by_its_worst():
    records = _records(
        {
            "xgb": [(0.99, 0.9), (0.99, 0.9)],
            "linear-invariant": [(0.80, 0.6), (0.78, 0.5), (0.70, 0.5)],
        }
    )
    board = leaderboard(records, held_out=THREE)
    worst = board.set_index("configuration")[WORST_SOURCE_AUC]
    assert pd.isna(worst["xgb:none"]) and worst["linear-invariant:none"] == 0.70
    assert board.loc[board["best"], "configuration"].tolist() == [
        "linear-invariant:none"
    ]


def test_the_threshold_is_set_as_train_sets_it_and_applied_unchanged():
    is_positive = np.array([True] * 20 + [False] * 10)
    score = np.r_[np.linspace(0.5, 1.0, 20), np.linspace(0.0, 0.6, 10)]
    threshold = _threshold(is_positive, score)
    # 19 of 20 melanomas (95%) at or above it: the second-lowest melanoma.
    assert threshold == score[1]
    sensitivity, specificity = _operating(is_positive, score, threshold)
    assert sensitivity == 0.95
    assert specificity == float((score[20:] < threshold).mean())
    assert _threshold(np.zeros(3, dtype=bool), np.ones(3)) is None
    assert _operating(is_positive, score, None) == (None, None)


def _board_with_site(carried: float, own: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "configuration": ["linear-invariant:none", "xgb:none"],
            "best": [True, False],
            "held_out_atlas_carried_sensitivity": [0.97, 0.99],
            "held_out_atlas_carried_specificity": [carried, 0.01],
            "held_out_atlas_own_sensitivity": [0.95, 0.95],
            "held_out_atlas_own_specificity": [own, 0.2],
        }
    )


def test_a_threshold_that_does_not_carry_over_is_a_finding():
    (sentence,) = carried_thresholds(_board_with_site(0.08, 0.46))
    assert sentence.startswith("The threshold does not carry over to atlas")
    assert "linear-invariant:none" in sentence
    assert "specificity 0.08" in sentence and "keep 0.46" in sentence
    assert carried_thresholds(_board_with_site(0.40, 0.46)) == []


def test_each_family_s_best_auc_by_held_out_source():
    held_out = pd.DataFrame(
        {
            "model": ["xgb", "xgb", "xgb", "cnn"],
            "held_out": ["ham", "atlas", "ham", "atlas"],
            "melanoma_auc": [0.6, 0.7, 0.65, 0.8],
        }
    )
    table = family_by_source(held_out, ("isic9", "ham", "atlas"))
    assert list(table.columns) == ["ham", "atlas"]
    assert list(table.index) == ["xgb", "cnn"]
    assert table.loc["xgb", "ham"] == 0.65 and table.loc["cnn", "atlas"] == 0.8
    assert pd.isna(table.loc["cnn", "ham"])
