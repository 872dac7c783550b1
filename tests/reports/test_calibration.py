"""Calibration: the report's reliability diagram and rows, and --calibration,
which is fitted inside a fold's training part and never sees its held-out rows."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from benchmarks.cli import make_parser
from benchmarks.core.errors import UserError
from benchmarks.grid import families, trials
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.configuration import Trial
from benchmarks.grid.runner import run
from benchmarks.grid.store import RunStore
from benchmarks.grid.trials import run_trial, split_rows
from reports._tables import build
from reports.sections.calibration import (
    CALIBRATION_COLUMNS,
    calibration_rows,
    reliability_diagram,
)
from tests.conftest import write_class_folders
from tests.harness.conftest import TINY, TRAIN_MAX, marked_workspace

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A finished tiny run of two feature families, calibrated by sigmoid."""
    root = write_class_folders(
        tmp_path_factory.mktemp("data") / "lesions",
        {"melanoma": 9, "nevus": 9, "vascular lesion": 6},
        seed=900,
    )
    config = RunConfig(
        data=str(root),
        models=("xgb", "linear-invariant"),
        strategies=("none",),
        calibration="sigmoid",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        patch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        store = run(config, tmp_path_factory.mktemp("runs"), write=lambda line: None)
    return store.run_dir


def test_rows_give_every_configuration_its_validation_and_test_figures(run_dir):
    store = RunStore(run_dir)
    tables = build(store)
    rows = calibration_rows(tables, store)

    assert [(row["model"], row["strategy"]) for row in rows] == list(
        zip(tables.leaderboard["model"], tables.leaderboard["strategy"], strict=True)
    )
    # One configuration's row alone, the same as in the full table.
    last = rows[-1]["configuration"]
    assert calibration_rows(tables, store, only=last) == rows[-1:]
    for row in rows:
        assert len(row["cells"]) == len(CALIBRATION_COLUMNS)
        records = [
            r
            for r in tables.records
            if (r.model, r.strategy) == (row["model"], row["strategy"])
        ]
        folds = [r.metrics.validation for r in records if not r.is_final]
        (final,) = [r.metrics.test for r in records if r.is_final]
        assert row["folds"] == len(folds) == 2
        expected = [
            np.mean([m["melanoma_ece"] for m in folds]),
            np.mean([m["melanoma_brier"] for m in folds]),
            final["melanoma_ece"],
            final["melanoma_brier"],
        ]
        # Recomputed from the stored float32 scores: the records' figures.
        shown = [float(cell["sort"]) for cell in row["cells"]]
        assert shown == pytest.approx(expected, abs=1e-6)
        assert " \u00b1 " in row["cells"][0]["text"]
        assert row["cells"][2]["text"] == f"{final['melanoma_ece']:.3f}"


def test_reliability_diagram_is_an_embedded_png(run_dir):
    store = RunStore(run_dir)
    tables = build(store)
    labels = store.manifest()["label"].astype(str).to_numpy()

    uri = reliability_diagram(tables, store, labels)

    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).startswith(PNG)


def test_calibrated_records_carry_the_melanoma_calibration_figures(run_dir):
    records = RunStore(run_dir).records()

    assert RunStore(run_dir).info().config.calibration == "sigmoid"
    for record in records:
        for part, figures in record.metrics.to_json().items():
            assert 0.0 <= figures["melanoma_brier"] <= 1.0, part
            assert 0.0 <= figures["melanoma_ece"] <= 1.0, part


def test_calibration_none_keeps_the_run_id_of_earlier_runs():
    plain = RunConfig(models=("xgb",))
    recorded = plain.to_dict()
    del recorded["calibration"]  # a config.json written before the setting

    earlier = RunConfig.recorded(recorded)

    assert earlier.calibration == "none"
    assert earlier.run_id("data") == plain.run_id("data")
    assert RunConfig(models=("xgb",), calibration="none").run_id("data") == (
        plain.run_id("data")
    )
    assert RunConfig(models=("xgb",), calibration="isotonic").run_id("data") != (
        plain.run_id("data")
    )


def test_calibration_setting_is_checked_in_config_and_cli(capsys):
    with pytest.raises(UserError, match="--calibration platt: choose from none, "):
        RunConfig(calibration="platt")
    parser = make_parser()
    assert parser.parse_args(["run", "xgb"]).calibration == "none"
    assert parser.parse_args(["run", "xgb", "--calibration", "temperature"]).calibration
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "xgb", "--calibration", "platt"])


def test_only_families_that_read_no_images_are_calibrated(tmp_path):
    workspace = marked_workspace(tmp_path, "validation")

    def calibrates(model: str) -> bool:
        return trials._calibrates(
            Trial(model, "none", 0), workspace, families.family(model)
        )

    assert calibrates("xgb") and calibrates("linear-invariant")
    assert calibrates("hybrid")  # XGBoost on embeddings and features
    assert not calibrates("cnn") and not calibrates("seed-cnn")


class _Recorder(ClassifierMixin, BaseEstimator):
    """A clonable estimator that records what fit and predict_proba receive."""

    fitted: ClassVar[list[tuple[np.ndarray, np.ndarray | None]]] = []
    predicted: ClassVar[list[np.ndarray]] = []

    def fit(self, X, y, sample_weight=None):
        _Recorder.fitted.append((np.array(X), sample_weight))
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        _Recorder.predicted.append(np.array(X))
        # Scores that vary with the row, so calibrators have something to fit.
        raw = np.tile(np.arange(1, len(self.classes_) + 1, dtype=float), (len(X), 1))
        raw[:, 0] += np.asarray(X, dtype=float)[:, 0]
        return raw / raw.sum(axis=1, keepdims=True)


@pytest.fixture
def recorder(monkeypatch):
    for name in ("xgb", "linear-invariant"):
        spec = dataclasses.replace(
            families.FAMILIES[name], make=lambda context: _Recorder()
        )
        monkeypatch.setitem(families.FAMILIES, name, spec)
    _Recorder.fitted, _Recorder.predicted = [], []
    calibrating: list[np.ndarray] = []
    original = trials._calibrated

    def watched(*args, **kwargs):
        start = len(_Recorder.predicted)
        result = original(*args, **kwargs)
        calibrating.extend(_Recorder.predicted[start:])
        return result

    monkeypatch.setattr(trials, "_calibrated", watched)
    return calibrating


@pytest.mark.parametrize("fold", [0, None], ids=["fold0", "final"])
@pytest.mark.parametrize("strategy", ["none", "class_weight", "oversample", "smote"])
@pytest.mark.parametrize("method", ["sigmoid", "isotonic", "temperature"])
def test_calibration_sees_only_the_training_part(
    recorder, tmp_path, method, strategy, fold
):
    held_out = "test" if fold is None else "validation"
    workspace = dataclasses.replace(
        marked_workspace(tmp_path, held_out), calibration=method
    )
    trial = Trial("xgb", strategy, fold)

    record = run_trial(trial, workspace)

    # One model per slice, each fitted on training rows only, weights and all.
    assert len(_Recorder.fitted) == trials.CALIBRATION_FOLDS
    for X, weights in _Recorder.fitted:
        assert X.max() <= TRAIN_MAX, "a held-out value reached fit"
        assert (weights is not None) == (strategy == "class_weight")
    # The calibrators read each training image once: no copies, no held-out row.
    assert recorder, "nothing was calibrated"
    calibrated = np.concatenate(recorder)
    assert calibrated.max() <= TRAIN_MAX, "a held-out value reached a calibrator"
    train, _ = split_rows(trials._table(workspace.run_dir), fold)
    assert len(calibrated) == len(train)
    assert len(np.unique(calibrated, axis=0)) == len(train)
    proba = workspace.store.scores(trial.key)["evaluation_proba"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert record.metrics.train["melanoma_brier"] is not None


def test_slices_keep_copies_together_and_calibrate_on_each_image_once():
    from benchmarks.grid.strategies import Resampled

    # Nine training images, three per class; image 0 copied twice, two made rows.
    drawn = np.array([0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, -1, -1])
    labels = np.array(list("aaabbbcccbcba"))[[0, 0, 0, 0, 0, 3, 3, 3, 6, 6, 6, 3, 6]]
    resampled = Resampled(
        X=np.arange(len(drawn), dtype=float)[:, None],
        y=labels,
        sample_weight=None,
        drawn=drawn,
    )

    splits = trials._calibration_splits(resampled, seed=0)

    assert len(splits) == trials.CALIBRATION_FOLDS
    calibrated = np.concatenate([drawn[rows] for _, rows in splits])
    assert sorted(calibrated) == list(range(9)), "each image once, no made rows"
    for fit_rows, calibrate_rows in splits:
        assert not set(drawn[fit_rows]) & set(drawn[calibrate_rows])
        assert {11, 12} <= set(fit_rows), "made rows are fitted in every slice"
        assert len(fit_rows) + np.isin(drawn, drawn[calibrate_rows]).sum() == 13


def test_too_few_images_of_a_class_leaves_the_estimator_uncalibrated():
    from benchmarks.grid.strategies import Resampled

    resampled = Resampled(
        X=np.zeros((5, 1)),
        y=np.array(["a", "a", "a", "a", "b"]),
        sample_weight=None,
        drawn=np.arange(5),
    )

    assert trials._calibration_splits(resampled, seed=0) is None
