"""Why this score: feature groups, SHAP and linear contributions, Grad-CAM, and
what a fold trial records of them (benchmarks/grid/explanations.py)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.grid import explanations, families
from benchmarks.grid.configuration import Trial
from benchmarks.grid.trials import run_trial
from features import feature_names
from tests.harness.conftest import marked_workspace

SEED = 0
CLASSES = np.array(["melanoma", "nevus", "vascular lesion"])


def _table(n_rows: int = 90, n_columns: int = 8, seed: int = SEED):
    """Rows whose class depends on the first two columns, three classes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_columns))
    labels = CLASSES[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)]
    return X, labels


def test_every_feature_column_has_a_group():
    names = feature_names()
    groups = explanations.feature_groups(names)
    assert len(groups) == len(names)
    assert set(groups) == {
        "A asymmetry",
        "B border",
        "C colour",
        "D diameter",
        "texture",
        "7-point structures",
    }
    with pytest.raises(ValueError, match="no group"):
        explanations.feature_group("lesion_area")


@pytest.mark.parametrize("name", ["xgb", "xgb-invariant", "linear-invariant"])
def test_family_columns_match_the_design_matrix(name):
    spec = families.family(name)
    names = explanations.column_names(spec)
    selected = spec.feature_columns(feature_names()) if spec.feature_columns else None
    assert len(names) == (len(selected) if selected else len(feature_names()))
    assert explanations.column_names(families.family("cnn")) is None


def test_hybrid_columns_name_its_embeddings_first():
    names = explanations.column_names(
        families.family("hybrid"), 10 + len(feature_names())
    )
    assert names[:10] == [f"embedding__cnn_{i}" for i in range(10)]
    assert explanations.feature_groups(names)[0] == "CNN embedding"
    assert names[10:] == feature_names()


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("positive", ["melanoma", "nevus"])
def test_shap_contributions_sum_to_the_margin(n_classes, positive):
    from models import XGBoostClassifier

    X, labels = _table()
    if n_classes == 2:
        labels = np.where(labels == "melanoma", "melanoma", "nevus")
    model = XGBoostClassifier(n_estimators=30, random_state=SEED, n_jobs=1)
    model.fit(X, labels)
    values, bias = explanations.contributions(model, X, positive)
    assert values.shape == X.shape
    margin = explanations.margin(model, X, positive)
    np.testing.assert_allclose(values.sum(axis=1) + bias, margin, atol=1e-4)
    # The margin is the probability's log-odds: its sign says which side.
    proba = model.predict_proba(X)[:, list(model.classes_).index(positive)]
    if n_classes == 2:
        np.testing.assert_array_equal(margin > 0, proba > 0.5)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_linear_contributions_sum_to_the_decision_function(n_classes):
    spec = families.family("linear-invariant")
    X, labels = _table()
    if n_classes == 2:
        labels = np.where(labels == "melanoma", "melanoma", "nevus")
    model = spec.make(_context()).fit(X, labels)
    for positive in ("melanoma", "nevus"):
        values, bias = explanations.contributions(model, X, positive)
        scaled = model[:-1].transform(X)
        column = list(model.classes_).index(positive)
        coef = model[-1].coef_
        expected = scaled * (coef[column] if len(coef) > 1 else coef[0])
        if len(coef) == 1 and column == 0:
            expected = -expected
        np.testing.assert_allclose(values, expected)
        decision = model.decision_function(X)
        if decision.ndim == 1:
            decision = decision if column == 1 else -decision
        else:
            decision = decision[:, column]
        np.testing.assert_allclose(values.sum(axis=1) + bias, decision, atol=1e-9)


def _context():
    from benchmarks.grid.config import PROFILES
    from benchmarks.grid.families import FitContext

    return FitContext("linear-invariant", "none", 0, PROFILES["quick"], SEED, 1, 90, 90)


def test_importance_and_top_groups():
    from models import XGBoostClassifier

    names = feature_names()
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(120, len(names)))
    colour = names.index(next(n for n in names if n.startswith("colour__")))
    labels = np.where(X[:, colour] > 0, "melanoma", "nevus")
    model = XGBoostClassifier(n_estimators=20, random_state=SEED, n_jobs=1)
    model.fit(X, labels)
    table = explanations.importance(model, X, names, "melanoma")
    assert set(table) == set(names)
    assert max(table, key=lambda name: table[name]["shap"]) == names[colour]
    assert sum(entry["gain"] for entry in table.values()) == pytest.approx(1, abs=1e-3)
    groups = explanations.group_importance(table)
    assert max(groups, key=lambda g: groups[g]["shap"]) == "C colour"
    values, _ = explanations.contributions(model, X, "melanoma")
    top = explanations.top_groups(values, names)
    assert len(top) == len(X) and all(len(row) == 3 for row in top)
    melanoma_rows = np.flatnonzero(labels == "melanoma")
    assert top[melanoma_rows[0]][0][0] == "C colour"
    sums = [value for _, value in top[0]]
    assert sums == sorted(sums, reverse=True)


def test_other_estimators_give_no_contributions():
    from sklearn.ensemble import RandomForestClassifier

    X, labels = _table()
    forest = RandomForestClassifier(n_estimators=3, random_state=SEED).fit(X, labels)
    assert explanations.contributions(forest, X, "melanoma") is None
    assert explanations.importance(forest, X, [f"x{i}" for i in range(8)], "m") is None


@pytest.fixture(scope="module")
def tiny_cnn():
    pytest.importorskip("tensorflow")
    from models import KerasImageClassifier

    rng = np.random.default_rng(SEED)
    images = rng.integers(0, 120, (24, 16, 16, 3), dtype=np.uint8)
    labels = np.array(["melanoma", "nevus"] * 12)
    # A bright square marks melanoma, so the network has somewhere to look.
    images[labels == "melanoma", 4:10, 4:10] = 250
    network = KerasImageClassifier(
        architecture="cnn",
        image_size=16,
        epochs=2,
        validation_fraction=0,
        seed=SEED,
        n_threads=1,
        width=4,
        n_blocks=2,
    )
    return network.fit(images, labels), images


def test_grad_cam_maps(tiny_cnn, monkeypatch):
    network, images = tiny_cnn
    assert explanations.last_conv_layer(network.model_) == "block2_relu1"
    maps = explanations.grad_cam(network, images[:6], "melanoma")
    # Two blocks of 2x2 pooling: the last activations are at 16 / 2 = 8.
    assert maps.shape == (6, 8, 8) and maps.dtype == np.uint8
    assert maps.max() == 255 and maps.min() == 0
    assert any(np.ptp(single) > 0 for single in maps)
    again = explanations.grad_cam(network, images[:6], "melanoma")
    np.testing.assert_array_equal(maps, again)
    # Triage's batches run a traced graph: the same maps, to rounding.
    monkeypatch.setattr(explanations, "EAGER_IMAGES", 0)
    traced = explanations.grad_cam(network, images[:6], "melanoma")
    assert np.abs(traced.astype(int) - maps).max() <= 1
    assert explanations.grad_cam(network, images[:2], "no such class") is None
    shown = explanations.overlay(images[0], maps[0])
    assert shown.shape == images[0].shape and shown.dtype == np.uint8


def test_explained_sample_is_found_then_missed():
    labels = np.array(["melanoma"] * 12 + ["nevus"] * 4)
    predicted = np.array(["melanoma", "nevus"] * 6 + ["melanoma"] * 4)
    chosen = explanations.explained_sample(labels, predicted, "melanoma")
    np.testing.assert_array_equal(chosen, [0, 2, 4, 6, 1, 3, 5, 7])


def test_fold_trials_record_importance_and_maps(tmp_path):
    workspace = marked_workspace(tmp_path, "validation")
    record = run_trial(Trial("xgb", "none", 0), workspace)
    importance = record.importance
    assert set(importance) == set(feature_names())
    assert all(set(entry) == {"gain", "shap"} for entry in importance.values())
    assert record.timings.explain_seconds >= 0
    linear = run_trial(Trial("linear-invariant", "none", 0), workspace)
    assert len(linear.importance) == len(
        explanations.column_names(families.family("linear-invariant"))
    )
    final = run_trial(Trial("xgb", "none", None), workspace)
    assert final.importance is None

    pytest.importorskip("tensorflow")
    cnn = run_trial(Trial("cnn", "none", 0), workspace)
    assert cnn.importance is None
    scores = workspace.store.scores(cnn.key)
    rows, maps = scores["explained_rows"], scores["explained_maps"]
    assert 1 <= len(rows) <= 8 and maps.dtype == np.uint8
    assert maps.shape[0] == len(rows) and maps.ndim == 3
    labels = workspace.store.manifest()["label"].to_numpy()
    assert set(labels[rows]) == {"melanoma"}
    assert set(rows) <= set(scores["evaluation_rows"])


def test_a_calibrated_model_explains_through_its_models():
    from sklearn.calibration import CalibratedClassifierCV

    from models import XGBoostClassifier

    X, labels = _table()
    trees = XGBoostClassifier(n_estimators=20, random_state=SEED, n_jobs=1)
    calibrated = CalibratedClassifierCV(trees, method="isotonic", cv=3)
    calibrated.fit(X, labels)
    values, bias = explanations.contributions(calibrated, X, "melanoma")
    margins = [
        explanations.margin(part.estimator, X, "melanoma")
        for part in calibrated.calibrated_classifiers_
    ]
    np.testing.assert_allclose(
        values.sum(axis=1) + bias, np.mean(margins, axis=0), atol=1e-4
    )
    shares = explanations.gain_shares(calibrated, X.shape[1])
    assert shares.sum() == pytest.approx(1)
