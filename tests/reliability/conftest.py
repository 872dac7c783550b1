"""Fixtures of the reliability drills: a tiny finished run of two feature
families and a model trained from each, to damage or doctor."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.deploy.training import train
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.runner import run
from tests.conftest import make_image_folder
from tests.harness.conftest import TINY


@dataclass(frozen=True)
class Trained:
    data: Path
    cache: Path
    runs: Path
    run_dir: Path
    xgb: Path
    linear: Path


@pytest.fixture(scope="session")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """xgb and linear-invariant run under 'none', and each trained."""
    data = make_image_folder(tmp_path_factory.mktemp("data") / "lesions")
    runs = tmp_path_factory.mktemp("runs")
    models = tmp_path_factory.mktemp("models")
    cache = tmp_path_factory.mktemp("cache")
    config = RunConfig(
        data=str(data), models=("xgb", "linear-invariant"), strategies=("none",)
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        patch.setenv("MELANOMA_BENCH_CACHE", str(cache))
        patch.setenv("MELANOMA_BENCH_JOBS", "1")
        store = run(config, runs, write=lambda line: None)
        xgb = train(store.run_dir, models / "xgb", configuration="xgb:none")[0]
        linear = train(
            store.run_dir, models / "linear", configuration="linear-invariant:none"
        )[0]
    return Trained(data, cache, runs, store.run_dir, xgb, linear)
