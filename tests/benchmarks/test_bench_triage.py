"""Speed of triage: files scored per second at 180x180, end to end (decoding,
features or network, worklist pages), for each model family (run with
--benchmark-enable). Issue 8's bars on 2 cores: xgb >= 50/s, cnn >= 30/s."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.core.environment import library_versions
from benchmarks.data.datasets import DEFAULT_TRAIN_COUNTS, generate_lesions
from benchmarks.deploy.model_dir import load_model, write_model
from benchmarks.deploy.training import model_inputs
from benchmarks.deploy.triage import triage
from features import HandcraftedFeatures
from models import XGBoostClassifier, available_cores

SEED = 0
SIZE = 180
N_IMAGES = 256
CLASSES = sorted(DEFAULT_TRAIN_COUNTS)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """256 synthetic lesions as 180x180 JPEGs, isic9's format."""
    counts = dict.fromkeys(CLASSES, N_IMAGES // len(CLASSES) + 1)
    lesions = generate_lesions(counts, size=SIZE, seed=SEED)
    root = tmp_path_factory.mktemp("lesions")
    for index, image in enumerate(lesions.images[:N_IMAGES]):
        Image.fromarray(image).save(root / f"{index:04d}.jpg", quality=90)
    return root


def _model(root: Path, model: str) -> Path:
    """A model folder fitted in seconds: its speed, not its skill, is measured."""
    lesions = generate_lesions(dict.fromkeys(CLASSES, 6), size=SIZE, seed=SEED + 1)
    labels = np.array(lesions.labels)
    if model == "xgb":
        features = HandcraftedFeatures().fit_transform(lesions.images)
        estimators = {
            "xgb": XGBoostClassifier(n_estimators=50, random_state=SEED).fit(
                features, labels
            )
        }
    else:
        from models import KerasImageClassifier

        network = KerasImageClassifier(epochs=1, validation_fraction=0, seed=SEED)
        estimators = {"cnn": network.fit(lesions.images, labels)}
    metadata = {
        "model": model,
        "strategy": "none",
        "classes": CLASSES,
        "positive_class": "melanoma",
        "inputs": model_inputs(model),
        "threshold": {
            "threshold": 0.2,
            "target_sensitivity": 0.95,
            "sensitivity": 0.95,
            "specificity": 0.7,
            "specificity_ci": [0.65, 0.75],
            "n_positive": 6,
            "n_negative": 48,
        },
        "training": {"run_id": "none", "dataset": "synthetic", "images": 54},
        "versions": library_versions(),
    }
    write_model(root / model, metadata, estimators)
    return root / model


@pytest.mark.benchmark(group="triage")
@pytest.mark.parametrize("model", ["xgb", "cnn"])
def test_triage_files_per_second(benchmark, folder, tmp_path, model):
    if model == "cnn":
        pytest.importorskip("tensorflow")
    loaded = load_model(_model(tmp_path, model))
    result = benchmark.pedantic(
        triage, args=(loaded, folder, tmp_path / "out"), rounds=1, iterations=1
    )
    assert (result.scored, result.unreadable) == (N_IMAGES, 0)
    benchmark.extra_info.update(
        images=N_IMAGES,
        image_size=SIZE,
        cores=available_cores(),
        images_per_second=N_IMAGES / benchmark.stats.stats.median,
    )
