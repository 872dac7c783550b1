"""XGBoost on tabular features: regularised defaults, early stopping, loss curves."""

from __future__ import annotations

import json
import logging
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xgboost
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

logger = logging.getLogger(__name__)

# Booster attribute holding our metadata inside the saved XGBoost JSON model.
_METADATA = "melanoma_bench"


@dataclass(frozen=True)
class _Range:
    """Allowed values of one numeric parameter; ``open_*`` excludes the bound."""

    low: float
    high: float = float("inf")
    integer: bool = False
    open_low: bool = False
    open_high: bool = False

    def allows(self, value: object) -> bool:
        kind = numbers.Integral if self.integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind):
            return False
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return bool(above and below)

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        left = "(" if self.open_low else "["
        right = ")" if self.open_high or self.high == float("inf") else "]"
        return f"{kind} in {left}{self.low:g}, {self.high:g}{right}"


#: Parameter -> allowed range; the single place _validate_params reads.
CONSTRAINTS: dict[str, _Range] = {
    "n_estimators": _Range(1, integer=True),
    "learning_rate": _Range(0, 1, open_low=True),
    "max_depth": _Range(1, 32, integer=True),
    "min_child_weight": _Range(0),
    "subsample": _Range(0, 1, open_low=True),
    "colsample_bytree": _Range(0, 1, open_low=True),
    "reg_lambda": _Range(0),
    "reg_alpha": _Range(0),
    "gamma": _Range(0),
    "max_bin": _Range(2, integer=True),
    "validation_fraction": _Range(0, 0.5, open_low=True, open_high=True),
    "early_stopping_rounds": _Range(1, integer=True),
    "refit_scale": _Range(1, 2),
}


def _group_ids(X: np.ndarray) -> np.ndarray:
    """Identical rows share a group, so copies (duplicate images, oversampled
    rows) never sit on both sides of the inner split and flatter early stopping."""
    _, inverse = np.unique(X, axis=0, return_inverse=True)
    return inverse.reshape(-1)


def inner_split(
    X: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, copy-aware (train, validation) row indices of the training data.

    About ``fraction`` of each class's groups of identical rows go to validation;
    every class keeps at least one group in the inner training part.
    """
    groups = _group_ids(X)
    first_row = np.unique(groups, return_index=True)[1]
    group_label = y[first_row]
    validation_groups: list[np.ndarray] = []
    for label in np.unique(group_label):
        members = np.flatnonzero(group_label == label)
        count = min(round(fraction * len(members)), len(members) - 1)
        if count > 0:
            validation_groups.append(rng.permutation(members)[:count])
    in_validation = np.zeros(len(first_row), dtype=bool)
    if validation_groups:
        in_validation[np.concatenate(validation_groups)] = True
    validation = in_validation[groups]
    # Conflicting copies can leave a class only in validation; pull it back.
    missing = np.setdiff1d(y, y[~validation])
    validation &= ~np.isin(y, missing)
    return np.flatnonzero(~validation), np.flatnonzero(validation)


class XGBoostClassifier(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees with regularised defaults and inner early stopping.

    Why: with ~180 handcrafted features and ~2,000 images, deep unregularised
    boosting memorises the training fold (300 depth-5 trees: train-minus-
    validation balanced accuracy gap 0.42 on isic9). Stumps-plus-one (depth 2),
    row and column subsampling, L2 shrinkage, coarse histograms and a round
    count chosen by early stopping on a held-out part of the *training* data
    bring the gap to ~0.27 with better validation scores, and never touch
    validation folds.

    After early stopping the model is refitted on all training rows with the
    same number of rounds (``refit=True``, ``refit_scale=1.0``), so the 15%
    held out for stopping is not wasted. On isic9 (5 group-aware folds, three
    seeds) the refit scored +0.006 balanced accuracy and +0.002 melanoma AUC
    over keeping the early-stopped model (+0.03 with depth-3 trees); scaling
    the rounds up for the extra rows only widened the gap.

    Parameters
    ----------
    n_estimators : int
        Upper bound on boosting rounds; early stopping picks the actual count.
    validation_fraction : float
        Share of the training rows (stratified, identical rows kept together)
        held out for early stopping, in (0, 0.5).
    early_stopping_rounds : int
        Stop after this many rounds without a lower validation log-loss.
    refit : bool
        After early stopping, refit on all training rows with
        ``refit_scale * best rounds`` rounds, so the held-out rows are not lost.
    random_state : int, RandomState or None
        Seeds the inner split and XGBoost's subsampling.
    n_jobs : int or None
        XGBoost threads; None lets XGBoost use all cores. Use 1 when several
        fits run in parallel processes: oversubscribed OpenMP threads made a
        fit ten times slower on a busy 2-core machine.

    Other parameters are XGBoost's own (``learning_rate``, ``max_depth``, ...).

    Attributes
    ----------
    classes_ : ndarray
        The class labels, sorted.
    history_ : dict of str to list of float
        Per-round ``train_loss`` and ``validation_loss`` (multi-class log-loss,
        sample-weighted) on the inner split.
    best_iteration_ : int
        Zero-based round with the lowest inner validation loss.
    n_rounds_ : int
        Rounds in the final model.
    booster_ : xgboost.XGBClassifier
        The fitted XGBoost model.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 2000,
        learning_rate: float = 0.05,
        max_depth: int = 2,
        min_child_weight: float = 5.0,
        subsample: float = 0.6,
        colsample_bytree: float = 0.3,
        reg_lambda: float = 10.0,
        reg_alpha: float = 0.0,
        gamma: float = 0.0,
        max_bin: int = 64,
        validation_fraction: float = 0.15,
        early_stopping_rounds: int = 50,
        refit: bool = True,
        refit_scale: float = 1.0,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.gamma = gamma
        self.max_bin = max_bin
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.refit = refit
        self.refit_scale = refit_scale
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _validate_params(self) -> None:
        for name, allowed in CONSTRAINTS.items():
            value = getattr(self, name)
            if not allowed.allows(value):
                raise ValueError(
                    f"{name}: {value!r} is not allowed; use {allowed.describe()}"
                )
        if not isinstance(self.refit, bool):
            raise ValueError(f"refit: {self.refit!r} is not allowed; use True or False")
        if self.n_jobs is not None and (
            isinstance(self.n_jobs, bool)
            or not isinstance(self.n_jobs, numbers.Integral)
        ):
            raise ValueError(
                f"n_jobs: {self.n_jobs!r} is not allowed; use None or an int"
            )

    def _booster(
        self, n_rounds: int, seed: int, n_classes: int, stop: bool
    ) -> xgboost.XGBClassifier:
        """An unfitted XGBoost model with this estimator's settings."""
        return xgboost.XGBClassifier(
            n_estimators=n_rounds,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            min_child_weight=self.min_child_weight,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            reg_alpha=self.reg_alpha,
            gamma=self.gamma,
            max_bin=self.max_bin,
            tree_method="hist",
            eval_metric="mlogloss" if n_classes > 2 else "logloss",
            early_stopping_rounds=self.early_stopping_rounds if stop else None,
            random_state=seed,
            n_jobs=self.n_jobs,
        )

    def fit(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> XGBoostClassifier:
        """Fit on (X, y); early stopping uses a split of these rows only."""
        self._validate_params()
        X, y = check_X_y(X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y: only one class ({self.classes_[0]!r}); need at least two"
            )
        weights = _sample_weight(sample_weight, len(y))
        self.n_features_in_ = X.shape[1]
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        train, validation = inner_split(X, encoded, self.validation_fraction, rng)
        n_classes = len(self.classes_)
        if len(validation) == 0:
            logger.warning(
                "XGBoostClassifier: %d rows are too few for an inner validation "
                "split; training %d rounds without early stopping",
                len(y),
                self.n_estimators,
            )
            booster = self._booster(self.n_estimators, seed, n_classes, stop=False)
            booster.fit(X, encoded, sample_weight=weights, verbose=False)
            self.history_ = {"train_loss": [], "validation_loss": []}
            self.best_iteration_ = self.n_estimators - 1
            self.n_rounds_ = self.n_estimators
            self.booster_ = booster
            return self
        booster = self._booster(self.n_estimators, seed, n_classes, stop=True)
        booster.fit(
            X[train],
            encoded[train],
            sample_weight=weights[train],
            eval_set=[(X[train], encoded[train]), (X[validation], encoded[validation])],
            sample_weight_eval_set=[weights[train], weights[validation]],
            verbose=False,
        )
        curves = booster.evals_result()
        metric = "mlogloss" if n_classes > 2 else "logloss"
        self.history_ = {
            "train_loss": [float(v) for v in curves["validation_0"][metric]],
            "validation_loss": [float(v) for v in curves["validation_1"][metric]],
        }
        self.best_iteration_ = int(booster.best_iteration)
        if self.refit:
            rounds = max(1, round((self.best_iteration_ + 1) * self.refit_scale))
            booster = self._booster(rounds, seed, n_classes, stop=False)
            booster.fit(X, encoded, sample_weight=weights, verbose=False)
            self.n_rounds_ = rounds
        else:
            self.n_rounds_ = self.best_iteration_ + 1
        self.booster_ = booster
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        check_is_fitted(self, "booster_")
        X = check_array(X, dtype=np.float32)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but XGBoostClassifier is expecting "
                f"{self.n_features_in_} features as input"
            )
        probabilities = self.booster_.predict_proba(
            X, iteration_range=(0, self.n_rounds_)
        )
        return np.asarray(probabilities, dtype=np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class label per row."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def save(self, path: str | Path) -> Path:
        """Write one XGBoost JSON model file with our metadata inside it.

        No pickles: ``load`` reads plain JSON, and XGBoost's own tools can read
        the file too.
        """
        check_is_fitted(self, "booster_")
        path = Path(path)
        if path.suffix != ".json":
            raise ValueError(f"path={str(path)!r}: use a file name ending in .json")
        params = self.get_params()
        if not isinstance(params["random_state"], int | None):
            params["random_state"] = None  # a RandomState object is not JSON
        metadata = {
            "params": params,
            "classes": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str,
            "n_features_in": self.n_features_in_,
            "n_rounds": self.n_rounds_,
            "best_iteration": self.best_iteration_,
            "history": self.history_,
        }
        booster = self.booster_.get_booster()
        booster.set_attr(**{_METADATA: json.dumps(metadata)})
        # The bytes XGBClassifier.save_model writes, written by Python: its C++
        # writer reports a full disk as an XGBoostError, or not at all, where
        # Python raises OSError ENOSPC.
        booster.set_attr(scikit_learn=json.dumps({"_estimator_type": "classifier"}))
        try:
            data = bytes(booster.save_raw(raw_format="json"))
        finally:
            booster.set_attr(scikit_learn=None)
        path.write_bytes(data)
        return path

    @classmethod
    def load(cls, path: str | Path) -> XGBoostClassifier:
        """A fitted classifier from a file written by ``save`` (ready to predict)."""
        path = Path(path)
        booster = xgboost.XGBClassifier()
        try:
            booster.load_model(path)
            metadata = json.loads(booster.get_booster().attr(_METADATA))
        except (TypeError, ValueError) as error:  # XGBoostError is a ValueError
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ValueError(
                f"{path}: not a model saved by XGBoostClassifier.save ({reason})"
            ) from None
        estimator = cls(**metadata["params"])
        estimator.booster_ = booster
        estimator.classes_ = np.array(
            metadata["classes"], dtype=np.dtype(metadata["classes_dtype"])
        )
        estimator.n_features_in_ = metadata["n_features_in"]
        estimator.n_rounds_ = metadata["n_rounds"]
        estimator.best_iteration_ = metadata["best_iteration"]
        estimator.history_ = metadata["history"]
        return estimator


def _sample_weight(sample_weight: np.ndarray | None, n_rows: int) -> np.ndarray:
    """Validated non-negative float weights, ones when none are given."""
    if sample_weight is None:
        return np.ones(n_rows, dtype=np.float64)
    weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if weights.shape[0] != n_rows or not np.all(np.isfinite(weights)):
        raise ValueError(
            f"sample_weight: expected {n_rows} finite values, got shape "
            f"{np.shape(sample_weight)}"
        )
    if np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("sample_weight: weights must be >= 0 and not all zero")
    return weights
