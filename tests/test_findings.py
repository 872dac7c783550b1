"""The report's findings: sentences with a number, a 95% interval and a test."""

from __future__ import annotations

import re

import pytest

from benchmarks.analysis.findings import (
    best,
    family_comparison,
    overfitting,
    paired_difference,
    strategy_differences,
    strategy_effects,
    strategy_summary,
)
from benchmarks.analysis.leaderboard import leaderboard
from benchmarks.scoring.metrics import corrected_resampled_ttest
from tests.conftest import scored_record

INTERVAL = re.compile(r"-?\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]")


def findings(board, records):
    """Every finding of the report's topics, in reading order."""
    return [
        *best(board),
        *family_comparison(board, records),
        *overfitting(board, records),
        *strategy_effects(board, records),
    ]


def _records(folds=5):
    rows = []
    for fold in range(folds):
        wobble = 0.01 * (fold % 3)
        rows += [
            scored_record("xgb", "none", fold, 0.60 + wobble, 0.80, gap=0.20 + wobble),
            scored_record("xgb", "class_weight", fold, 0.66 + wobble, 0.81, gap=0.21),
            scored_record(
                "xgb", "smote", fold, 0.60 + 0.02 * (fold % 2), 0.80, gap=0.2
            ),
            scored_record(
                "cnn", "none", fold, 0.70 + 2 * wobble, 0.85 + wobble, gap=0.4
            ),
            scored_record("hybrid", "none", fold, 0.90, 0.95, gap=0.02 + wobble),
        ]
    return rows


def test_paired_difference_matches_the_corrected_test():
    records = _records()
    xgb = [r for r in records if (r.model, r.strategy) == ("xgb", "none")]
    cnn = [r for r in records if r.model == "cnn"]
    difference = paired_difference(cnn, xgb, 5, "balanced_accuracy")
    first = [r.metrics.validation["balanced_accuracy"] for r in cnn]
    second = [r.metrics.validation["balanced_accuracy"] for r in xgb]
    assert difference.mean == pytest.approx(0.1 + 0.01 * (0 + 1 + 2 + 0 + 1) / 5)
    assert difference.p == corrected_resampled_ttest(first, second, test_fraction=0.2)
    assert difference.low < difference.mean < difference.high
    # The interval excludes 0 exactly when the test says p < 0.05.
    assert (difference.low > 0) == (difference.p < 0.05)


def test_cnn_against_handcrafted_names_both_and_gives_intervals():
    records = _records()
    board = leaderboard(records)
    (sentence,) = family_comparison(board, records)
    assert "Best CNN (cnn:none)" in sentence
    # The best handcrafted configuration by the leaderboard's ranking.
    assert "(xgb:class_weight)" in sentence
    assert "balanced accuracy +0.0" in sentence and "melanoma AUC +0.0" in sentence
    assert len(INTERVAL.findall(sentence)) == 2
    assert "corrected resampled t-test" in sentence and "p " in sentence
    assert "hybrid" not in sentence  # neither images alone nor features alone


def test_no_cnn_in_the_run_says_nothing_of_it():
    records = [r for r in _records() if r.model != "cnn"]
    board = leaderboard(records)
    assert family_comparison(board, records) == []
    assert not any("CNN" in sentence for sentence in findings(board, records))


def test_strategies_against_none_per_model():
    records = _records()
    board = leaderboard(records)
    (sentence,) = strategy_effects(board, records)  # only xgb ran several
    assert sentence.startswith("Strategies against none for xgb")
    assert re.search(
        r"class_weight raises balanced accuracy by 0\.060 \[\d\.\d{3}, \d\.\d{3}\], "
        r"p (=|<) 0\.\d{3}",
        sentence,
    )
    assert "smote changes balanced accuracy by " in sentence


def test_overfitting_names_least_and_most():
    records = _records()
    (sentence,) = overfitting(leaderboard(records), records)
    assert re.search(
        r"least overfit hybrid:none, 0\.028 \[-?\d\.\d{3}, \d\.\d{3}\], at "
        r"validation balanced accuracy 0\.\d{3}; ",
        sentence,
    )
    assert "most overfit cnn:none, 0.400 [" in sentence
    assert "their difference +0.372 [" in sentence


def test_a_gaps_interval_stays_within_what_a_gap_can_be():
    records = [
        scored_record(model, "none", fold, 0.5, gap=gap)
        for model, gaps in (("xgb", (0.1, 0.1)), ("cnn", (0.0, 0.9)))
        for fold, gap in enumerate(gaps)
    ]
    board = leaderboard(records)
    (sentence,) = overfitting(board, records)
    # t over two folds: 0.45 +- 5.7 unclipped.
    assert "most overfit cnn:none, 0.450 [-1.000, 1.000]" in sentence
    # Folds that are held-out sources get no t interval at all.
    board["held_out_isic9_melanoma_auc"] = 0.7
    (sentence,) = overfitting(board, records)
    assert sentence.startswith(
        "Train-val gap in balanced accuracy (mean over held-out sources): "
        "least overfit xgb:none, 0.100, at validation balanced accuracy 0.500; "
        "most overfit cnn:none, 0.450, at validation balanced accuracy 0.500."
    )


def test_two_fold_runs_read_well():
    records = _records(folds=2)
    board = leaderboard(records)
    sentences = findings(board, records)
    assert sentences[0].startswith("Best, and what train fits by default: hybrid:none")
    assert any("paired over 2 folds" in sentence for sentence in sentences)
    for sentence in sentences:
        assert "nan" not in sentence and "None" not in sentence


def test_one_fold_gives_the_difference_without_a_test():
    records = _records(folds=1)
    board = leaderboard(records)
    sentences = findings(board, records)
    assert any("no interval or test" in sentence for sentence in sentences)
    assert all("nan" not in sentence for sentence in sentences)


def test_identical_folds_say_so_instead_of_a_zero_interval():
    records = [
        scored_record(model, strategy, fold, 0.5, gap=0.0)
        for model in ("xgb", "cnn")
        for strategy in ("none", "smote")
        for fold in range(2)
    ]
    sentences = findings(leaderboard(records), records)
    assert "[0.000, 0.000]" not in " ".join(sentences)
    assert any("leaves balanced accuracy unchanged in each" in s for s in sentences)
    assert any("the same train-val gap" in s for s in sentences)


def test_the_strategies_in_one_line():
    records = _records()
    for fold in range(5):
        records += [
            scored_record("cnn", "smote", fold, 0.58 + 0.02 * (fold % 3), 0.8),
            scored_record(
                "hybrid", "class_weight", fold, 0.90 + 0.01 * (fold % 2), 0.9
            ),
        ]
    board = leaderboard(records)
    summary = strategy_summary(strategy_differences(board, records))
    # class_weight raises xgb's balanced accuracy beyond the folds' noise,
    # smote lowers cnn's, and nothing tells hybrid's from none.
    assert (
        summary == "class_weight helps xgb; smote hurts cnn; nothing helps cnn, hybrid"
    )


def test_the_best_of_two_held_out_sources_is_their_mean_without_an_interval():
    records = [
        scored_record("xgb", "none", fold, sensitivity, 0.8)
        for fold, sensitivity in enumerate((0.40, 0.70))
    ]
    (sentence,) = best(leaderboard(records, held_out=("isic9", "ham")))
    assert sentence.startswith(
        "Best, and what train fits by default: xgb:none, melanoma sensitivity at "
        "80% specificity 0.550 (mean over the 2 held-out sources). Rule:"
    )
    assert not INTERVAL.search(sentence)
