"""Sources that lack classes: every family runs leave-source-out on them.

A held-out source may hold a class no training source has (HAM10000 has no
squamous cell carcinomas; an atlas has 'other'). Every family, networks and
plug-ins included, must score it rather than fail the trial.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.analysis.leaderboard import WORST_SOURCE_AUC, leaderboard_of
from benchmarks.grid.config import RunConfig
from benchmarks.grid.families import FAMILIES, FitContext
from benchmarks.grid.runner import run
from benchmarks.scoring.threshold import TARGET_SENSITIVITY, threshold_for_sensitivity
from reports import write_report
from tests.conftest import write_image
from tests.harness.conftest import TINY

#: Each source lacks a class another has; the held-out source of every fold
#: holds one its training sources lack (b: dermatofibroma, c: other).
SOURCES = {
    "a": {"melanoma": 6, "nevus": 6, "vascular lesion": 4},
    "b": {"melanoma": 6, "nevus": 6, "dermatofibroma": 4},
    "c": {"melanoma": 6, "vascular lesion": 4, "other": 4},
}
PLUG_IN = "examples.small_keras:family"


@pytest.fixture
def three_sources(tmp_path) -> tuple[str, ...]:
    """Class folders without a Test split: no final fits, a faster grid."""
    seed = 1000
    for name, counts in SOURCES.items():
        for label, count in counts.items():
            for index in range(count):
                write_image(tmp_path / name / label / f"{index}.jpg", seed, 64)
                seed += 1
    return tuple(f"{name}={tmp_path / name}" for name in SOURCES)


@pytest.mark.slow
def test_every_family_runs_on_sources_lacking_classes(
    three_sources, tiny_profile, tmp_path
):
    models = (*FAMILIES, PLUG_IN)
    config = RunConfig(
        data=three_sources, models=models, strategies=("none",), cv="leave-source-out"
    )
    lines: list[str] = []
    store = run(config, tmp_path / "runs", write=lines.append)
    assert store.errors() == [], lines[-1]
    board = leaderboard_of(store)
    assert set(board["model"]) == {*FAMILIES, "small-keras"}
    assert (board["folds"] == len(SOURCES)).all()
    classes = sorted({label for counts in SOURCES.values() for label in counts})
    table = store.manifest()
    held_out_b = table.loc[table["fold"] == 1, "label"]
    assert (held_out_b == "dermatofibroma").sum() == SOURCES["b"]["dermatofibroma"]
    # The fold holding out b trained on a and c: no dermatofibroma, yet its
    # networks have an output for it and score every held-out image.
    for model in ("cnn", "seed-cnn", "transfer", "hybrid", "fusion", "small-keras"):
        record = store.record(f"{model}__none__fold1")
        assert "dermatofibroma" not in record.class_counts_before
        assert record.n_evaluated == int((table["fold"] == 1).sum())
        scores = store.scores(f"{model}__none__fold1")
        proba = np.asarray(scores["evaluation_proba"])
        assert proba.shape == (record.n_evaluated, len(classes))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    for name in SOURCES:
        assert board[f"held_out_{name}_melanoma_auc"].notna().all()


def test_a_network_given_the_runs_classes_has_an_output_for_each():
    from models import KerasImageClassifier

    context = FitContext(
        model="cnn",
        strategy="none",
        fold=0,
        profile=TINY,
        seed=0,
        n_threads=1,
        n_train=8,
        n_fit=8,
        classes=("dermatofibroma", "melanoma", "nevus"),
    )
    network = FAMILIES["cnn"].make(context)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 48, 48, 3), dtype=np.uint8)
    labels = np.array(["melanoma", "nevus"] * 4)
    unseen = np.array(["dermatofibroma", "melanoma"])
    network.fit(images, labels, validation_data=(images[:2], unseen))
    assert isinstance(network, KerasImageClassifier)
    assert network.classes_.tolist() == ["dermatofibroma", "melanoma", "nevus"]
    assert network.predict_proba(images).shape == (8, 3)
    assert len(network.history_["validation_loss"]) == network.epochs


def test_three_sources_report_each_source_its_threshold_and_winners(
    three_sources, tiny_profile, tmp_path
):
    config = RunConfig(
        data=three_sources, models=("xgb", "linear-invariant"), strategies=("none",)
    )
    store = run(config, tmp_path / "runs", write=lambda line: None)
    board = leaderboard_of(store).set_index("configuration")
    table = store.manifest()
    is_melanoma = table["label"].to_numpy() == "melanoma"
    column = store.info().classes.index("melanoma")
    scores = {
        fold: store.scores(f"linear-invariant__none__fold{fold}") for fold in range(3)
    }
    for fold, name in enumerate(SOURCES):
        # Carried over: set on the other two sources' out-of-fold melanomas.
        others = np.concatenate(
            [
                scores[other]["evaluation_proba"][:, column][
                    is_melanoma[scores[other]["evaluation_rows"]]
                ]
                for other in range(3)
                if other != fold
            ]
        )
        threshold = threshold_for_sensitivity(others, TARGET_SENSITIVITY)
        rows = scores[fold]["evaluation_rows"]
        flagged = scores[fold]["evaluation_proba"][:, column] >= threshold
        negative = ~is_melanoma[rows]
        row = board.loc["linear-invariant:none"]
        assert row[f"held_out_{name}_carried_specificity"] == pytest.approx(
            (~flagged[negative]).mean()
        )
        assert row[f"held_out_{name}_own_sensitivity"] >= TARGET_SENSITIVITY
    assert WORST_SOURCE_AUC in board

    html = write_report(store.run_dir).read_text("utf-8")
    section = html[html.index('id="leave-source-out"') :]
    for name in SOURCES:
        assert f'data-value="{name}">{name}</td>' in section
    assert "specificity at carried-over threshold" in section
    assert 'id="family-by-source"' in section and "worst" in section
