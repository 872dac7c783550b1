"""Fixtures of the triage tests: one tiny finished run and models trained from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.deploy.training import train
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.runner import run
from tests.conftest import write_image
from tests.harness.conftest import TINY

#: Train and Test images per class of the tiny run.
COUNTS = {
    "Train": {"melanoma": 8, "nevus": 8, "vascular lesion": 6},
    "Test": {"melanoma": 2, "nevus": 2, "vascular lesion": 1},
}


@dataclass(frozen=True)
class TinyRun:
    data: Path
    run_dir: Path


@pytest.fixture(scope="session")
def tiny_run_data(tmp_path_factory) -> Path:
    """The tiny run's image folder (Train and Test class folders)."""
    root = tmp_path_factory.mktemp("data") / "lesions"
    seed = 900
    for split, counts in COUNTS.items():
        for label, count in counts.items():
            for index in range(count):
                write_image(root / split / label / f"{label[0]}{index}.jpg", seed)
                seed += 1
    return root


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_run_data) -> TinyRun:
    """A finished quick run (2 folds) of every model family under 'none'."""
    root = tiny_run_data
    config = RunConfig(
        data=str(root),
        models=("xgb", "cnn", "hybrid", "fusion", "seed-cnn"),
        strategies=("none",),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        patch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        store = run(config, tmp_path_factory.mktemp("runs"), write=lambda line: None)
    return TinyRun(root, store.run_dir)


def _trained(tmp_path_factory, tiny_run: TinyRun, configuration: str) -> Path:
    out = tmp_path_factory.mktemp("models") / configuration.replace(":", "-")
    return train(tiny_run.run_dir, out, configuration=configuration)[0]


@pytest.fixture(scope="session")
def xgb_model(tmp_path_factory, tiny_run) -> Path:
    return _trained(tmp_path_factory, tiny_run, "xgb:none")


@pytest.fixture(scope="session")
def cnn_model(tmp_path_factory, tiny_run) -> Path:
    return _trained(tmp_path_factory, tiny_run, "cnn:none")


@pytest.fixture(scope="session")
def hybrid_model(tmp_path_factory, tiny_run) -> Path:
    return _trained(tmp_path_factory, tiny_run, "hybrid:none")


@pytest.fixture(scope="session")
def fusion_model(tmp_path_factory, tiny_run) -> Path:
    return _trained(tmp_path_factory, tiny_run, "fusion:none")


@pytest.fixture(scope="session")
def seed_cnn_model(tmp_path_factory, tiny_run) -> Path:
    return _trained(tmp_path_factory, tiny_run, "seed-cnn:none")


@pytest.fixture(scope="session")
def xgb_only_model(tmp_path_factory, tiny_run_data) -> Path:
    """A model from a tiny run of xgb alone: for tests of what train and
    triage do around any model, without the networks' minutes."""
    config = RunConfig(data=str(tiny_run_data), models=("xgb",), strategies=("none",))
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        patch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        store = run(config, tmp_path_factory.mktemp("runs"), write=lambda line: None)
    out = tmp_path_factory.mktemp("models") / "xgb-only"
    return train(store.run_dir, out, configuration="xgb:none")[0]
