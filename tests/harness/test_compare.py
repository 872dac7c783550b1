"""The regression gate: unchanged runs pass, a degraded model fails, bad input is 2."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import benchmarks.grid.trials as trials
from benchmarks.cli import main
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.runner import run
from benchmarks.grid.store import RunStore
from benchmarks.grid.strategies import Resampled
from tests.harness.conftest import TINY

CONFIG = RunConfig(models=("xgb",), strategies=("none",), folds=5)


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    """The tiny profile and one cache for the module (features made once)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        patch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield patch


@pytest.fixture(scope="module")
def baseline_run(environment, tmp_path_factory) -> RunStore:
    return run(CONFIG, tmp_path_factory.mktemp("runs"), write=lambda line: None)


@pytest.fixture(scope="module")
def baseline(baseline_run, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("baselines") / "synthetic.json"
    assert (
        main(
            ["compare", str(baseline_run.run_dir), "--baseline", str(path), "--update"]
        )
        == 0
    )
    return path


def test_an_unchanged_run_passes(baseline_run, baseline, capsys):
    assert (
        main(["compare", str(baseline_run.run_dir), "--baseline", str(baseline)]) == 0
    )
    out = capsys.readouterr().out
    assert "0 worse" in out and "xgb:none" in out


def test_a_degraded_model_fails(environment, baseline, tmp_path, capsys):
    real = trials.resample

    def shuffled(strategy, X, y, *, seed):
        fitted = real(strategy, X, y, seed=seed)
        labels = np.random.default_rng(seed).permutation(fitted.y)
        return Resampled(fitted.X, labels, fitted.sample_weight, fitted.drawn)

    environment.setattr(trials, "resample", shuffled)
    try:
        degraded = run(CONFIG, tmp_path, write=lambda line: None)
    finally:
        environment.setattr(trials, "resample", real)
    assert main(["compare", str(degraded.run_dir), "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    assert "worse" in out
    line = next(row for row in out.splitlines() if "balanced_accuracy" in row)
    assert line.endswith("worse")


def test_other_data_is_unusable_input(baseline_run, baseline, tmp_path, capsys):
    other = json.loads(baseline.read_text("utf-8"))
    other["data_fingerprint"] = "0" * 16
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other), "utf-8")
    assert main(["compare", str(baseline_run.run_dir), "--baseline", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "data fingerprint" in error


def test_other_settings_are_unusable_input(baseline_run, baseline, tmp_path, capsys):
    other = json.loads(baseline.read_text("utf-8"))
    other["config"]["profile"] = "full"
    path = tmp_path / "full.json"
    path.write_text(json.dumps(other), "utf-8")
    assert main(["compare", str(baseline_run.run_dir), "--baseline", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--profile quick differs" in error


def test_preprocessing_must_match_and_older_baselines_had_none(
    baseline_run, baseline, tmp_path, capsys
):
    """Baselines written before the option existed ran without it; those
    written while it was called colour_constancy name it so."""
    older = json.loads(baseline.read_text("utf-8"))
    del older["config"]["preprocessing"]
    path = tmp_path / "older.json"
    path.write_text(json.dumps(older), "utf-8")
    assert main(["compare", str(baseline_run.run_dir), "--baseline", str(path)]) == 0
    older["config"]["colour_constancy"] = "shades-of-gray"
    path.write_text(json.dumps(older), "utf-8")
    assert main(["compare", str(baseline_run.run_dir), "--baseline", str(path)]) == 2
    error = capsys.readouterr().err
    assert "--preprocessing none differs from the baseline's shades-of-gray" in error


def test_baselines_spelled_model_slash_strategy_still_compare(
    baseline_run, baseline, tmp_path, capsys
):
    older = json.loads(baseline.read_text("utf-8"))
    older["metrics"] = {
        name.replace(":", "/"): values for name, values in older["metrics"].items()
    }
    path = tmp_path / "older.json"
    path.write_text(json.dumps(older), "utf-8")
    assert main(["compare", str(baseline_run.run_dir), "--baseline", str(path)]) == 0
    assert "xgb:none" in capsys.readouterr().out


def test_missing_trials_are_unusable_input(baseline_run, baseline, tmp_path, capsys):
    partial = tmp_path / "partial"
    (partial / "trials").mkdir(parents=True)
    (partial / "config.json").write_bytes(baseline_run.path("config.json").read_bytes())
    for source in sorted(baseline_run.trials_dir.glob("*fold[0-3].*")):
        (partial / "trials" / source.name).write_bytes(source.read_bytes())
    assert main(["compare", str(partial), "--baseline", str(baseline)]) == 2
    assert "has 4 finished fold(s), the baseline 5" in capsys.readouterr().err


def test_update_keeps_the_files_tolerance(baseline_run, baseline, tmp_path):
    path = tmp_path / "kept.json"
    content = json.loads(baseline.read_text("utf-8"))
    content["tolerance"] = {"absolute": 0.1, "p_value": 0.01}
    path.write_text(json.dumps(content), "utf-8")
    assert (
        main(
            ["compare", str(baseline_run.run_dir), "--baseline", str(path), "--update"]
        )
        == 0
    )
    written = json.loads(path.read_text("utf-8"))
    assert written["tolerance"] == {"absolute": 0.1, "p_value": 0.01}
    assert len(written["metrics"]["xgb:none"]["balanced_accuracy"]) == 5


def test_not_a_baseline_is_unusable_input(baseline_run, tmp_path, capsys):
    path = tmp_path / "nonsense.json"
    path.write_text("{}", "utf-8")
    assert main(["compare", str(baseline_run.run_dir), "--baseline", str(path)]) == 2
    assert "not a baseline file" in capsys.readouterr().err
    assert (
        main(
            [
                "compare",
                str(baseline_run.run_dir),
                "--baseline",
                str(tmp_path / "none.json"),
            ]
        )
        == 2
    )


def test_a_run_of_some_of_the_baselines_models_compares_those_and_names_the_rest(
    baseline_run, baseline, tmp_path, capsys
):
    """A baseline configuration outside the run's grid is not compared, and the
    command says so rather than advising to finish the run."""
    wider = json.loads(baseline.read_text("utf-8"))
    wider["metrics"]["cnn:none"] = wider["metrics"]["xgb:none"]
    path = tmp_path / "wider.json"
    path.write_text(json.dumps(wider), "utf-8")
    assert main(["compare", str(baseline_run.run_dir), "--baseline", str(path)]) == 0
    captured = capsys.readouterr()
    assert "finish the run" not in captured.out + captured.err
    assert "xgb:none" in captured.out and "0 worse" in captured.out
    assert "not compared: cnn:none (model cnn absent from this run" in captured.out
    wider["metrics"] = {"cnn:none": wider["metrics"]["cnn:none"]}
    path.write_text(json.dumps(wider), "utf-8")
    assert main(["compare", str(baseline_run.run_dir), "--baseline", str(path)]) == 2
    assert "none of the baseline's configurations" in capsys.readouterr().err


def test_defaults_written_out_compare_as_unsaid(
    environment, baseline_run, baseline, tmp_path, capsys
):
    """A baseline recorded without --folds compares with a run given the
    profile's fold count, and a recorded --cv stratified with one left out."""
    unsaid = json.loads(baseline.read_text("utf-8"))
    unsaid["config"].update(folds=None, cv="stratified")
    path = tmp_path / "unsaid.json"
    path.write_text(json.dumps(unsaid), "utf-8")
    environment.setitem(PROFILES, "quick", dataclasses.replace(TINY, folds=5))
    try:
        assert (
            main(["compare", str(baseline_run.run_dir), "--baseline", str(path)]) == 0
        )
    finally:
        environment.setitem(PROFILES, "quick", TINY)
    assert main(["compare", str(baseline_run.run_dir), "--baseline", str(path)]) == 2
    assert "--folds 5 differs from the baseline's None" in capsys.readouterr().err


def _copy_run(store: RunStore, to: Path) -> RunStore:
    shutil.copytree(store.run_dir, to)
    return RunStore(to)


def _shift(store: RunStore, key: str, change: float, strategy: str | None = None):
    """Move a trial's validation figures by ``change``, or copy it to another
    strategy's trial."""
    record = json.loads((store.trials_dir / f"{key}.json").read_text("utf-8"))
    for name in ("balanced_accuracy", "melanoma_sensitivity_at_80_specificity"):
        record["metrics"]["validation"][name] += change
    if strategy is not None:
        record["strategy"] = strategy
        key = key.replace("__none__", f"__{strategy}__")
        record["key"] = key
    (store.trials_dir / f"{key}.json").write_text(json.dumps(record), "utf-8")


def test_two_runs_on_the_same_folds_are_paired(baseline_run, tmp_path, capsys):
    other = _copy_run(baseline_run, tmp_path / "b")
    for fold, change in enumerate((0.05, 0.06, 0.04, 0.05, 0.07)):
        _shift(other, f"xgb__none__fold{fold}", change)
        _shift(other, f"xgb__none__fold{fold}", 0.0, strategy="smote")
    assert main(["compare", str(baseline_run.run_dir), str(other.run_dir)]) == 0
    out = capsys.readouterr().out
    assert "paired over the same folds" in out and "warning" not in out
    row = next(line for line in out.splitlines() if "balanced_accuracy" in line)
    assert row.split()[0] == "xgb:none" and row.split()[4] == "+0.054"
    assert float(row.split()[5]) < 0.05 and row.endswith("5/5")
    assert "only in B (not compared): xgb:smote" in out


def test_two_runs_on_other_folds_are_unpaired_with_a_warning(
    baseline_run, tmp_path, capsys
):
    other = _copy_run(baseline_run, tmp_path / "b")
    config = json.loads(other.path("config.json").read_text("utf-8"))
    config["data_fingerprint"] = "0" * 16
    config["config"]["seed"] = 7
    other.path("config.json").write_text(json.dumps(config), "utf-8")
    assert main(["compare", str(baseline_run.run_dir), str(other.run_dir)]) == 0
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "data differ" in warnings[0]
    assert "unpaired (Welch over folds)" in warnings[0]
    assert "--seed 0 / 7" in out
    row = next(line for line in out.splitlines() if "balanced_accuracy" in line)
    assert row.split()[4] == "+0.000" and row.split()[5] == "1.000"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "name a second run folder or --baseline"),
        (["RUN_B", "--baseline", "b.json"], "name a second run folder or --baseline"),
        (["nowhere"], "nowhere: no such folder"),
    ],
    ids=["neither", "both", "missing"],
)
def test_compare_wants_one_run_or_a_baseline(
    baseline_run, extra, message, capsys, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(baseline_run.run_dir), *extra]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error


def test_a_baseline_names_its_data_relative_to_the_folder_it_was_written_from(
    tmp_path, monkeypatch
):
    from benchmarks.analysis.compare import portable

    repository = tmp_path / "repo"
    repository.mkdir()
    monkeypatch.chdir(repository)
    data = tmp_path / "shared" / "isic9"
    config = {
        "data": [str(data), f"ham={tmp_path / 'ham' / 'metadata.csv'}", "relative"],
        "external": [["derm", str(tmp_path / "derm")]],
        "label_map": str(tmp_path / "map.csv"),
        "seed": 0,
    }
    assert portable(config) == {
        "data": ["../shared/isic9", "ham=../ham/metadata.csv", "relative"],
        "external": [["derm", "../derm"]],
        "label_map": "../map.csv",
        "seed": 0,
    }
    assert (
        portable({"data": [], "external": [], "label_map": None})["label_map"] is None
    )


def test_long_configuration_names_keep_their_columns():
    """'linear-invariant:class_weight' is longer than the old fixed column: it
    ran into the metric ('...class_weightmelanoma_...')."""
    from benchmarks.analysis.compare import (
        FigureChange,
        RunComparison,
        Verdict,
        runs_to_text,
        to_text,
    )

    name = "linear-dermoscopy@shades-of-gray:class_weight"
    metric = "melanoma_sensitivity_at_80_specificity"
    change = FigureChange(name, metric, 0.5, 0.6, (3, 3), 0.2)
    table = runs_to_text(
        RunComparison(Path("a"), Path("b"), True, [change], [], [], [])
    )
    row = next(line for line in table.splitlines() if line.startswith(name))
    assert row.split()[:2] == [name, metric]
    verdicts = [Verdict(name, metric, 0.5, 0.6, 0.2, "improved")]
    row = to_text(verdicts).splitlines()[1]
    assert row.split()[:2] == [name, metric]


def test_a_large_uneven_drop_fails_though_three_folds_cannot_test_it(
    baseline_run, baseline, tmp_path, capsys
):
    """Baseline folds raised by +0.20, -0.05, +0.15, 0 and +0.15 (a mean drop
    of 0.09 for the run): the corrected t-test gives p = 0.28, the large
    tolerance (0.08) still calls it worse."""
    content = json.loads(baseline.read_text("utf-8"))
    folds = content["metrics"]["xgb:none"]["balanced_accuracy"]
    raised = [
        value + step
        for value, step in zip(folds, (0.20, -0.05, 0.15, 0.0, 0.15), strict=True)
    ]
    content["metrics"]["xgb:none"]["balanced_accuracy"] = raised
    path = tmp_path / "raised.json"
    path.write_text(json.dumps(content), "utf-8")
    assert main(["compare", str(baseline_run.run_dir), "--baseline", str(path)]) == 1
    row = next(
        line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("xgb:none") and "balanced_accuracy" in line
    )
    assert row.split()[-2:] == ["0.284", "worse"]


@pytest.mark.parametrize(
    "tolerance",
    [
        None,
        {"absolute": 0.02},
        {"absolute": float("nan"), "p_value": 0.05},
        {"absolute": 0.02, "p_value": 0.05, "large": 0.01},
    ],
)
def test_a_tolerance_that_cannot_judge_is_unusable_input(
    baseline_run, baseline, tmp_path, capsys, tolerance
):
    content = json.loads(baseline.read_text("utf-8"))
    if tolerance is None:
        del content["tolerance"]
    else:
        content["tolerance"] = tolerance
    path = tmp_path / "tolerance.json"
    path.write_text(json.dumps(content), "utf-8")
    assert main(["compare", str(baseline_run.run_dir), "--baseline", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"--baseline {path}: " in error


def test_a_figure_the_run_no_longer_produces_is_worse(
    baseline_run, baseline, tmp_path, capsys
):
    """NaN on every fold where the baseline had a number: it was dropped
    without a word and the gate passed."""
    copy = tmp_path / "copy"
    shutil.copytree(baseline_run.run_dir, copy)
    for path in sorted((copy / "trials").glob("xgb__none__fold*.json")):
        record = json.loads(path.read_text("utf-8"))
        record["metrics"]["validation"]["macro_f1"] = float("nan")
        path.write_text(json.dumps(record), "utf-8")
    assert main(["compare", str(copy), "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "macro_f1" in line)
    assert row.split()[-4:] == ["-", "-", "-", "worse"]
    assert "nan" not in out


def test_a_configuration_the_baseline_lacks_is_named_as_unguarded():
    from types import SimpleNamespace

    from benchmarks.analysis.compare import not_in_baseline
    from benchmarks.grid.configuration import Configuration

    grid = tuple(map(Configuration.parse, ("xgb:none", "cnn:none", "xgb:smote")))
    store = SimpleNamespace(info=lambda: SimpleNamespace(grid=grid))
    baseline = {"metrics": {"xgb:none": {}, "xgb/smote": {}}}
    assert not_in_baseline(store, baseline) == ["cnn:none"]
