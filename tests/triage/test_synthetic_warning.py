"""A model trained on synthetic images says 'not for clinical use' wherever it
is used: model.json, train's log, triage's log and the worklist page."""

from __future__ import annotations

import json
import logging

import pytest

from benchmarks.cli import main
from benchmarks.data.datasets import write_synthetic
from benchmarks.deploy.model_dir import SYNTHETIC_WARNING, load_model
from benchmarks.deploy.triage import PAGE, triage
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.runner import run
from tests.conftest import write_image
from tests.harness.conftest import TINY


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    """A tiny finished xgb run on a folder 'data synth' would write."""
    data = write_synthetic(
        tmp_path_factory.mktemp("data") / "synthetic",
        train_counts={"melanoma": 10, "nevus": 10},
        test_counts={"melanoma": 2, "nevus": 2},
        size=64,
    )
    config = RunConfig(data=str(data), models=("xgb",), strategies=("none",))
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        patch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        store = run(config, tmp_path_factory.mktemp("runs"), write=lambda line: None)
        yield store.run_dir


@pytest.fixture(scope="module")
def synthetic_model(synthetic_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "synthetic-model"
    argv = ["train", "--run", str(synthetic_run), "--out", str(out)]
    return out, argv


def test_train_on_synthetic_data_marks_the_model_and_warns(synthetic_model, caplog):
    out, argv = synthetic_model
    with caplog.at_level(logging.WARNING, logger="benchmarks"):
        assert main(argv) == 0
    assert SYNTHETIC_WARNING in caplog.text
    metadata = json.loads((out / "model.json").read_text("utf-8"))
    assert metadata["training"]["synthetic"] is True


def test_triage_with_a_synthetic_model_logs_it_and_shows_a_banner(
    synthetic_model, tmp_path, caplog
):
    out, argv = synthetic_model
    if not (out / "model.json").exists():
        assert main(argv) == 0
    images = tmp_path / "new"
    write_image(images / "a.jpg", 1)
    with caplog.at_level(logging.WARNING, logger="benchmarks"):
        triage(load_model(out), images, tmp_path / "worklist", n_jobs=1)
    assert SYNTHETIC_WARNING in caplog.text
    page = (tmp_path / "worklist" / PAGE).read_text("utf-8")
    assert 'id="synthetic"' in page
    assert "Not for clinical use: trained on synthetic data" in page


def test_a_model_of_real_images_carries_no_such_warning(xgb_model, tmp_path, caplog):
    metadata = json.loads((xgb_model / "model.json").read_text("utf-8"))
    assert metadata["training"]["synthetic"] is False
    images = tmp_path / "new"
    write_image(images / "a.jpg", 1)
    with caplog.at_level(logging.WARNING, logger="benchmarks"):
        triage(load_model(xgb_model), images, tmp_path / "worklist", n_jobs=1)
    assert SYNTHETIC_WARNING not in caplog.text
    assert 'id="synthetic"' not in (tmp_path / "worklist" / PAGE).read_text("utf-8")
