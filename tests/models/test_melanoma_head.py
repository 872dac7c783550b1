"""The melanoma head of linear-dermoscopy (models/_melanoma_head.py): its
probabilities, its exact explanation terms, and its weighting."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logsumexp
from sklearn.linear_model import LogisticRegression

from benchmarks.grid import explanations, families
from benchmarks.grid.config import PROFILES
from benchmarks.grid.families import FitContext
from models import MelanomaHeadClassifier

SEED = 0
CLASSES = np.array(["melanoma", "nevus", "vascular lesion"])


def _table(n_rows: int = 240, n_columns: int = 6):
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(n_rows, n_columns))
    labels = CLASSES[(X[:, 0] > 0.3).astype(int) + (X[:, 1] > 0.8).astype(int)]
    return X, labels


def _model() -> MelanomaHeadClassifier:
    return MelanomaHeadClassifier(LogisticRegression(C=0.1, max_iter=2000))


def test_melanoma_probability_is_the_mean_of_the_two_log_odds():
    X, labels = _table()
    model = _model().fit(X, labels)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    multinomial = model.estimator_.decision_function(X)
    log_odds = multinomial[:, 0] - logsumexp(multinomial[:, 1:], axis=1)
    head = model.head_.decision_function(X)
    np.testing.assert_allclose(proba[:, 0], expit((log_odds + head) / 2))
    # The other classes keep the multinomial model's proportions.
    plain = model.estimator_.predict_proba(X)
    np.testing.assert_allclose(
        proba[:, 1] / proba[:, 2], plain[:, 1] / plain[:, 2], rtol=1e-9
    )
    assert set(model.predict(X)) <= set(CLASSES)


def test_the_head_ignores_the_strategy_weights():
    """Class weighting reweights the nine classes; the head still weighs
    melanoma against the rest equally."""
    X, labels = _table()
    weights = np.where(labels == "vascular lesion", 5.0, 1.0)
    plain, weighted = _model().fit(X, labels), _model().fit(X, labels, weights)
    np.testing.assert_allclose(plain.head_.coef_, weighted.head_.coef_)
    assert not np.allclose(plain.estimator_.coef_, weighted.estimator_.coef_)


def test_without_melanoma_it_is_the_plain_model():
    X, labels = _table()
    keep = labels != "melanoma"
    model = _model().fit(X[keep], labels[keep])
    assert model.head_ is None
    np.testing.assert_allclose(
        model.predict_proba(X), model.estimator_.predict_proba(X)
    )


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("positive", ["melanoma", "nevus"])
def test_explanation_terms_sum_to_the_margin(n_classes, positive):
    X, labels = _table()
    if n_classes == 2:
        labels = np.where(labels == "melanoma", "melanoma", "nevus")
    context = FitContext(
        "linear-dermoscopy", "none", 0, PROFILES["quick"], SEED, 1, len(X), len(X)
    )
    model = families.family("linear-dermoscopy").make(context).fit(X, labels)
    values, bias = explanations.contributions(model, X, positive)
    assert values.shape == X.shape
    margin = explanations.margin(model, X, positive)
    np.testing.assert_allclose(values.sum(axis=1) + bias, margin, atol=1e-9)
    proba = model.predict_proba(X)[:, list(model.classes_).index(positive)]
    if positive == "melanoma":
        np.testing.assert_allclose(expit(margin), proba, atol=1e-12)
