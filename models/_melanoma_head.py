"""A multi-class linear model whose melanoma score also asks the triage question.

Why: a strongly penalised multinomial regression under class weighting spends
its few effective weights on telling the nine classes apart, the rare ones of
isic9 as much as the nevi that other clinics are full of. A second regression
fitted to melanoma against the rest, both sides weighted equally whatever the
strategy did to the nine classes, spends them on the question triage asks.
Their melanoma log-odds averaged ranked melanomas better than either alone on
each of three sources held out (docs/generalization.md, "A melanoma head
for linear-dermoscopy").
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, logsumexp, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted


class MelanomaHeadClassifier(ClassifierMixin, BaseEstimator):
    """A linear ``estimator`` fitted twice: on every class (with the strategy's
    weights), and on ``positive`` against the rest (balanced). ``positive``'s
    probability is the sigmoid of the mean of the two models' log-odds for it;
    the other classes share the remainder as the first model shares it.

    Where the training labels lack ``positive`` or hold nothing else, the first
    model alone scores.
    """

    def __init__(self, estimator: Any, positive: str = "melanoma") -> None:
        self.estimator = estimator
        self.positive = positive

    def fit(
        self, X: Any, y: Any, sample_weight: np.ndarray | None = None
    ) -> MelanomaHeadClassifier:
        y = np.asarray(y)
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        self.estimator_ = clone(self.estimator).fit(X, y, **weights)
        self.classes_ = self.estimator_.classes_
        is_positive = y == self.positive
        self.head_ = None
        if is_positive.any() and not is_positive.all():
            balanced = compute_sample_weight("balanced", is_positive)
            self.head_ = clone(self.estimator).fit(
                X, is_positive, sample_weight=balanced
            )
        return self

    def _column(self) -> int:
        return list(self.classes_).index(self.positive)

    def margin_terms(
        self, Z: np.ndarray, positive: str
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Exact per-column terms (n, columns) and per-row bias (n,) of the
        margin that ``decision_function`` gives ``positive``, for the
        estimator's own input ``Z``; None without a head or for another class
        (whose margin is the first model's: its ``coef_`` terms).

        The multinomial log-odds m_p - logsumexp(m_others) equals
        sum_j z_j (w_pj - sum_k pi_k w_kj) + b_p - sum_k pi_k b_k - H(pi), with
        pi the softmax over the other classes' margins and H its entropy: a
        linear term per column and a bias per row.
        """
        check_is_fitted(self, "estimator_")
        if self.head_ is None or positive != self.positive:
            return None
        Z = np.asarray(Z, dtype=np.float64)
        coef = np.asarray(self.estimator_.coef_, dtype=np.float64)
        intercept = np.asarray(self.estimator_.intercept_, dtype=np.float64)
        column = self._column()
        if coef.shape[0] == 1:
            sign = 1.0 if column == 1 else -1.0
            weights = np.broadcast_to(sign * coef[0], Z.shape)
            bias = np.full(len(Z), sign * intercept[0])
        else:
            others = np.delete(np.arange(coef.shape[0]), column)
            share = softmax(Z @ coef[others].T + intercept[others], axis=1)
            entropy = -np.sum(share * np.log(np.clip(share, 1e-300, None)), axis=1)
            weights = coef[column] - share @ coef[others]
            bias = intercept[column] - share @ intercept[others] - entropy
        head = np.asarray(self.head_.coef_, dtype=np.float64)[0]
        head_bias = float(np.asarray(self.head_.intercept_)[0])
        return 0.5 * Z * (weights + head), 0.5 * (bias + head_bias)

    def decision_function(self, X: Any) -> np.ndarray:
        """The first model's class margins, ``positive``'s replaced by the
        mean of the two models' log-odds for it."""
        check_is_fitted(self, "estimator_")
        margins = np.asarray(self.estimator_.decision_function(X), dtype=np.float64)
        if self.head_ is None:
            return margins
        if margins.ndim == 1:
            margins = np.column_stack([np.zeros_like(margins), margins])
        column = self._column()
        others = np.delete(margins, column, axis=1)
        log_odds = margins[:, column] - logsumexp(others, axis=1)
        head = np.asarray(self.head_.decision_function(X), dtype=np.float64)
        margins[:, column] = 0.5 * (log_odds + head)
        return margins

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        proba = np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)
        if self.head_ is None:
            return proba
        column = self._column()
        positive = expit(self.decision_function(X)[:, column])
        others = np.delete(proba, column, axis=1)
        total = others.sum(axis=1, keepdims=True)
        share = np.divide(
            others,
            total,
            out=np.full_like(others, 1 / max(others.shape[1], 1)),
            where=total > 0,
        )
        return np.insert(share * (1 - positive)[:, None], column, positive, axis=1)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
