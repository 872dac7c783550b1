"""Fit the learned lesion outline (features/_learned_mask.py) on ham10000-dev's
expert masks and write the trees the package ships.

Only half of the folder's lesions are fitted on (those whose lesion_id hashes
even, ``in_fitting_half``), so that ``segment --truth`` on the same folder can
be read on the other half, which the trees never saw. Run from the repository
root: ``python tools/fit_lesion_segmenter.py ../shared/data/ham10000-dev``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from PIL import Image

from benchmarks.data.feature_cache import FEATURE_SIZE
from benchmarks.data.images import decode_resized
from features import remove_hair
from features._learned_mask import (
    MODEL_FILE,
    in_fitting_half,
    pixel_targets,
    pixel_values,
)
from features._segmentation import segmenter_inputs

logger = logging.getLogger("fit_lesion_segmenter")

#: Pixels drawn from each image: enough for the outline, few enough to fit fast.
PIXELS_PER_IMAGE = 300
TREES = {
    "n_estimators": 50,
    "max_depth": 5,
    "learning_rate": 0.15,
    "subsample": 0.8,
    "tree_method": "hist",
}


def _samples(
    image_path: Path, mask_path: Path, seed: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The drawn pixels' values and expert labels of one image, or None where
    Otsu finds no core (the segmenter never runs there)."""
    image = remove_hair(decode_resized(image_path, FEATURE_SIZE))
    inputs = segmenter_inputs(np.ascontiguousarray(image))
    if inputs is None:
        return None
    expert = np.asarray(Image.open(mask_path).convert("L")) >= 128
    values, targets = pixel_values(inputs), pixel_targets(expert)
    rng = np.random.default_rng(seed)
    drawn = rng.choice(len(targets), size=PIXELS_PER_IMAGE, replace=False)
    return values[drawn], targets[drawn]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "folder", type=Path, help="ham10000-dev: metadata.csv, images/, masks/"
    )
    parser.add_argument("--out", type=Path, default=Path("features") / MODEL_FILE)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    table = pd.read_csv(args.folder / "metadata.csv", dtype=str)
    table = table[table["lesion_id"].map(in_fitting_half)].sort_values("image_id")
    jobs = [
        (
            args.folder / "images" / f"{image_id}.jpg",
            args.folder / "masks" / f"{image_id}_segmentation.png",
            args.seed + number,
        )
        for number, image_id in enumerate(table["image_id"])
    ]
    results = Parallel(n_jobs=args.jobs)(delayed(_samples)(*job) for job in jobs)
    kept = [result for result in results if result is not None]
    values = np.concatenate([pair[0] for pair in kept])
    targets = np.concatenate([pair[1] for pair in kept])
    logger.info(
        "%d images of %d lesions fitted on (%d without an Otsu core), %d pixels, "
        "%.1f%% lesion",
        len(kept),
        table["lesion_id"].nunique(),
        len(jobs) - len(kept),
        len(targets),
        100 * targets.mean(),
    )
    from xgboost import XGBClassifier

    model = XGBClassifier(**TREES, random_state=args.seed, n_jobs=args.jobs)
    model.fit(values, targets)
    model.get_booster().save_model(args.out)
    logger.info("wrote %s (%d bytes)", args.out, args.out.stat().st_size)


if __name__ == "__main__":
    main()
