"""Fixtures of the harness tests: a tiny training profile and tiny run folders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.grid.config import PROFILES, Profile
from benchmarks.grid.families import FAMILIES
from benchmarks.grid.store import RunStore
from benchmarks.grid.workspace import Workspace
from features import feature_names

#: Enough training to exercise every code path in seconds, not to learn much.
TINY = Profile(
    name="quick",
    folds=2,
    cnn_epochs=1,
    cnn_min_steps=2,
    seed_cnn_epochs=1,
    xgb_learning_rate=0.3,
    xgb_max_rounds=20,
)
CLASSES = ("melanoma", "nevus", "vascular lesion")
#: The value every pixel and feature of the held-out rows carries; training
#: rows stay at or below TRAIN_MAX.
MARK, TRAIN_MAX = 255, 100


def progress_keys(lines: list[str]) -> list[str]:
    """Trial keys in the order their 'trial k/n KEY: ...' progress lines came."""
    return [line.split()[2].rstrip(":") for line in lines if line.startswith("trial ")]


@pytest.fixture
def tiny_profile(monkeypatch) -> Profile:
    monkeypatch.setitem(PROFILES, "quick", TINY)
    return TINY


def marked_workspace(tmp_path, held_out: str) -> Workspace:
    """A run folder whose held-out rows are marked in every value.

    24 CV rows (8 per class, 2 folds) and 6 test rows. ``held_out`` 'validation'
    marks fold 0 (the evaluation part of fold 0's trials), 'test' marks the
    Test rows (that of the final fits). Training rows hold features in [0, 1)
    and pixels up to TRAIN_MAX, so a fitted row holding a mark came from
    outside the training part, and so did a SMOTE row made from one.
    """
    rng = np.random.default_rng(0)
    labels = np.array([name for name in CLASSES for _ in range(8)] + list(CLASSES) * 2)
    split = np.array(["train"] * 24 + ["test"] * 6)
    folds = np.array([index % 2 for index in range(24)] + [-1] * 6)
    store = RunStore(tmp_path / "run")
    store.run_dir.mkdir()
    pd.DataFrame(
        {
            "file": [f"image{index}.jpg" for index in range(len(labels))],
            "label": labels,
            "split": split,
            "group": np.arange(len(labels)),
            "fold": folds,
            "sha256": [f"{index:064x}" for index in range(len(labels))],
        }
    ).to_parquet(store.path("manifest.parquet"))
    marked = folds == 0 if held_out == "validation" else split == "test"
    # As wide as the real feature table: some families read named columns.
    features = rng.random((len(labels), len(feature_names()))).astype(np.float32)
    features[marked] = MARK
    np.save(store.path("features.npy"), features)
    paths = {}
    for size in {family.image_size for family in FAMILIES.values()} - {None}:
        images = rng.integers(0, TRAIN_MAX + 1, (len(labels), size, size, 3))
        images[marked] = MARK
        path = tmp_path / f"images-{size}.npy"
        np.save(path, images.astype(np.uint8))
        paths[size] = str(path)
    return Workspace(
        run_dir=str(store.run_dir),
        classes=CLASSES,
        positive="melanoma",
        profile=TINY,
        seed=0,
        n_threads=1,
        image_paths=paths,
    )
