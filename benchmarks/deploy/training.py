"""Turn a run's chosen configuration into a model folder for triage: fit it on
every cross-validation image and set its threshold on the run's out-of-fold scores.

Test images stay out of the fit, so the model's Test figures remain an honest
check (they are the run's final-fit figures, whose model this is).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.analysis.leaderboard import (
    BEST_RULE,
    RANKING,
    best_configuration,
    leaderboard_of,
)
from benchmarks.core.environment import library_versions
from benchmarks.core.errors import UserError
from benchmarks.data.image_cache import CACHE_VERSION, load_images
from benchmarks.data.images import UnreadableImage
from benchmarks.data.preprocessing import preprocess
from benchmarks.data.sources import is_synthetic, named_path
from benchmarks.deploy.model_card import MODEL_CARD, model_card
from benchmarks.deploy.model_dir import (
    SYNTHETIC_WARNING,
    TRAINING_IMAGE_COLUMNS,
    check_output_folder,
    write_model,
)
from benchmarks.grid import families
from benchmarks.grid.configuration import Configuration, Trial
from benchmarks.grid.store import RunInfo, RunStore, out_of_fold_scores
from benchmarks.grid.strategies import class_counts
from benchmarks.grid.trials import CNN_THREADS, fit_configuration, split_rows
from benchmarks.grid.workspace import Workspace
from benchmarks.scoring import drift
from benchmarks.scoring.threshold import (
    TARGET_SENSITIVITY,
    OperatingPoint,
    choose_operating_point,
)

logger = logging.getLogger(__name__)


def choose_configuration(
    board: pd.DataFrame, requested: str | None = None, where: str = "the run"
) -> dict:
    """The leaderboard row to train: ``requested`` ('MODEL:STRATEGY') or the
    leaderboard's best, among configurations with finished folds."""
    if board.empty:
        raise UserError(
            f"{where}: no finished folds yet; finish it first (the same run "
            "command again resumes it)"
        )
    names = board["configuration"].tolist()
    if requested is None:
        chosen = str(best_configuration(board))
    else:
        try:
            chosen = str(Configuration.parse(requested))
        except ValueError:
            chosen = requested
        if chosen not in names:
            raise UserError(
                f"--config {requested}: not a configuration of this run with "
                f"finished folds; choose from {', '.join(names)}"
            )
    return board.iloc[names.index(chosen)].to_dict()


def _data_root(info: RunInfo, data: str | None, cache: str | None) -> Path:
    """The folder the manifest's file names are relative to: the source's
    folder, or the folder above every source of a run with several."""
    if data:
        return _source_root(data, info.config.seed, cache)
    roots = [
        _source_root(named_path(text, "--data")[1], info.config.seed, cache)
        for text in info.config.data
    ]
    if len(roots) == 1:
        return roots[0]
    return Path(os.path.commonpath([os.path.abspath(root) for root in roots]))


def _source_root(path: str, seed: int, cache: str | None) -> Path:
    if path == "synthetic":
        from benchmarks.core.cache import cache_dir
        from benchmarks.data.datasets import cached_synthetic

        return cached_synthetic(cache_dir(cache), seed=seed)
    root = Path(path)
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


@dataclass(frozen=True)
class _TrainingRows:
    """The cross-validation images as a family reads them, for the final fit."""

    rows: np.ndarray
    store: RunStore
    images_at: Callable[[int], np.ndarray]
    preprocessing: str

    def features(self, preprocessing: str) -> np.ndarray:
        path = self.store.features_path(preprocessing)
        return np.load(path, mmap_mode="r")[self.rows]

    def images(self, size: int, preprocessing: str) -> np.ndarray:
        images = np.asarray(self.images_at(size)[self.rows])
        return preprocess(preprocessing, images)

    def embeddings(self, model: str) -> np.ndarray:
        raise RuntimeError("a final fit reads embeddings from its fitted parts")


def model_inputs(
    model: str, preprocessing: str = "none", plugins: tuple[str, ...] = ()
) -> dict:
    """What triage must compute from an image file, exactly as the run did."""
    from benchmarks.data.feature_cache import FEATURE_SIZE
    from features import EXTRACTOR_VERSION, HandcraftedFeatures

    specs = [
        families.family(name, plugins) for name in families.with_parts([model], plugins)
    ]
    inputs: dict[str, Any] = {
        "image_cache_version": CACHE_VERSION,
        "decoding": "benchmarks.data.images.decode_resized: EXIF orientation "
        "applied, any colour mode to 8-bit RGB (transparency on white), JPEG "
        "decoded at reduced size, squashed to a square with bilinear resampling",
        "preprocessing": preprocessing,
        "images": sorted(
            [spec.image_size, spec.preprocessed]
            for spec in specs
            if spec.image_size is not None
        ),
    }
    readers = [spec for spec in specs if spec.reads_features]
    if readers:
        extractor = HandcraftedFeatures()
        inputs["features"] = {
            # A family and its parts read features preprocessed one way.
            "preprocessing": readers[0].input_preprocessing(preprocessing),
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
        'MODEL:STRATEGY'; None picks the leaderboard's best (``BEST_RULE``).
    target_sensitivity
        Share of the out-of-fold melanomas the threshold must flag.
    data
        The run's data folder when the run's own path no longer reaches it
        (needed only by CNN families whose images are not in the cache).
    """
    _check_target_sensitivity(target_sensitivity)
    store = RunStore(run_dir)
    info = store.info()
    out = Path(out)
    check_output_folder(out)  # before the long fit, not after it
    row = choose_configuration(leaderboard_of(store), configuration, f"--run {run_dir}")
    chosen = Configuration(row["model"], row["strategy"])
    how = "by --config" if configuration else f"as the best by {BEST_RULE}"
    write(f"chose {chosen} ({how})")
    synthetic = trained_on_synthetic(info)
    if synthetic:
        logger.warning("%s (run %s)", SYNTHETIC_WARNING, info.run_id)

    table = store.manifest()
    labels = table["label"].astype(str).to_numpy()
    rows, _ = split_rows(table, None)
    point = _operating_point(store, info, table, rows, chosen, target_sensitivity)
    write(_describe(point, info.positive))

    workspace = Workspace.of(info, store.run_dir, CNN_THREADS)
    write(f"fitting it on {len(rows)} images")

    def images(size: int) -> np.ndarray:
        return _images(table, size, _data_root(info, data, cache), cache)

    source = _TrainingRows(rows, store, images, info.config.preprocessing)
    estimators = fit_configuration(chosen, workspace, source, labels[rows])
    inputs = model_inputs(chosen.model, workspace.preprocessing, workspace.plugins)
    metadata = {
        "model": chosen.model,
        "strategy": chosen.strategy,
        "classes": list(info.classes),
        "positive_class": info.positive,
        "plugins": list(workspace.plugins),
        "inputs": inputs,
        "input_statistics": _input_statistics(inputs, source),
        "image_size": _image_size(table.iloc[rows]),
        "threshold": point.to_dict(),
        "selection": {
            "rule": "--config" if configuration else BEST_RULE,
            **{f"{name}_mean": _number(row[f"{name}_mean"]) for name in RANKING},
        },
        "training": _training(store, info, table.iloc[rows], labels[rows], synthetic),
        # What its final fit scored on sets it never saw (external figures).
        "external": _external_figures(store, chosen),
        "evaluation": _evaluation(store, info, chosen),
        "shortcut_audit": _shortcut_audit(store),
        "versions": library_versions(),
    }
    return out, write_model(
        out,
        metadata,
        estimators,
        documents={MODEL_CARD: model_card},
        training_images=_training_images(table.iloc[rows]),
    )


def _training_images(rows: pd.DataFrame) -> pd.DataFrame | None:
    """What triage needs to recognise a training image: its file's sha256
    and its perceptual hash, one row per image fitted on."""
    columns = list(TRAINING_IMAGE_COLUMNS)
    if not set(columns) <= set(rows.columns):
        return None
    return rows[columns].astype(str).reset_index(drop=True)


def _check_target_sensitivity(target_sensitivity: float) -> None:
    """Refuse a target no threshold can meet, before the long fit."""
    if not 0 < target_sensitivity < 1:
        raise UserError(
            f"--target-sensitivity {target_sensitivity}: choose a number between 0 "
            "and 1, such as 0.95"
        )


def _operating_point(
    store: RunStore,
    info: RunInfo,
    table: pd.DataFrame,
    rows: np.ndarray,
    chosen: Configuration,
    target_sensitivity: float,
) -> OperatingPoint:
    """The threshold on the chosen configuration's out-of-fold scores of the
    cross-validation images: scores the fitted model never saw while
    training, so the sensitivity it promises is honest."""
    labels = table["label"].astype(str).to_numpy()
    positive = info.positive
    is_positive = labels[rows] == positive
    if is_positive.all() or not is_positive.any():
        raise UserError(
            f"{store.run_dir}: the cross-validation images need both {positive} "
            "and other classes to set a threshold"
        )
    scores = out_of_fold_scores(
        store, table, chosen.model, chosen.strategy, info.classes.index(positive)
    )
    return choose_operating_point(
        is_positive, scores[rows], target_sensitivity, seed=info.config.seed
    )


def _training(
    store: RunStore,
    info: RunInfo,
    cv_rows: pd.DataFrame,
    cv_labels: np.ndarray,
    synthetic: bool,
) -> dict:
    """model.json's account of what the model was fitted on, so a reader can
    trace it to its run and judge whether a site's images are like them."""
    return {
        "run_id": info.run_id,
        "run_dir": str(store.run_dir.resolve()),
        "dataset": info.dataset,
        "data_fingerprint": info.data_fingerprint,
        "profile": info.profile.name,
        "seed": info.config.seed,
        "images": len(cv_rows),
        "class_counts": class_counts(cv_labels),
        "class_counts_by_source": _counts_by_source(cv_rows),
        "held_out": "the run's Test split, never used for fitting or the threshold",
        "sources": list(info.sources),
        "cross_validation": info.config.scheme,
        "preprocessing": info.config.preprocessing,
        # Triage repeats SYNTHETIC_WARNING for such a model, log and page.
        "synthetic": synthetic,
    }


def trained_on_synthetic(info: RunInfo) -> bool:
    """Whether any of the run's images came from the synthetic generator: the
    embedded set, or a folder ``data synth`` wrote (its data set reads
    'synthetic')."""
    return is_synthetic(info.config.data) or "synthetic" in info.dataset.split("+")


def _input_statistics(inputs: dict, source: _TrainingRows) -> dict:
    """What the training images looked like, for triage's comparison: the skin
    around the lesion where the model reads features, else mean colour."""
    if "features" in inputs:
        names = inputs["features"]["names"]
        preprocessing = inputs["features"]["preprocessing"]
        values = np.asarray(source.features(preprocessing))[
            :, drift.skin_columns(names)
        ]
        return drift.statistics(values, "skin colour", list(drift.SKIN_FEATURES))
    size = inputs["images"][0][0]
    values = drift.mean_colour(source.images(size, "none"))
    return drift.statistics(values, f"mean colour at {size} px", ["R", "G", "B"])


def _image_size(rows: pd.DataFrame) -> dict | None:
    """The training files' sizes (run folders made before they were kept: None)."""
    if "width" not in rows:
        return None
    return drift.size_statistics(rows["width"].to_numpy(), rows["height"].to_numpy())


def _external_figures(store: RunStore, chosen: Configuration) -> dict:
    key = Trial(chosen.model, chosen.strategy, None).key
    if key not in store.done():
        return {}
    return store.record(key).external or {}


def _counts_by_source(rows: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Class counts of the training images, per source (one source: its name)."""
    if "source" not in rows:
        return {}
    return {
        str(source): class_counts(group["label"].astype(str).to_numpy())
        for source, group in rows.groupby("source", sort=False)
    }


#: What model.json keeps of each held-out source's and external set's figures.
_HELD_OUT_COLUMNS = (
    "held_out",
    "trained_on",
    "n",
    "n_melanoma",
    "melanoma_auc",
    "melanoma_auc_ci",
    "carried_sensitivity",
    "carried_sensitivity_ci",
    "carried_specificity",
    "carried_specificity_ci",
)
_EXTERNAL_COLUMNS = (
    "external",
    "n",
    "n_melanoma",
    "melanoma_auc",
    "melanoma_auc_ci",
    "threshold",
    "sensitivity",
    "sensitivity_ci",
    "specificity",
    "specificity_ci",
)


def _evaluation(store: RunStore, info: RunInfo, chosen: Configuration) -> dict:
    """The chosen configuration's figures on images it never trained on: each
    held-out source (leave-source-out) and each external set, with the
    lesion-level intervals the report shows."""
    from benchmarks.analysis.generalization import generalization_table, held_out_table

    records = store.records()
    board = leaderboard_of(store, records)
    board = board[board["configuration"] == str(chosen)]
    columns = {"held_out": _HELD_OUT_COLUMNS, "external": _EXTERNAL_COLUMNS}
    tables = {
        "held_out": held_out_table(store, info, board, records),
        "external": generalization_table(store, info, board, records),
    }
    return {
        name: [
            {column: _plain(row[column]) for column in columns[name]}
            for row in tables[name].to_dict("records")
        ]
        for name in columns
    }


def _plain(value: Any) -> Any:
    """A table cell as JSON: NumPy numbers as Python's, intervals as lists."""
    if isinstance(value, (tuple, list)):
        return [float(item) for item in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _number(float(value))
    return value


def _shortcut_audit(store: RunStore) -> dict | None:
    """The shortcut probes' verdict from audit.json (None when not run)."""
    shortcuts = store.audit().get("shortcuts")
    if not shortcuts or "probes" not in shortcuts:
        return None
    return {
        "flagged": list(shortcuts["flagged"]),
        "warning_auc": shortcuts["warning_auc"],
        "probe_melanoma_auc": {
            name: probe["melanoma_auc"] for name, probe in shortcuts["probes"].items()
        },
    }


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
