"""Quality bars of handcrafted features + XGBoost, under the suite's own folds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.utils.class_weight import compute_sample_weight

from benchmarks.data.audit import audit
from benchmarks.data.datasets import drop_unreadable, load_manifest
from benchmarks.data.feature_cache import load_features
from benchmarks.data.folds import assign_folds
from models import XGBoostClassifier
from tests.conftest import ISIC9, SEED, requires_isic9

MELANOMA = "melanoma"


def cross_validate(features: np.ndarray, labels: np.ndarray, folds: np.ndarray):
    """Per fold: validation and train balanced accuracy, validation melanoma AUC.

    Class weights come from each training fold only.
    """
    scores = []
    for fold in np.unique(folds):
        train, validation = folds != fold, folds == fold
        model = XGBoostClassifier(random_state=SEED)
        model.fit(
            features[train],
            labels[train],
            sample_weight=compute_sample_weight("balanced", labels[train]),
        )
        melanoma = list(model.classes_).index(MELANOMA)
        probabilities = model.predict_proba(features[validation])
        scores.append(
            (
                balanced_accuracy_score(
                    labels[validation], model.predict(features[validation])
                ),
                balanced_accuracy_score(labels[train], model.predict(features[train])),
                roc_auc_score(
                    labels[validation] == MELANOMA, probabilities[:, melanoma]
                ),
            )
        )
    return np.array(scores)


@pytest.mark.isic9
@pytest.mark.slow
@requires_isic9
def test_isic9_grouped_cv_with_class_weights(isic9_cache, record_property):
    manifest = drop_unreadable(load_manifest(ISIC9, cache=isic9_cache))
    copy_group = audit(manifest).copy_group
    table = load_features(manifest, cache=isic9_cache).to_numpy()
    train = (manifest["split"] == "train").to_numpy()
    labels = manifest["label"].to_numpy()[train]
    folds = assign_folds(labels, copy_group[train], n_folds=5, seed=SEED)
    scores = cross_validate(table[train], labels, folds)
    validation, training, auc = scores.mean(axis=0)
    gap = training - validation
    for name, value in (
        ("balanced_accuracy", validation),
        ("balanced_accuracy_std", scores[:, 0].std()),
        ("train_val_gap", gap),
        ("melanoma_auc", auc),
        ("melanoma_auc_std", scores[:, 2].std()),
    ):
        record_property(name, round(float(value), 4))
    assert validation >= 0.53
    assert auc >= 0.90
    assert gap <= 0.30
