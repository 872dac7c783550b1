"""Turn a run's chosen configuration into a model folder for triage: fit it on
every cross-validation image and set its threshold on the run's out-of-fold scores.

Test images stay out of the fit, so the model's Test figures remain an honest
check (they are the run's final-fit figures, whose model this is).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.config import FUSED_MODELS, Profile
from benchmarks.environment import library_versions
from benchmarks.errors import UserError
from benchmarks.image_cache import CACHE_VERSION, load_images
from benchmarks.images import UnreadableImage
from benchmarks.leaderboard import leaderboard
from benchmarks.metrics import MAX_FALSE_POSITIVE_RATE
from benchmarks.model_dir import check_output_folder, write_model
from benchmarks.store import RunStore
from benchmarks.strategies import class_counts
from benchmarks.threshold import OperatingPoint, choose_operating_point
from benchmarks.trials import (
    CNN_THREADS,
    IMAGE_SIZES,
    Trial,
    Workspace,
    fit_final,
    split_rows,
)

logger = logging.getLogger(__name__)

TARGET_SENSITIVITY = 0.95
#: The leaderboard columns that pick the default configuration, in order.
SELECTION = (
    "melanoma_sensitivity_at_80_specificity_mean",
    "balanced_accuracy_mean",
)
SELECTION_RULE = (
    f"highest mean out-of-fold melanoma sensitivity at "
    f"{1 - MAX_FALSE_POSITIVE_RATE:.0%} specificity, ties by balanced accuracy"
)


def choose_configuration(records: list[dict], requested: str | None = None) -> dict:
    """The leaderboard row to train: ``requested`` ('MODEL:STRATEGY') or the best
    by ``SELECTION``, among configurations with finished folds."""
    board = leaderboard(records)
    if board.empty:
        raise UserError("the run has no finished folds yet; resume it first")
    names = [f"{m}:{s}" for m, s in zip(board["model"], board["strategy"], strict=True)]
    if requested is not None:
        if requested not in names:
            raise UserError(
                f"--config {requested}: not a configuration of this run with "
                f"finished folds; choose from {', '.join(names)}"
            )
        return board.iloc[names.index(requested)].to_dict()
    # Rounded so that equal fold means computed in another order still tie;
    # min() keeps the leaderboard's order among exact ties.
    keys = board[list(SELECTION)].astype(float).round(9).fillna(-1.0).to_numpy()
    best = min(range(len(board)), key=lambda index: tuple(-keys[index]))
    return board.iloc[best].to_dict()


def out_of_fold_scores(
    store: RunStore, table: pd.DataFrame, model: str, strategy: str, column: int
) -> np.ndarray:
    """Each cross-validation image's score in ``column`` from the fold model
    that did not train on it (NaN for Test rows)."""
    folds = table["fold"].to_numpy()
    scores = np.full(len(table), np.nan)
    done = store.done()
    for fold in sorted(set(folds[folds >= 0].tolist())):
        key = Trial(model, strategy, fold).key
        if key not in done:
            raise UserError(
                f"{store.run_dir}: trial {key} is not finished; resume the run "
                "(the same run command) first"
            )
        arrays = store.scores(key)
        scores[arrays["evaluation_rows"]] = arrays["evaluation_proba"][:, column]
    if np.isnan(scores[folds >= 0]).any():
        raise UserError(
            f"{store.run_dir}: the {model}:{strategy} folds do not score every "
            "cross-validation image; the run folder is damaged, run it again"
        )
    return scores


def _data_root(config: dict, data: str | None, cache: str | None) -> Path:
    chosen = data or config["config"]["data"]
    if chosen == "synthetic":
        from benchmarks.cache import cache_dir
        from benchmarks.datasets import cached_synthetic

        return cached_synthetic(cache_dir(cache), seed=config["config"]["seed"])
    root = Path(chosen)
    return root if root.is_dir() else root.parent


def _images(table: pd.DataFrame, size: int, root: Path, cache: str | None):
    """The run's images at ``size``: from the image cache, else decoded again."""
    frame = pd.DataFrame(
        {
            "path": [str(root / name) for name in table["file"]],
            "sha256": table["sha256"],
            "readable": True,
        }
    )
    try:
        return load_images(frame, size, cache=cache)
    except (OSError, UnreadableImage) as error:
        raise UserError(
            f"--data {root}: cannot read the run's images ({error}); pass --data "
            "the folder the run read, or the run's --cache"
        ) from None


def _fit(
    model: str,
    strategy: str,
    workspace: Workspace,
    rows: np.ndarray,
    labels: np.ndarray,
    images: Callable[[int], np.ndarray],
) -> dict[str, Any]:
    """Fitted estimators by model-folder role."""
    y = labels[rows]
    if model in IMAGE_SIZES:
        X = np.asarray(images(IMAGE_SIZES[model])[rows])
        return {"cnn": fit_final(Trial(model, strategy, None), workspace, X, y)}
    features = np.load(workspace.store.path("features.npy"))[rows]
    final = Trial(model, strategy, None)
    if model == "xgb":
        return {"xgboost": fit_final(final, workspace, features, y)}
    # hybrid and fusion: the same strategy's cnn, then trees
    pixels = np.asarray(images(IMAGE_SIZES["cnn"])[rows])
    network = fit_final(Trial("cnn", strategy, None), workspace, pixels, y)
    if model in FUSED_MODELS:  # the xgb's trees beside it; triage averages them
        trees = fit_final(Trial("xgb", strategy, None), workspace, features, y)
        return {"cnn": network, "xgboost": trees}
    # hybrid: its trees read the cnn's embeddings next to the features.
    X = np.hstack([network.embed(pixels), features])
    trees = fit_final(final, workspace, X, y)
    return {"cnn": network, "xgboost": trees}


def model_inputs(model: str, colour_constancy: str = "none") -> dict:
    """What triage must compute from an image file, exactly as the run did."""
    from benchmarks.feature_cache import FEATURE_SIZE
    from features import EXTRACTOR_VERSION, HandcraftedFeatures

    inputs: dict[str, Any] = {
        "image_cache_version": CACHE_VERSION,
        "preprocessing": "benchmarks.images.decode_resized: EXIF orientation "
        "applied, any colour mode to 8-bit RGB (transparency on white), JPEG "
        "decoded at reduced size, squashed to a square with bilinear resampling",
    }
    if model in IMAGE_SIZES or model in ("hybrid", "fusion"):
        inputs["image_size"] = IMAGE_SIZES.get(model, IMAGE_SIZES["cnn"])
        # Done by a layer inside cnn.keras; recorded so a reader knows.
        inputs["colour_constancy"] = "none" if model == "seed-cnn" else colour_constancy
    if model in ("xgb", "hybrid", "fusion"):
        extractor = HandcraftedFeatures()
        inputs["features"] = {
            "image_size": FEATURE_SIZE,
            "extractor_version": EXTRACTOR_VERSION,
            "remove_hair": extractor.remove_hair,
            "groups": list(extractor.groups),
            "names": extractor.get_feature_names_out().tolist(),
        }
    return inputs


def train(
    run_dir: str | Path,
    out: str | Path,
    *,
    configuration: str | None = None,
    target_sensitivity: float = TARGET_SENSITIVITY,
    data: str | None = None,
    cache: str | None = None,
    write: Callable[[str], None] = logger.info,
) -> tuple[Path, dict]:
    """Fit a run's configuration for triage and save it; returns the model folder
    and its metadata.

    Parameters
    ----------
    configuration
        'MODEL:STRATEGY'; None picks the best (``SELECTION_RULE``).
    target_sensitivity
        Share of the out-of-fold melanomas the threshold must flag.
    data
        The run's data folder when the run's own path no longer reaches it
        (needed only by CNN families whose images are not in the cache).
    """
    if not 0 < target_sensitivity < 1:
        raise UserError(
            f"--target-sensitivity {target_sensitivity}: choose a number between 0 "
            "and 1, such as 0.95"
        )
    store = RunStore(run_dir)
    config = store.read_config()
    out = Path(out)
    check_output_folder(out)  # before the long fit, not after it
    row = choose_configuration(store.records(), configuration)
    model, strategy = row["model"], row["strategy"]
    chosen = "by --config" if configuration else f"as the best by {SELECTION_RULE}"
    write(f"chose {model}:{strategy} ({chosen})")

    table = pd.read_parquet(store.path("manifest.parquet"))
    labels = table["label"].astype(str).to_numpy()
    classes, positive = tuple(config["classes"]), config["positive_class"]
    rows, _ = split_rows(table, None)
    is_positive = labels[rows] == positive
    if is_positive.all() or not is_positive.any():
        raise UserError(
            f"{store.run_dir}: the cross-validation images need both {positive} "
            "and other classes to set a threshold"
        )
    scores = out_of_fold_scores(store, table, model, strategy, classes.index(positive))
    point = choose_operating_point(
        is_positive, scores[rows], target_sensitivity, seed=config["config"]["seed"]
    )
    write(_describe(point, positive))

    colour_constancy = config["config"]["colour_constancy"]
    workspace = Workspace(
        run_dir=str(store.run_dir),
        classes=classes,
        positive=positive,
        profile=Profile(**config["profile"]),
        seed=config["config"]["seed"],
        n_threads=CNN_THREADS,
        colour_constancy=colour_constancy,
    )
    write(f"fitting it on {len(rows)} images")

    def images(size: int) -> np.ndarray:
        return _images(table, size, _data_root(config, data, cache), cache)

    estimators = _fit(model, strategy, workspace, rows, labels, images)
    metadata = {
        "model": model,
        "strategy": strategy,
        "classes": list(classes),
        "positive_class": positive,
        "inputs": model_inputs(model, colour_constancy),
        "threshold": point.to_dict(),
        "selection": {
            "rule": "--config" if configuration else SELECTION_RULE,
            **{name: _number(row[name]) for name in SELECTION},
        },
        "training": {
            "run_id": config["run_id"],
            "run_dir": str(store.run_dir.resolve()),
            "dataset": config["dataset"],
            "data_fingerprint": config["data_fingerprint"],
            "profile": config["profile"]["name"],
            "seed": config["config"]["seed"],
            "images": len(rows),
            "class_counts": class_counts(labels[rows]),
            "held_out": "the run's Test split, never used for fitting or the threshold",
        },
        "versions": library_versions(),
    }
    return out, write_model(out, metadata, estimators)


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _describe(point: OperatingPoint, positive: str) -> str:
    low, high = point.specificity_ci
    return (
        f"threshold {point.threshold:.4f}: flags {point.sensitivity:.1%} of "
        f"{point.n_positive} out-of-fold {positive} images (target "
        f"{point.target_sensitivity:.0%}); expected specificity "
        f"{point.specificity:.1%} [95% CI {low:.1%}, {high:.1%}] over "
        f"{point.n_negative} others"
    )
