"""Why this score on the worklist: each URGENT row names the three feature
groups that raised its melanoma score most, and a network's row shows its
Grad-CAM heat map beside the thumbnail."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from benchmarks.core.environment import library_versions
from benchmarks.data.datasets import generate_lesions
from benchmarks.deploy.model_dir import load_model, write_model
from benchmarks.deploy.training import model_inputs
from benchmarks.deploy.triage import THUMBNAIL, triage
from benchmarks.grid import families
from benchmarks.grid.config import PROFILES
from benchmarks.grid.explanations import GROUP_LABELS
from benchmarks.grid.families import FitContext
from features import HandcraftedFeatures

SEED = 0
CLASSES = ["melanoma", "nevus", "vascular lesion"]
SIZE = 96


@pytest.fixture(scope="module")
def lesions():
    return generate_lesions(dict.fromkeys(CLASSES, 6), size=SIZE, seed=SEED)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lesions")
    counts = dict.fromkeys(CLASSES, 4)
    for index, image in enumerate(
        generate_lesions(counts, size=SIZE, seed=SEED + 1).images
    ):
        Image.fromarray(image).save(root / f"{index:02d}.jpg", quality=90)
    return root


def _metadata(model: str) -> dict:
    return {
        "model": model,
        "strategy": "none",
        "classes": CLASSES,
        "positive_class": "melanoma",
        "inputs": model_inputs(model),
        "threshold": {
            "threshold": 0.5,
            "target_sensitivity": 0.95,
            "sensitivity": 0.95,
            "specificity": 0.7,
            "specificity_ci": [0.65, 0.75],
            "n_positive": 6,
            "n_negative": 12,
        },
        "training": {"run_id": "none", "dataset": "synthetic", "images": 18},
        "versions": library_versions(),
    }


def _estimator(model: str, lesions):
    labels = np.array(lesions.labels)
    spec = families.family(model)
    if families.IMAGES in spec.inputs:
        from models import KerasImageClassifier

        network = KerasImageClassifier(
            epochs=1, validation_fraction=0, seed=SEED, n_threads=1
        )
        return network.fit(lesions.images, labels)
    features = HandcraftedFeatures(n_jobs=1).fit_transform(lesions.images)
    if spec.feature_columns is not None:
        from features import feature_names

        features = features[:, spec.feature_columns(feature_names())]
    if model == "xgb":
        from models import XGBoostClassifier

        # Small leaves, so that 18 images give trees that tell rows apart.
        trees = XGBoostClassifier(
            n_estimators=30, min_child_weight=0.5, random_state=SEED, n_jobs=1
        )
        return trees.fit(features, labels)
    context = FitContext(model, "none", None, PROFILES["quick"], SEED, 1, 18, 18)
    return spec.make(context).fit(features, labels)


def _rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in body.split("<tr")[1:]]


@pytest.mark.parametrize("model", ["xgb", "linear-invariant", "cnn"])
def test_urgent_rows_say_why(model, lesions, folder, tmp_path):
    if model == "cnn":
        pytest.importorskip("tensorflow")
    write_model(
        tmp_path / "model", _metadata(model), {model: _estimator(model, lesions)}
    )
    loaded = load_model(tmp_path / "model")
    # The middle distinct score as threshold: some rows URGENT, some not.
    triage(loaded, folder, tmp_path / "plain", n_jobs=1, explain=False)
    scores = pd.read_csv(tmp_path / "plain" / "worklist.csv")["melanoma_probability"]
    distinct = np.unique(scores)
    loaded.metadata["threshold"]["threshold"] = distinct[len(distinct) // 2] - 1e-6
    plain = (tmp_path / "plain" / "worklist.html").read_text()
    assert '<span class="reason">' not in plain and 'class="heat-map"' not in plain

    triage(loaded, folder, tmp_path / "out", n_jobs=1, explain=True)
    worklist = pd.read_csv(tmp_path / "out" / "worklist.csv", keep_default_na=False)
    rows = _rows((tmp_path / "out" / "worklist.html").read_text())
    assert len(rows) == len(worklist)
    urgent = (worklist["flag"] == "URGENT").to_numpy()
    assert 0 < urgent.sum() < len(worklist)
    for row, flagged in zip(rows, urgent, strict=True):
        reasons = re.findall(r'<span class="reason">([^<]*)</span>', row)
        maps = row.count('class="heat-map"')
        if model == "cnn":
            assert reasons == [] and maps == int(flagged)
            for data in re.findall(
                r'class="heat-map" src="data:image/jpeg;base64,([^"]*)"', row
            ):
                with Image.open(io.BytesIO(base64.b64decode(data))) as picture:
                    assert picture.size == (THUMBNAIL, THUMBNAIL)
            continue
        assert maps == 0
        if not flagged:
            assert reasons == []
            continue
        assert len(reasons) == 3
        groups = [reason.rsplit(" ", 1)[0] for reason in reasons]
        values = [float(reason.rsplit(" ", 1)[1]) for reason in reasons]
        assert set(groups) <= set(GROUP_LABELS.values()) and len(set(groups)) == 3
        assert values == sorted(values, reverse=True)


def test_the_command_explains_only_when_asked(lesions, folder, tmp_path):
    from benchmarks.cli import main

    metadata = _metadata("xgb")
    metadata["threshold"]["threshold"] = 0.0  # every image URGENT
    write_model(tmp_path / "model", metadata, {"xgb": _estimator("xgb", lesions)})
    arguments = ["triage", "--model", str(tmp_path / "model"), "--images", str(folder)]
    assert main([*arguments, "--out", str(tmp_path / "plain"), "--jobs", "1"]) == 0
    assert main([*arguments, "--out", str(tmp_path / "out"), "--explain"]) == 0
    plain = (tmp_path / "plain" / "worklist.html").read_text()
    assert '<span class="reason">' not in plain
    rows = _rows((tmp_path / "out" / "worklist.html").read_text())
    assert len(rows) == 12
    assert all(row.count('<span class="reason">') == 3 for row in rows)
