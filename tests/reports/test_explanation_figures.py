"""The report's "Why this score" figures, from trials a tiny run records."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from benchmarks.analysis.leaderboard import RANKING
from benchmarks.grid.configuration import Trial
from benchmarks.grid.record import TrialRecord
from benchmarks.grid.trials import run_trial
from features import feature_names
from reports.sections import explanations as _explanations
from tests.conftest import trial_record
from tests.harness.conftest import CLASSES, marked_workspace


def _tables(store, configurations):
    board = pd.DataFrame(
        [
            {"model": model, "strategy": "none", **{f"{n}_mean": 0.5 for n in RANKING}}
            for model in configurations
        ]
    )
    return SimpleNamespace(
        records=store.records(),
        leaderboard=board,
        models=list(configurations),
        classes=list(CLASSES),
        positive="melanoma",
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    workspace = marked_workspace(tmp_path_factory.mktemp("run"), "validation")
    for fold in (0, 1):
        run_trial(Trial("xgb", "none", fold), workspace)
    return workspace


def test_importance_chart_averages_the_best_trees_folds(tiny):
    tables = _tables(tiny.store, ["xgb"])
    model, strategy, table = _explanations.importance_table(tables)
    assert (model, strategy) == ("xgb", "none")
    assert {"shap", "gain", "group"} <= set(table.columns) and len(table) == len(
        feature_names()
    )
    chart = _explanations.importance_chart(tables, tiny.store)
    assert chart.startswith("data:image/png;base64,")


def test_no_figures_without_what_they_show(tiny):
    tables = _tables(tiny.store, ["xgb"])
    assert _explanations.gradcam_panel(tables, tiny.store) is None
    tables.records = [replace(record, importance=None) for record in tables.records]
    assert _explanations.importance_chart(tables, tiny.store) is None


def test_gradcam_panel_shows_found_and_missed_melanomas(tiny, monkeypatch):
    pytest.importorskip("tensorflow")
    run_trial(Trial("cnn", "none", 0), tiny)
    tables = _tables(tiny.store, ["xgb", "cnn"])
    model, strategy, chosen = _explanations.gradcam_sample(tables, tiny.store)
    assert (model, strategy) == ("cnn", "none") and 1 <= len(chosen) <= 8
    found = [entry[1] for entry in chosen]
    assert found == sorted(found, reverse=True)  # found first, then missed
    # No image cache for this made-up run: the maps alone, then over images.
    assert _explanations.gradcam_panel(tables, tiny.store).startswith("data:image/png")
    images = np.load(tiny.image_paths[48])
    monkeypatch.setattr(_explanations, "_cached_images", lambda store, size: images)
    assert _explanations.gradcam_panel(tables, tiny.store).startswith("data:image/png")


def test_importance_prefers_handcrafted_trees_to_a_better_hybrid(tiny):
    """A hybrid's CNN-embedding columns say nothing a reader can check, so the
    chart shows the best configuration of handcrafted columns alone."""
    xgb = [record for record in tiny.store.records() if record.model == "xgb"]
    hybrid = [
        replace(
            record,
            model="hybrid",
            importance={
                "embedding__cnn_0": {"shap": 1.0, "gain": 1.0},
                **record.importance,
            },
        )
        for record in xgb
    ]
    tables = _tables(tiny.store, ["hybrid", "xgb"])
    final = trial_record("xgb", "none", None)  # no importance
    tables.records = [*hybrid, *xgb, final]
    tables.leaderboard.loc[0, f"{RANKING[0]}_mean"] = 0.9  # the hybrid leads

    model, _, table = _explanations.importance_table(tables)

    assert model == "xgb" and "embedding__cnn_0" not in table.index
    tables.records = hybrid
    assert _explanations.importance_table(tables)[0] == "hybrid"


def test_the_first_screen_states_what_the_trees_lean_on_by_group(tiny):
    """Shares of mean |SHAP| by ABCD group: colour columns 3 each, one border
    column 30, everything else 0; none when no feature moved a score."""
    from reports.sections.findings import _importance_finding

    def scored(shap) -> list[TrialRecord]:
        return [
            replace(
                record,
                importance={
                    name: {"shap": shap(name), "gain": 1.0}
                    for name in record.importance
                },
            )
            for record in tiny.store.records()
            if record.model == "xgb"
        ]

    tables = _tables(tiny.store, ["xgb"])
    tables.leaderboard["best"] = False
    names = list(scored(lambda name: 0.0)[0].importance)
    colour = 3.0 * sum(name.startswith("colour__") for name in names)
    tables.records = scored(
        lambda name: (
            3.0
            if name.startswith("colour__")
            else 30.0
            if name == "border__compactness"
            else 0.0
        )
    )

    sentence = _importance_finding(tables)

    assert sentence.startswith("What xgb:none leans on")
    share = colour / (colour + 30.0)
    assert f": C colour {share:.0%}, B border {1 - share:.0%}, " in sentence
    tables.records = scored(lambda name: 0.0)
    assert _importance_finding(tables) is None
