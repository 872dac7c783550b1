"""The leaderboard's rule for "best" and its paired tests."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.analysis import leaderboard as module
from benchmarks.analysis.leaderboard import (
    FOLD_METRICS,
    eligible_families,
    leaderboard,
    paired_differences,
)
from tests.conftest import trial_record

FLAGGED = {"shortcuts": {"flagged": ["colour"]}}


def _record(model, strategy, sensitivity, gap, fold, bacc=0.6):
    validation = {name: 0.5 for name in FOLD_METRICS}
    validation["melanoma_sensitivity_at_80_specificity"] = sensitivity
    validation["balanced_accuracy"] = bacc
    return trial_record(
        model,
        strategy,
        fold,
        validation,
        train={"balanced_accuracy": 0.9},
        gap={"balanced_accuracy": gap},
    )


def test_preprocessing_variants_of_camera_blind_families_can_be_best():
    records = [
        *(_record("xgb", "none", 0.99, 0.01, f) for f in range(3)),
        *(_record("linear-invariant", "none", 0.60, 0.05, f) for f in range(3)),
        *(
            _record("linear-invariant@lesion-crop", "none", s, 0.02, f)
            for f, s in enumerate((0.80, 0.82, 0.81))
        ),
    ]
    models = [record.model for record in records]
    flagged = eligible_families(FLAGGED, models)
    assert flagged == {"linear-invariant", "linear-invariant@lesion-crop"}
    board = leaderboard(records, eligible=flagged)
    assert board.loc[board["best"], "configuration"].tolist() == [
        "linear-invariant@lesion-crop:none"
    ]
    assert eligible_families({}, models) is None


@pytest.mark.parametrize("leader_gap", [0.30, 0.01], ids=["switches", "keeps"])
def test_each_paired_test_is_computed_once(monkeypatch, leader_gap):
    records = [
        *(
            _record("xgb-invariant", "none", s, leader_gap, f)
            for f, s in enumerate((0.82, 0.70))
        ),
        *(
            _record("linear-invariant", "none", s, 0.05, f)
            for f, s in enumerate((0.72, 0.78))
        ),
        *(_record("xgb", "none", 0.99, 0.01, f) for f in range(2)),
    ]
    pairs = []
    real = module._paired_p

    def counted(best, other, n_folds):
        pairs.append((best[0].model, other[0].model))
        return real(best, other, n_folds)

    monkeypatch.setattr(module, "_paired_p", counted)
    board = leaderboard(records, eligible=eligible_families(FLAGGED))
    winner = "linear-invariant" if leader_gap > 0.05 else "xgb-invariant"
    assert board.loc[board["best"], "model"].tolist() == [winner]
    assert len(pairs) == len(set(pairs))
    assert {other for best, other in pairs if best == winner} == {
        "xgb",
        "xgb-invariant",
        "linear-invariant",
    } - {winner}


def test_paired_differences_skip_folds_either_lacks():
    first = [_record("a", "none", s, 0.1, f) for f, s in enumerate((0.8, None, 0.6))]
    second = [_record("b", "none", 0.5, 0.1, f) for f in (0, 1)]
    assert paired_differences(
        first, second, "melanoma_sensitivity_at_80_specificity"
    ) == [pytest.approx(0.3)]
    gaps = paired_differences(first, second, lambda r: r.gap["balanced_accuracy"])
    assert gaps == [0.0, 0.0]


@pytest.mark.parametrize(
    ("folds", "mean", "low", "high", "expected"),
    [
        (3, 0.8, 0.75, 0.85, "0.800 [0.750, 0.850]"),
        (3, 0.97, 0.9, 1.04, "0.970 [0.900, 1.000]"),
        (3, 0.02, -0.03, 0.07, "0.020 [0.000, 0.070]"),
        (1, 0.8, 0.8, 0.8, "0.800"),
        (3, 0.8, float("nan"), float("nan"), "0.800"),
        (3, float("nan"), float("nan"), float("nan"), "-"),
    ],
)
def test_interval_text_clips_to_0_1_and_needs_two_folds(
    folds, mean, low, high, expected
):
    row = pd.Series(
        {"folds": folds, "x_mean": mean, "x_ci_low": low, "x_ci_high": high}
    )
    assert module.interval_text(row, "x") == expected


def test_the_board_keeps_every_fold_interval_within_0_1():
    """Two folds far apart: a t interval of 0.5 +- 5.7, kept to [0, 1]."""
    records = [
        _record("xgb", "none", sensitivity, 0.1, fold, bacc=sensitivity)
        for fold, sensitivity in enumerate((0.05, 0.95))
    ]
    row = leaderboard(records).iloc[0]
    for name in ("balanced_accuracy", "melanoma_sensitivity_at_80_specificity"):
        assert row[f"{name}_mean"] == pytest.approx(0.5)
        assert (row[f"{name}_ci_low"], row[f"{name}_ci_high"]) == (0.0, 1.0)
