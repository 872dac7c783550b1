"""The verdict: at most three lines, each with its figure, for every kind of
run (cross-validation alone, external sets, sources held out, one family)."""

from __future__ import annotations

import re
from dataclasses import replace
from types import SimpleNamespace

import pytest

from benchmarks.analysis.leaderboard import leaderboard
from benchmarks.analysis.verdict import verdict
from tests.conftest import bench, scored_record, succeeded, write_class_folders

THREE = ("isic9", "ham", "atlas")


def _info(sources: tuple[str, ...] = ()) -> SimpleNamespace:
    return SimpleNamespace(
        sources=sources or ("isic9",),
        leave_source_out=bool(sources),
        n_folds=len(sources) or 5,
        grid=("xgb:none", "xgb:smote", "cnn:none"),
    )


def _records(folds: int = 5, cnn_lead: float = 0.0) -> list:
    records = []
    for fold in range(folds):
        wobble = 0.01 * (fold % 3)
        records += [
            scored_record("xgb", "none", fold, 0.70 + wobble, 0.80 + wobble, gap=0.2),
            scored_record("xgb", "smote", fold, 0.60 + wobble, 0.78 + wobble, gap=0.3),
            scored_record(
                "cnn", "none", fold, 0.65, 0.80 + wobble + cnn_lead, gap=0.05
            ),
        ]
    return records


def test_three_lines_name_the_pick_the_carry_over_and_the_contest():
    records = _records()
    lines = verdict(leaderboard(records), records, _info())
    assert [line.label for line in lines] == [
        "Use",
        "Carries over?",
        "CNN against handcrafted features:",
    ]
    pick, carry, contest = map(str, lines)
    assert re.fullmatch(
        r"Use xgb:none: melanoma sensitivity 0\.708 \[0\.\d{3}, 0\.\d{3}\] at 80% "
        r"specificity, AUC 0\.808 \[0\.\d{3}, 0\.\d{3}\] \(5-fold cross-validation\)\.",
        pick,
    )
    assert carry == (
        "Carries over? Not measured: add --external or a second --data; "
        "train-val gap 0.200 in balanced accuracy."
    )
    assert "cnn:none and xgb:none cannot be told apart on melanoma AUC" in contest
    assert [line.section for line in lines] == [
        "leaderboard",
        "overfitting",
        "findings-families",
    ]


def test_a_grid_of_one_configuration_endorses_nothing():
    records = [record for record in _records() if record.model == "cnn"]
    info = _info()
    info.grid = ("cnn:none",)
    pick = verdict(leaderboard(records), records, info)[0]
    assert pick.label == "Only"
    assert str(pick).startswith("Only cnn:none: melanoma sensitivity ")
    assert str(pick).endswith(
        "It was the grid's one configuration: nothing was compared with it."
    )


def test_a_clear_lead_is_named_with_its_interval():
    records = _records(cnn_lead=0.08)
    (*_, contest) = verdict(leaderboard(records), records, _info())
    assert re.search(
        r"cnn:none leads xgb:none by 0\.080 melanoma AUC \[0\.\d{3}, 0\.\d{3}\], "
        r"p (<|=) 0\.\d{3}",
        contest.text,
    )


def test_external_sets_are_set_against_cross_validation():
    records = _records()
    final = scored_record(
        "xgb",
        "none",
        None,
        0.6,
        0.7,
        external={"clinic": {"melanoma_auc": 0.7}, "atlas": {"melanoma_auc": None}},
    )
    board = leaderboard(records)
    (_, carry, _) = verdict(board, [*records, final], _info())
    assert carry.section == "generalization"
    assert carry.text == (
        "Melanoma AUC on clinic 0.700 (-0.108); atlas - against 0.808 in "
        "cross-validation; train-val gap 0.200 in balanced accuracy."
    )


def test_three_sources_held_out_name_the_worst():
    records = [
        scored_record(model, "none", fold, 0.6, auc)
        for model, aucs in (
            ("xgb", (0.95, 0.90, 0.55)),
            ("linear-invariant", (0.80, 0.78, 0.70)),
        )
        for fold, auc in enumerate(aucs)
    ]
    board = leaderboard(records, held_out=THREE)
    pick, carry, contest = verdict(board, records, _info(THREE))
    assert pick.text == (
        "linear-invariant:none: melanoma AUC 0.700 on its worst held-out source "
        "(atlas), 0.760 on average over 3 sources."
    )
    assert carry.section == "leave-source-out"
    assert carry.text.startswith(
        "Melanoma AUC with each source held out: isic9 0.800, ham 0.780, atlas 0.700;"
    )
    assert contest.text == "not compared, this run has no CNN ('run all' has both)."


@pytest.mark.parametrize("model", ["xgb", "cnn"])
def test_one_family_says_which_kind_is_missing(model):
    records = [scored_record(model, "none", fold, 0.6, 0.7) for fold in range(3)]
    (*_, contest) = verdict(leaderboard(records), records, _info())
    missing = "CNN" if model == "xgb" else "handcrafted-feature family"
    assert (
        contest.text == f"not compared, this run has no {missing} ('run all' has both)."
    )


def test_a_pick_below_the_top_says_why_in_this_runs_terms():
    """On data the shortcut audit flags, the pick is not the top figure: the
    line names the top that was set aside and the tie it won on its gap."""
    records = []
    for fold in range(5):
        wobble = 0.01 * (fold % 3)
        records += [
            scored_record("xgb", "none", fold, 0.90 + wobble, gap=0.25),
            scored_record(
                "linear-invariant",
                "none",
                fold,
                0.655 + 0.03 * ((fold + 1) % 2),
                gap=0.02,
            ),
            scored_record("xgb-invariant", "none", fold, 0.67 + wobble, gap=0.20),
        ]
    board = leaderboard(records, eligible={"linear-invariant", "xgb-invariant"})
    pick = str(verdict(board, records, _info())[0])
    assert pick.startswith("Use linear-invariant:none: ")
    assert pick.endswith(
        " The shortcut audit flagged this data, so only families that cannot see "
        "the camera competed (linear-invariant, xgb-invariant): xgb:none's 0.908 "
        "may rest on the camera. Of those, xgb-invariant:none scored 0.678; the "
        "folds cannot tell it from this one, which overfits less (train-val gap "
        "0.020 against 0.200)."
    )
    unflagged = leaderboard(records)
    assert str(verdict(unflagged, records, _info())[0]).endswith(
        "(5-fold cross-validation)."
    )


def test_lines_stay_short_and_never_print_nan():
    records = _records(folds=1)
    records = [replace(record, gap={"balanced_accuracy": None}) for record in records]
    lines = verdict(leaderboard(records), records, _info())
    assert len(lines) == 3
    for line in map(str, lines):
        assert len(line) <= 200 and "nan" not in line and "None" not in line


def test_no_verdict_before_a_best():
    assert verdict(leaderboard([]), [], _info()) == []


@pytest.mark.slow
def test_run_ends_with_the_verdict_and_list_runs_shows_it(tmp_path):
    data = write_class_folders(
        tmp_path / "lesions", {"melanoma": 6, "nevus": 6}, seed=950
    )
    runs = tmp_path / "runs"
    done = succeeded(
        bench(
            "run",
            "xgb",
            "--strategies",
            "none,smote",
            "--folds",
            "2",
            "--data",
            str(data),
            "--cache",
            str(tmp_path / "cache"),
            "--out",
            str(runs),
            "--no-report",
        )
    )
    printed = done.stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in printed[:3]] == ["Use", "Carries", "CNN"]
    assert printed[1].startswith("Carries over? Not measured")
    listed = succeeded(bench("list", "runs", "--out", str(runs))).stdout.splitlines()
    assert listed[2:] == [f"    {line}" for line in printed[:3]]


def test_two_sources_held_out_give_the_mean_without_an_interval():
    records = [
        scored_record(model, "none", fold, sensitivity, auc)
        for model, figures in (
            ("xgb", ((0.40, 0.60), (0.70, 0.90))),
            ("linear-invariant", ((0.50, 0.70), (0.55, 0.80))),
        )
        for fold, (sensitivity, auc) in enumerate(figures)
    ]
    two = ("isic9", "ham")
    board = leaderboard(records, held_out=two)
    pick, carry, _ = verdict(board, records, _info(two))
    assert pick.text == (
        "xgb:none: melanoma sensitivity 0.550 at 80% specificity, "
        "AUC 0.750 (mean over 2 held-out sources)."
    )
    assert carry.text.startswith(
        "Melanoma AUC with each source held out: isic9 0.600, ham 0.900;"
    )
