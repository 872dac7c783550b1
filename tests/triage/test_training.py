"""train: which configuration, which threshold, what is fitted, where it goes."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from benchmarks.analysis.leaderboard import FOLD_METRICS, eligible_families, leaderboard
from benchmarks.cli import main
from benchmarks.core.errors import UserError
from benchmarks.deploy.model_dir import load_model
from benchmarks.deploy.training import choose_configuration, train
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.runner import run
from benchmarks.grid.store import RunStore, out_of_fold_scores
from benchmarks.scoring.threshold import threshold_for_sensitivity
from tests.conftest import tree_state, trial_record
from tests.harness.conftest import TINY


def _record(model: str, strategy: str, sensitivity: float, bacc: float, fold: int):
    validation = {name: 0.5 for name in FOLD_METRICS}
    validation["melanoma_sensitivity_at_80_specificity"] = sensitivity
    validation["balanced_accuracy"] = bacc
    return trial_record(
        model,
        strategy,
        fold,
        validation,
        train={"balanced_accuracy": 0.9},
        gap={"balanced_accuracy": 0.1},
    )


def _records(rows):
    return [_record(*row, fold) for row in rows for fold in range(2)]


def test_default_is_best_sensitivity_at_80_specificity_ties_by_balanced_accuracy():
    records = _records(
        [
            ("xgb", "none", 0.80, 0.70),
            ("cnn", "none", 0.90, 0.50),
            ("cnn", "smote", 0.90, 0.55),  # ties cnn:none, better balanced acc
            ("hybrid", "none", 0.85, 0.90),
        ]
    )
    chosen = choose_configuration(leaderboard(records))
    assert (chosen["model"], chosen["strategy"]) == ("cnn", "smote")
    chosen = choose_configuration(leaderboard(records), "xgb:none")
    assert (chosen["model"], chosen["strategy"]) == ("xgb", "none")


def test_when_the_audit_flags_a_shortcut_only_camera_blind_families_compete():
    records = _records(
        [
            ("xgb", "none", 0.95, 0.70),
            ("xgb-invariant", "none", 0.70, 0.50),
            ("xgb-invariant", "smote", 0.75, 0.45),
        ]
    )
    flagged = eligible_families({"shortcuts": {"flagged": ["colour"]}})
    assert "xgb-invariant" in flagged and "xgb" not in flagged
    assert eligible_families({"shortcuts": {"flagged": []}}) is None
    assert eligible_families({}) is None  # runs made before the shortcut audit
    chosen = choose_configuration(leaderboard(records, eligible=flagged))
    assert chosen["configuration"] == "xgb-invariant:smote"
    assert choose_configuration(leaderboard(records))["configuration"] == "xgb:none"
    # With no such family in the grid, every family competes.
    only = _records([("xgb", "none", 0.9, 0.7), ("cnn", "none", 0.8, 0.7)])
    board = leaderboard(only, eligible=flagged)
    assert board.loc[board["best"], "configuration"].tolist() == ["xgb:none"]


def test_on_flagged_data_the_least_overfit_of_the_tied_configurations_is_best():
    def record(model, sensitivity, gap, fold):
        row = _record(model, "none", sensitivity, 0.6, fold)
        return replace(row, gap={"balanced_accuracy": gap})

    records = [
        # Ahead by a hair that the folds cannot tell from noise, gap 0.30.
        *(record("xgb-invariant", s, 0.30, f) for f, s in enumerate((0.82, 0.70))),
        *(record("linear-invariant", s, 0.05, f) for f, s in enumerate((0.72, 0.78))),
        *(record("xgb", 0.99, 0.01, f) for f in range(2)),  # not camera-blind
    ]
    flagged = eligible_families({"shortcuts": {"flagged": ["colour"]}})
    board = leaderboard(records, eligible=flagged)
    assert board.loc[board["best"], "configuration"].tolist() == [
        "linear-invariant:none"
    ]
    # Unflagged data keep the plain ranking.
    board = leaderboard(records)
    assert board.loc[board["best"], "configuration"].tolist() == ["xgb:none"]
    # A configuration the folds tell apart from the leader is not tied.
    records[2:4] = [
        record("linear-invariant", s, 0.05, f) for f, s in enumerate((0.40, 0.30))
    ]
    board = leaderboard(records, eligible=flagged)
    assert board.loc[board["best"], "configuration"].tolist() == ["xgb-invariant:none"]


def test_unknown_configuration_lists_the_choices():
    records = _records([("xgb", "none", 0.8, 0.7)])
    with pytest.raises(UserError, match=r"--config cnn:none: .* choose from xgb:none"):
        choose_configuration(leaderboard(records), "cnn:none")


def test_xgb_model_is_the_final_fit_with_its_threshold_from_out_of_fold_scores(
    tiny_run, xgb_model
):
    store = RunStore(tiny_run.run_dir)
    table = pd.read_parquet(store.path("manifest.parquet"))
    metadata = json.loads((xgb_model / "model.json").read_text("utf-8"))
    assert metadata["files"] == {"xgb": "xgb.xgboost.json"}
    assert (metadata["model"], metadata["strategy"]) == ("xgb", "none")
    # Fitted on the cross-validation rows only: Test stays held out.
    cv = table["fold"].to_numpy() >= 0
    assert metadata["training"]["images"] == cv.sum() == 22
    scores = out_of_fold_scores(store, table, "xgb", "none", 0)  # melanoma column
    melanoma = cv & (table["label"] == "melanoma").to_numpy()
    threshold = metadata["threshold"]
    assert threshold["threshold"] == threshold_for_sensitivity(scores[melanoma], 0.95)
    assert threshold["n_positive"] == melanoma.sum()
    assert metadata["inputs"]["features"]["image_size"] == 180
    # The saved trees score Test as the run's final fit did.
    final = store.scores("xgb__none__final")
    features = np.load(store.path("features.npy"))[final["evaluation_rows"]]
    trees = load_model(xgb_model).estimators["xgb"]
    np.testing.assert_allclose(
        trees.predict_proba(features), final["evaluation_proba"], atol=1e-6
    )


def test_cnn_hybrid_and_fusion_models_save_their_networks(
    cnn_model, hybrid_model, fusion_model
):
    metadata = json.loads((cnn_model / "model.json").read_text("utf-8"))
    assert metadata["files"] == {"cnn": "cnn.keras"}
    assert metadata["inputs"]["images"] == [[48, True]]
    assert "features" not in metadata["inputs"]
    metadata = json.loads((hybrid_model / "model.json").read_text("utf-8"))
    assert metadata["files"] == {"cnn": "cnn.keras", "hybrid": "hybrid.xgboost.json"}
    assert metadata["inputs"]["images"] == [[48, True]]
    assert metadata["inputs"]["features"]["image_size"] == 180
    assert set(load_model(hybrid_model).estimators) == {"cnn", "hybrid"}
    fusion = json.loads((fusion_model / "model.json").read_text("utf-8"))
    assert fusion["files"] == {"xgb": "xgb.xgboost.json", "cnn": "cnn.keras"}
    assert fusion["inputs"] == metadata["inputs"]
    assert fusion["model"] == "fusion"


def test_preprocessing_goes_from_the_run_into_the_model_and_its_scores(
    tiny_run, tmp_path, monkeypatch
):
    """The saved network, given the images as the run preprocessed them,
    scores Test exactly as the run's final fit did."""
    from benchmarks.data.image_cache import load_images
    from benchmarks.data.preprocessing import shades_of_gray

    monkeypatch.setitem(PROFILES, "quick", TINY)
    monkeypatch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path / "cache"))
    config = RunConfig(
        data=str(tiny_run.data),
        models=("cnn",),
        strategies=("none",),
        preprocessing="shades-of-gray",
    )
    store = run(config, tmp_path / "runs", write=lambda line: None)
    assert store.info().config.preprocessing == "shades-of-gray"
    folder, metadata = train(store.run_dir, tmp_path / "model")
    assert metadata["inputs"]["preprocessing"] == "shades-of-gray"
    network = load_model(folder).estimators["cnn"]
    table = pd.read_parquet(store.path("manifest.parquet"))
    table["path"] = [str(tiny_run.data / name) for name in table["file"]]
    table["readable"] = True
    final = store.scores("cnn__none__final")
    images = np.asarray(load_images(table, 48))[final["evaluation_rows"]]
    np.testing.assert_allclose(
        network.predict_proba(shades_of_gray(images)),
        final["evaluation_proba"],
        atol=1e-5,
    )


def test_a_preprocessing_axis_runs_each_family_on_each_and_triage_follows(
    tiny_run, tmp_path, monkeypatch
):
    """--preprocessing none,lesion-crop: xgb and xgb@lesion-crop side by side,
    features of cropped images for the variant, and a model of the variant
    scores files as its final fit scored Test."""
    from benchmarks.deploy.triage import triage
    from benchmarks.grid.plan import configurations

    monkeypatch.setitem(PROFILES, "quick", TINY)
    monkeypatch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path / "cache"))
    config = RunConfig(
        data=str(tiny_run.data),
        models=("xgb", "seed-cnn"),
        strategies=("none",),
        variants=("lesion-crop",),
    )
    assert [str(item) for item in configurations(config)] == [
        "xgb:none",
        "xgb@lesion-crop:none",
        "seed-cnn:none",  # the course network reads its images as shot
    ]
    store = run(config, tmp_path / "runs", write=lambda line: None)
    plain = np.load(store.features_path("none"))
    cropped = np.load(store.features_path("lesion-crop"))
    assert plain.shape == cropped.shape and not np.allclose(plain, cropped)

    folder, metadata = train(
        store.run_dir, tmp_path / "model", configuration="xgb@lesion-crop:none"
    )
    assert metadata["model"] == "xgb@lesion-crop"
    assert metadata["inputs"]["features"]["preprocessing"] == "lesion-crop"
    result = triage(load_model(folder), tiny_run.data / "Test", tmp_path / "out")
    worklist = pd.read_csv(result.out / "worklist.csv")
    table = pd.read_parquet(store.path("manifest.parquet"))
    final = store.scores("xgb@lesion-crop__none__final")
    column = metadata["classes"].index(metadata["positive_class"])
    expected = dict(
        zip(
            table["file"].to_numpy()[final["evaluation_rows"]],
            final["evaluation_proba"][:, column],
            strict=True,
        )
    )
    scored = dict(
        zip("Test/" + worklist["file"], worklist["melanoma_probability"], strict=True)
    )
    assert scored.keys() == expected.keys()
    np.testing.assert_allclose(
        [scored[name] for name in expected], list(expected.values()), atol=1e-5
    )


def test_train_refuses_a_folder_it_did_not_make(tiny_run, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    before = tree_state(out)
    with pytest.raises(UserError, match="not empty and not a model folder"):
        train(tiny_run.run_dir, out, configuration="xgb:none")
    assert tree_state(out) == before
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="a file, not a folder"):
        train(tiny_run.run_dir, tmp_path / "file", configuration="xgb:none")


def test_train_replaces_an_earlier_model_folder(tiny_run, xgb_model, tmp_path):
    out = tmp_path / "model"
    train(tiny_run.run_dir, out, configuration="xgb:none", target_sensitivity=0.5)
    train(tiny_run.run_dir, out, configuration="xgb:none")
    assert sorted(path.name for path in out.iterdir()) == sorted(
        path.name for path in xgb_model.iterdir()
    )
    assert (
        json.loads((out / "model.json").read_text())["threshold"]
        == json.loads((xgb_model / "model.json").read_text())["threshold"]
    )
    assert [path.name for path in tmp_path.iterdir()] == ["model"]  # no leftovers


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--target-sensitivity", "1.5"], "--target-sensitivity 1.5: choose"),
        (["--config", "xgb"], "--config xgb: not a configuration of this run"),
    ],
    ids=["target", "config"],
)
def test_train_command_mistakes_are_one_line(
    tiny_run, tmp_path, capsys, options, message
):
    argv = ["train", "--run", str(tiny_run.run_dir), "--out", str(tmp_path / "m")]
    assert main([*argv, *options]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_train_command_says_what_it_chose(tiny_run, tmp_path, capsys):
    argv = ["train", "--run", str(tiny_run.run_dir), "--out", str(tmp_path / "m")]
    assert main([*argv, "--config", "xgb:none"]) == 0
    captured = capsys.readouterr()
    assert "chose xgb:none (by --config)" in captured.err
    assert "expected specificity" in captured.err
    assert captured.out.startswith(f"wrote {tmp_path / 'm'}: xgb:none")
