"""Quality bar of the default CNN on the synthetic set, through the harness.

The `cnn` x `class_weight` row of `python -m benchmarks run cnn --strategies
class_weight --profile full --folds 3`: 3 group-aware folds of the synthetic
Train split, 48x48 images, the full profile's training budget. About 2 minutes.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.config import RunConfig
from benchmarks.runner import prepare
from benchmarks.trials import run_trial


@pytest.mark.slow
def test_cnn_learns_the_synthetic_classes(tmp_path, record_property):
    config = RunConfig(
        models=("cnn",), strategies=("class_weight",), profile="full", folds=3
    )
    prepared = prepare(config, tmp_path)
    scores = np.array(
        [
            run_trial(trial, prepared.workspace)["metrics"]["validation"][
                "balanced_accuracy"
            ]
            for trial in prepared.trials
            if trial.fold is not None
        ]
    )
    record_property("balanced_accuracy", f"{scores.mean():.3f}+-{scores.std():.3f}")
    assert len(scores) == 3
    assert scores.mean() >= 0.90
