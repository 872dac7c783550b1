"""The report's figures: each family's colour told apart from the others at a
glance; the first screen's summary figure the same size for 1 to 12 families."""

from __future__ import annotations

import base64
import struct
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from benchmarks.grid.families import FAMILIES
from reports._figures import DPI, colours
from reports.sections.verdict import MAX_HEIGHT, summary_chart


def test_every_built_in_family_has_a_clearly_distinct_colour():
    chosen = colours(list(FAMILIES))
    assert len(set(chosen.values())) == len(FAMILIES)
    # Euclidean distance in RGB: seaborn's orange and light brown, cnn's and
    # fusion's colours once, were 0.19 apart.
    assert np.linalg.norm(np.subtract(chosen["cnn"], chosen["fusion"])) > 0.5


@pytest.mark.parametrize(("n_families", "n_external"), [(1, 0), (12, 4)])
def test_the_summary_figure_fits_the_first_screen(n_families, n_external):
    """1 to 12 families, 0 to 4 external sets: every row drawn, and the figure
    never taller than MAX_HEIGHT, so that it fits under the verdict."""
    models = [f"family{index}" for index in range(n_families)]
    externals = [f"clinic{index}" for index in range(n_external)]
    board = pd.DataFrame(
        {
            "configuration": [f"{model}:none" for model in models],
            "model": models,
            "strategy": "none",
            "melanoma_sensitivity_at_80_specificity_mean": np.linspace(
                0.5, 0.9, n_families
            ),
            "balanced_accuracy_mean": 0.6,
            "melanoma_auc_mean": np.linspace(0.6, 0.95, n_families),
            "melanoma_auc_ci_low": 0.5,
            "melanoma_auc_ci_high": 1.2,
            "best": [index == n_families - 1 for index in range(n_families)],
        }
    )
    generalization = pd.DataFrame(
        [
            {
                "configuration": f"{model}:none",
                "external": name,
                "melanoma_auc": 0.55,
                "melanoma_auc_ci": (0.45, 0.65),
            }
            for model in models
            for name in externals
        ]
    )
    tables = SimpleNamespace(
        leaderboard=board,
        models=models,
        generalization=generalization,
        held_out=pd.DataFrame(),
        records=[],
        info=SimpleNamespace(
            sources=("isic9",),
            external_names=tuple(externals),
            leave_source_out=False,
            n_folds=3,
        ),
    )
    chart = summary_chart(tables)
    png = base64.b64decode(chart.removeprefix("data:image/png;base64,"))
    width, height = struct.unpack(">II", png[16:24])
    assert height <= (MAX_HEIGHT + 0.3) * DPI
    assert width <= 12 * DPI


def test_a_gap_interval_below_zero_is_drawn_below_zero():
    """A train-validation gap is negative where validation scored higher: its
    interval keeps that part; an AUC's stays within [0, 1]."""
    import matplotlib.pyplot as plt

    from reports.sections.verdict import _errorbar

    figure, axis = plt.subplots()
    _errorbar(axis, 0.025, 0, (-0.114, 0.163), (-1.0, 1.0), fmt="o")
    _errorbar(axis, 0.95, 1, (0.85, 1.04), fmt="o")
    (gap_low, gap_high), (auc_low, auc_high) = (
        line.get_segments()[0][:, 0]
        for collection in axis.containers
        for line in collection.lines[2]
    )
    plt.close(figure)
    assert (gap_low, gap_high) == pytest.approx((-0.114, 0.163))
    assert (auc_low, auc_high) == pytest.approx((0.85, 1.0))
