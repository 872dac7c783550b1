"""The report's tables: the fast figures behind the Test intervals."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.scoring.metrics import evaluate
from reports._tables import LEADERBOARD_METRICS, _figures

SEED = 7


@pytest.mark.parametrize("n_images", [12, 60, 200], ids=lambda n: f"{n}-images")
def test_resample_figures_equal_the_evaluator(n_images):
    rng = np.random.default_rng(SEED + n_images)
    classes = ["melanoma", "nevus", "vascular", "keratosis"]
    truth = rng.integers(0, 3, n_images)  # keratosis never present
    proba = rng.dirichlet(np.ones(4), n_images)
    proba[:5, 0] = proba[5:10, 0] = 0.5  # ties in the melanoma score
    proba /= proba.sum(axis=1, keepdims=True)
    expected = evaluate(np.array(classes)[truth], proba, classes, "melanoma")
    got = _figures(truth, proba, 0, len(classes))
    for name, _ in LEADERBOARD_METRICS:
        assert got[name] == pytest.approx(expected[name]), name
