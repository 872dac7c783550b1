"""The contract: nothing from a split's validation or test part reaches fit.

Every strategy x model family runs through the real trial code with the
estimators replaced by spies that record what fit receives. Validation and
test rows carry values no training row has (see ``marked_workspace``), so a
leaked row, a copy of one, or a SMOTE row made from one shows up as a mark.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_sample_weight

import models
from benchmarks.grid import families
from benchmarks.grid.configuration import Trial
from benchmarks.grid.strategies import STRATEGIES
from benchmarks.grid.trials import run_trial, split_rows
from tests.harness.conftest import TRAIN_MAX, marked_workspace

#: Ours, and imbalanced-learn samplers by name: under-, over- and combined
#: samplers take the same code path.
ALL_STRATEGIES = (
    *STRATEGIES,
    "imblearn:RandomUnderSampler",
    "imblearn:BorderlineSMOTE",
    "imblearn:SMOTETomek",
)
FITTING = [name for name, family in families.FAMILIES.items() if family.fits]
COMBINING = [name for name, family in families.FAMILIES.items() if not family.fits]


class _Spy:
    """Records fit's arguments; predicts uniform probabilities."""

    calls: ClassVar[list[dict]] = []

    def __init__(self, **params) -> None:
        self.params = params

    def fit(self, X, y, sample_weight=None):
        return self._record(X, y, sample_weight, None)

    def _record(self, X, y, sample_weight, validation_data):
        _Spy.calls.append(
            {
                "estimator": type(self).__name__,
                "X": np.array(X),
                "y": np.array(y),
                "sample_weight": sample_weight,
                "validation_data": validation_data,
            }
        )
        self.classes_ = np.unique(y)
        self.history_ = {"train_loss": [1.0]}
        return self

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))


class SpyCNN(_Spy):
    best_epoch_ = 0
    images_per_second_ = 1.0

    def fit(self, X, y, sample_weight=None, validation_data=None):
        return self._record(X, y, sample_weight, validation_data)

    def embed(self, X):
        # The first pixels of each image: a mark in the image stays a mark.
        return np.asarray(X, dtype=np.float32).reshape(len(X), -1)[:, :4]


class SpyXGBoost(_Spy):
    best_iteration_ = 0


def _spying(make):
    """A family factory whose estimator is a spy: the factory runs (with the
    classes of ``models`` replaced by spies), and anything else it builds,
    a scikit-learn pipeline say, is swapped for a plain spy."""

    def spied(context):
        estimator = make(context)
        return estimator if isinstance(estimator, _Spy) else _Spy()

    return spied


@pytest.fixture
def spies(monkeypatch):
    monkeypatch.setattr(models, "KerasImageClassifier", SpyCNN, raising=False)
    monkeypatch.setattr(models, "XGBoostClassifier", SpyXGBoost)
    for name in FITTING:
        spec = families.FAMILIES[name]
        spied = dataclasses.replace(spec, make=_spying(spec.make))
        monkeypatch.setitem(families.FAMILIES, name, spied)
    _Spy.calls = []
    return _Spy.calls


def _run_after_inputs(spies, tmp_path, model, strategy, fold):
    """The trial on a marked workspace, its inputs run first and their fits
    cleared from ``spies``; returns (workspace, trial, record)."""
    workspace = marked_workspace(tmp_path, "test" if fold is None else "validation")
    trial = Trial(model, strategy, fold)
    for needed in families.needs(trial):
        run_trial(needed, workspace)
    spies.clear()
    return workspace, trial, run_trial(trial, workspace)


@pytest.mark.parametrize("fold", [0, None], ids=["fold0", "final"])
@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
@pytest.mark.parametrize("model", FITTING)
def test_fit_sees_only_training_rows(spies, tmp_path, model, strategy, fold):
    workspace, trial, record = _run_after_inputs(spies, tmp_path, model, strategy, fold)

    (call,) = spies
    assert call["X"].max() <= TRAIN_MAX, "a held-out value reached fit"
    table = _table(workspace)
    train, evaluation = split_rows(table, fold)
    y_train = table["label"].to_numpy()[train]
    assert set(call["y"]) <= set(y_train)
    assert record.class_counts_before == _counts(y_train)
    if strategy == "class_weight":
        expected = compute_sample_weight("balanced", y_train)
        np.testing.assert_allclose(call["sample_weight"], expected, rtol=1e-6)
    else:
        assert call["sample_weight"] is None
    if strategy in ("oversample", "smote"):
        counts = _counts(call["y"])
        assert len(set(counts.values())) == 1, "classes not balanced"
    scores = workspace.store.scores(trial.key)
    drawn = scores["fitted_rows"]
    assert set(drawn[drawn >= 0]) <= set(train)
    assert (drawn < 0).sum() == record.n_synthetic
    if strategy in ("none", "class_weight", "oversample"):
        assert record.n_synthetic == 0
    np.testing.assert_array_equal(scores["evaluation_rows"], evaluation)
    monitor = call["validation_data"]
    if families.IMAGES in families.FAMILIES[model].inputs and fold is not None:
        # Validation images only draw learning curves: no early stopping, no
        # weights chosen by them (test_monitoring_does_not_change_training).
        assert call["X"].shape[0] == len(call["y"])
        assert monitor[0].min() > TRAIN_MAX
        assert call["estimator"] == "SpyCNN"
    else:
        assert monitor is None


@pytest.mark.parametrize("fold", [0, None], ids=["fold0", "final"])
@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
@pytest.mark.parametrize("model", COMBINING)
def test_a_fusion_fits_nothing(spies, tmp_path, model, strategy, fold):
    """Its parts pass the test above; it only reads their scores, row by row."""
    workspace, trial, record = _run_after_inputs(spies, tmp_path, model, strategy, fold)

    assert spies == []
    train, evaluation = split_rows(_table(workspace), fold)
    scores = workspace.store.scores(trial.key)
    np.testing.assert_array_equal(scores["train_rows"], train)
    np.testing.assert_array_equal(scores["evaluation_rows"], evaluation)
    assert record.parts == tuple(needed.key for needed in families.needs(trial))


def _table(workspace):
    import pandas as pd

    return pd.read_parquet(workspace.store.path("manifest.parquet"))


def _counts(labels) -> dict[str, int]:
    names, counts = np.unique(labels, return_counts=True)
    return {str(name): int(count) for name, count in zip(names, counts, strict=True)}


def test_monitoring_does_not_change_training():
    """The CNN's weights are the same with and without validation curves."""
    from benchmarks.data.datasets import DEFAULT_TRAIN_COUNTS, generate_lesions
    from models._keras_classifier import KerasImageClassifier

    lesions = generate_lesions(
        {name: 6 for name in DEFAULT_TRAIN_COUNTS}, size=48, seed=0
    )
    X, y = lesions.images, lesions.labels
    order = np.random.default_rng(0).permutation(len(y))
    train, validation = order[:36], order[36:]

    def weights(monitor):
        estimator = KerasImageClassifier(
            epochs=2, patience=None, validation_fraction=0.0, n_threads=1, width=8
        )
        estimator.fit(X[train], y[train], validation_data=monitor)
        return estimator.model_.get_weights(), estimator.history_

    plain, _ = weights(None)
    monitored, history = weights((X[validation], y[validation]))
    assert len(history["validation_loss"]) == 2
    for first, second in zip(plain, monitored, strict=True):
        np.testing.assert_array_equal(first, second)
