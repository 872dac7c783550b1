"""XGBoostClassifier: sklearn contract, early stopping on training data, pipelines."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from models._xgboost import XGBoostClassifier, inner_split

SEED = 17
FAST = {"n_estimators": 60, "early_stopping_rounds": 10, "n_jobs": 1}


def _data(n_rows: int = 240, n_classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs with string labels, unequal class sizes."""
    rng = np.random.default_rng(SEED)
    sizes = np.linspace(2, 1, n_classes)
    counts = np.maximum(2, (sizes / sizes.sum() * n_rows).astype(int))
    X = np.concatenate(
        [rng.normal(k * 1.5, 1.0, size=(c, 6)) for k, c in enumerate(counts)]
    )
    y = np.concatenate(
        [np.full(c, f"class {k}", dtype=object) for k, c in enumerate(counts)]
    )
    return X, y


def test_fit_predict_proba_and_labels() -> None:
    X, y = _data()
    model = XGBoostClassifier(random_state=SEED, **FAST).fit(X, y)
    probabilities = model.predict_proba(X)
    assert list(model.classes_) == ["class 0", "class 1", "class 2"]
    assert probabilities.shape == (len(y), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert set(model.predict(X)) <= set(model.classes_)
    assert (model.predict(X) == y).mean() > 0.7


def test_binary_labels_work() -> None:
    X, y = _data(n_classes=2)
    model = XGBoostClassifier(random_state=SEED, **FAST).fit(X, y)
    assert model.predict_proba(X).shape == (len(y), 2)
    assert len(model.history_["validation_loss"]) > 0


def test_history_and_best_iteration() -> None:
    X, y = _data()
    model = XGBoostClassifier(random_state=SEED, refit=False, **FAST).fit(X, y)
    train_loss = model.history_["train_loss"]
    validation_loss = model.history_["validation_loss"]
    assert len(train_loss) == len(validation_loss) <= FAST["n_estimators"]
    assert 0 <= model.best_iteration_ < len(validation_loss)
    assert validation_loss[model.best_iteration_] == min(validation_loss)
    assert train_loss[-1] < train_loss[0]
    assert model.n_rounds_ == model.best_iteration_ + 1


def test_early_stopping_stops_before_the_cap() -> None:
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(300, 5))
    y = rng.integers(0, 3, size=300)  # pure noise: validation loss rises fast
    model = XGBoostClassifier(
        n_estimators=500, early_stopping_rounds=10, learning_rate=0.3, n_jobs=1
    ).fit(X, y)
    assert len(model.history_["validation_loss"]) < 500
    assert model.best_iteration_ < 100


def test_refit_uses_scaled_best_round_count() -> None:
    X, y = _data()
    model = XGBoostClassifier(random_state=SEED, refit_scale=1.5, **FAST).fit(X, y)
    assert model.n_rounds_ == max(1, round((model.best_iteration_ + 1) * 1.5))


def test_inner_split_is_stratified_and_keeps_copies_together() -> None:
    X, y = _data()
    X = np.concatenate([X, X[:40]])  # 40 exact copies, e.g. oversampled rows
    y = np.concatenate([y, y[:40]])
    _, encoded = np.unique(y, return_inverse=True)
    train, validation = inner_split(X, encoded, 0.2, np.random.RandomState(SEED))
    assert len(np.intersect1d(train, validation)) == 0
    assert len(train) + len(validation) == len(y)
    train_rows = {row.tobytes() for row in X[train]}
    assert not any(row.tobytes() in train_rows for row in X[validation])
    for label in np.unique(encoded):
        share = np.mean(encoded[validation] == label) / np.mean(encoded == label)
        assert 0.6 < share < 1.5


def test_early_stopping_sees_only_the_training_rows(monkeypatch) -> None:
    """Every row XGBoost trains or early-stops on comes from fit's own X."""
    X, y = _data()
    seen: list[np.ndarray] = []
    original_booster = XGBoostClassifier._booster

    def spy(self, *args, **kwargs):
        booster = original_booster(self, *args, **kwargs)
        booster_fit = booster.fit

        def recording_fit(X_fit, y_fit, **fit_kwargs):
            seen.append(np.asarray(X_fit))
            for X_eval, _ in fit_kwargs.get("eval_set") or []:
                seen.append(np.asarray(X_eval))
            return booster_fit(X_fit, y_fit, **fit_kwargs)

        booster.fit = recording_fit
        return booster

    monkeypatch.setattr(XGBoostClassifier, "_booster", spy)
    XGBoostClassifier(random_state=SEED, **FAST).fit(X, y)
    training_rows = {row.tobytes() for row in X.astype(np.float32)}
    assert seen
    for block in seen:
        assert all(row.tobytes() in training_rows for row in block)


def test_same_random_state_same_model() -> None:
    X, y = _data()
    first = XGBoostClassifier(random_state=SEED, subsample=0.6, **FAST).fit(X, y)
    second = XGBoostClassifier(random_state=SEED, subsample=0.6, **FAST).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert first.history_ == second.history_


def test_sample_weight_changes_the_model() -> None:
    X, y = _data()
    weights = compute_sample_weight("balanced", y)
    plain = XGBoostClassifier(random_state=SEED, **FAST).fit(X, y)
    weighted = XGBoostClassifier(random_state=SEED, **FAST).fit(
        X, y, sample_weight=weights
    )
    assert not np.allclose(plain.predict_proba(X), weighted.predict_proba(X))


def test_works_in_imblearn_pipeline_with_smote() -> None:
    X, y = _data()
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            ("smote", SMOTE(random_state=SEED)),
            ("clf", XGBoostClassifier(random_state=SEED, **FAST)),
        ]
    )
    pipeline.fit(X, y)
    assert pipeline.predict_proba(X).shape == (len(y), 3)


def test_sample_weight_routes_through_pipeline() -> None:
    X, y = _data()
    weights = compute_sample_weight("balanced", y)
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            ("clf", XGBoostClassifier(random_state=SEED, **FAST)),
        ]
    )
    pipeline.fit(X, y, clf__sample_weight=weights)
    direct = XGBoostClassifier(random_state=SEED, **FAST).fit(
        StandardScaler().fit_transform(X), y, sample_weight=weights
    )
    np.testing.assert_allclose(
        pipeline.predict_proba(X),
        direct.predict_proba(StandardScaler().fit(X).transform(X)),
        rtol=1e-6,
    )


def test_constructor_only_stores_and_clone_works() -> None:
    model = XGBoostClassifier(max_depth=2, random_state=SEED)
    assert model.get_params()["max_depth"] == 2
    assert not hasattr(model, "classes_")
    assert clone(model).get_params() == model.get_params()


def test_tiny_data_trains_without_early_stopping() -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    model = XGBoostClassifier(n_estimators=5, n_jobs=1).fit(X, y)
    assert model.history_ == {"train_loss": [], "validation_loss": []}
    assert model.n_rounds_ == 5


@pytest.mark.parametrize(
    ("params", "match"),
    [
        pytest.param({"validation_fraction": 0.6}, "validation_fraction", id="vf-high"),
        pytest.param({"validation_fraction": 0.0}, "validation_fraction", id="vf-zero"),
        pytest.param({"learning_rate": 0}, "learning_rate", id="lr-zero"),
        pytest.param({"max_depth": 2.5}, "max_depth: 2.5", id="depth-float"),
        pytest.param({"subsample": 1.5}, "subsample", id="subsample"),
        pytest.param({"early_stopping_rounds": 0}, "early_stopping", id="esr"),
        pytest.param({"refit": "yes"}, "refit", id="refit"),
        pytest.param({"n_jobs": 1.5}, "n_jobs", id="n-jobs"),
    ],
)
def test_bad_parameters_raise_one_line(params, match) -> None:
    X, y = _data()
    with pytest.raises(ValueError, match=match) as error:
        XGBoostClassifier(**params).fit(X, y)
    assert "\n" not in str(error.value)


def test_bad_inputs_raise() -> None:
    X, y = _data()
    with pytest.raises(ValueError, match="one class"):
        XGBoostClassifier(**FAST).fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="sample_weight"):
        XGBoostClassifier(**FAST).fit(X, y, sample_weight=np.ones(3))
    model = XGBoostClassifier(random_state=SEED, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict_proba(X[:, :3])


def test_save_and_load_round_trip(tmp_path) -> None:
    X, y = _data()
    model = XGBoostClassifier(random_state=SEED, **FAST).fit(X, y)
    path = model.save(tmp_path / "trees.json")
    loaded = XGBoostClassifier.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert list(loaded.classes_) == list(model.classes_)
    assert loaded.n_rounds_ == model.n_rounds_
    assert loaded.history_ == model.history_
    assert loaded.get_params() == model.get_params()


def test_save_and_load_refuse_other_files(tmp_path) -> None:
    model = XGBoostClassifier(random_state=SEED, **FAST).fit(*_data())
    with pytest.raises(ValueError, match=r"ending in \.json"):
        model.save(tmp_path / "trees.ubj")
    other = tmp_path / "other.json"
    other.write_text('{"not": "a model"}')
    with pytest.raises(ValueError, match="not a model saved by"):
        XGBoostClassifier.load(other)
