"""The learned lesion outline: its pixel values, the half of ham10000-dev it was
fitted on, and the script that fits it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import xgboost
from PIL import Image

from features._learned_mask import (
    PIXEL_SIDE,
    in_fitting_half,
    pixel_targets,
    pixel_values,
)
from features._segmentation import segmenter_inputs
from tests.features.conftest import draw_lesion

ROOT = Path(__file__).resolve().parents[2]
SEED = 3


def test_pixel_values_describe_every_pixel_of_the_small_copy() -> None:
    image, _ = draw_lesion(seed=SEED)
    values = pixel_values(segmenter_inputs(image))
    assert values.shape == (PIXEL_SIDE * PIXEL_SIDE, 28)
    assert values.dtype == np.float32 and np.isfinite(values).all()
    # The colour distance from the skin: high at the centre, low in a corner.
    score = values[:, 15].reshape(PIXEL_SIDE, PIXEL_SIDE)
    assert score[PIXEL_SIDE // 2, PIXEL_SIDE // 2] > 10 * score[1, 1]


def test_targets_are_the_expert_mask_squashed_to_the_square() -> None:
    expert = np.zeros((300, 400), dtype=bool)
    expert[:, :200] = True
    targets = pixel_targets(expert).reshape(PIXEL_SIDE, PIXEL_SIDE)
    assert targets[:, : PIXEL_SIDE // 2].all()
    assert not targets[:, PIXEL_SIDE // 2 :].any()


def test_the_fitting_half_is_fixed_by_the_lesion_id() -> None:
    assert [in_fitting_half(f"HAM_{n:07d}") for n in range(8)] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        True,
    ]


def test_the_fitting_script_fits_only_its_half_and_writes_readable_trees(
    tmp_path,
) -> None:
    folder = tmp_path / "ham"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rows = []
    for number in range(8):
        image, mask = draw_lesion(
            axes=(20 + 3 * number, 16 + 2 * number), seed=SEED + number
        )
        # A faint rim the expert outlines and Otsu's core misses.
        rim = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        image[rim & ~mask] = (190, 150, 130)
        image_id = f"ISIC_{number:07d}"
        Image.fromarray(image).save(folder / "images" / f"{image_id}.jpg")
        Image.fromarray(rim.astype(np.uint8) * 255).save(
            folder / "masks" / f"{image_id}_segmentation.png"
        )
        rows.append({"lesion_id": f"HAM_{number:07d}", "image_id": image_id})
    pd.DataFrame(rows).to_csv(folder / "metadata.csv", index=False)
    out = tmp_path / "trees.json"
    done = subprocess.run(
        [
            sys.executable,
            "tools/fit_lesion_segmenter.py",
            str(folder),
            *("--out", str(out), "--jobs", "1"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "6 images of 6 lesions fitted on" in done.stderr
    trees = xgboost.Booster()
    trees.load_model(str(out))
    image, mask = draw_lesion(axes=(26, 20), seed=SEED + 20)
    rim = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    image[rim & ~mask] = (190, 150, 130)
    probability = trees.inplace_predict(pixel_values(segmenter_inputs(image)))
    lesion = pixel_targets(rim).astype(bool)
    assert probability[lesion].mean() > 0.7
    assert probability[~lesion].mean() < 0.3
