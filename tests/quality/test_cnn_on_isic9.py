"""The default CNN on isic9, through the harness's own trials.

The same trials as the `cnn` x `class_weight` row of
`python -m benchmarks run all --data ../shared/data/isic9 --profile full`:
grouped 5-fold CV, balanced class weights from each training part, 48x48 images,
40 epochs of batch 32 on every training image.

Issue 4's bar: balanced accuracy >= 0.55 with a train-minus-validation gap <=
0.15. With seed 0 the default reaches 0.569 +- 0.039, gap 0.124 over the five
folds (0.523, 0.610, 0.596, 0.532, 0.583); at the earlier batch 64 and 30 epochs
it was 0.526.

Why only folds 0 and 1: each fold is 2-4.5 minutes of training on 2 cores, and
five took a quarter of CI's budget. The first two hold the same bar: mean 0.567
in the five-fold run above, and 0.574 +- 0.041, gap 0.098, on a machine with
another CPU (AVX2 only), where CNN figures differ a little. The full run
measures all five.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.grid.config import RunConfig
from benchmarks.grid.runner import prepare
from benchmarks.grid.trials import run_trial
from tests.conftest import ISIC9, requires_isic9

FOLDS = (0, 1)


@pytest.mark.isic9
@pytest.mark.slow
@requires_isic9
def test_cnn_with_class_weights_meets_the_isic9_bar(
    isic9_cache, tmp_path, record_property
):
    config = RunConfig(
        data=str(ISIC9), models=("cnn",), strategies=("class_weight",), profile="full"
    )
    prepared = prepare(config, tmp_path, cache=str(isic9_cache))
    records = [
        run_trial(trial, prepared.workspace)
        for trial in prepared.trials
        if trial.fold in FOLDS
    ]
    validation = np.array(
        [record.metrics.validation["balanced_accuracy"] for record in records]
    )
    gap = np.array([record.gap["balanced_accuracy"] for record in records])
    record_property(
        "balanced_accuracy", f"{validation.mean():.3f}+-{validation.std():.3f}"
    )
    record_property("train_val_gap", f"{gap.mean():.3f}")
    seconds = [record.timings.wall_seconds for record in records]
    record_property("trial_seconds", f"{min(seconds):.0f}-{max(seconds):.0f}")
    assert len(records) == len(FOLDS)
    assert validation.mean() >= 0.55
    assert gap.mean() <= 0.15
