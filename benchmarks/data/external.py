"""External sets: other sources a run's final fits score, never trained on.

Why: a cross-validated figure on one archive says little about another clinic's
images (on isic9, melanoma goes with the older archives' devices). An external
set is loaded like ``--data``, its labels mapped to the training classes, every
image that also sits in the training data removed, and then scored by every
final fit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.core.errors import UserError
from benchmarks.data.audit import near_any
from benchmarks.data.labels import map_labels
from benchmarks.data.sources import named_path
from benchmarks.scoring.metrics import (
    MAX_FALSE_POSITIVE_RATE,
    auc_rows,
    evaluate,
    melanoma_brier,
    melanoma_ece,
)

#: An ISIC image id: the same id is the same image, whatever the file name says.
_ISIC_ID = re.compile(r"ISIC_\d{7}")
#: Bootstrap resamples of the external intervals.
BOOTSTRAP_RESAMPLES = 1000
#: A drop from cross-validated to external melanoma AUC above this is a finding.
DROP_FINDING = 0.10


@dataclass(frozen=True)
class ExternalSource:
    """``--external [NAME=]PATH``: a folder or a metadata CSV, as ``--data``."""

    name: str
    path: str

    @classmethod
    def parse(cls, text: str) -> ExternalSource:
        return cls(*named_path(text, "--external"))


def _lesion_ids(manifest: pd.DataFrame) -> pd.Series:
    """Each row's lesion id, '' where its group is not one: a group names a
    lesion only where a source gives it (a CSV's lesion id column); elsewhere
    it is the image's own file name, id or path."""
    paths = manifest["path"].astype(str)
    groups = manifest["group"].astype(str)
    own = [
        path.endswith(group) or Path(path).stem == group
        for path, group in zip(paths, groups, strict=True)
    ]
    return groups.where(~np.array(own, dtype=bool), "")


def _isic_ids(paths: pd.Series) -> pd.Series:
    return paths.map(lambda path: m.group(0) if (m := _ISIC_ID.search(path)) else "")


def overlaps(
    external: pd.DataFrame, training: pd.DataFrame, near_threshold: int
) -> pd.Series:
    """Why each external row is also a training image ('' where it is not): the
    same bytes, the same pixels, a near-identical picture, a shared lesion id or
    a shared ISIC id. Both are readable Manifests."""
    reasons = pd.Series("", index=external.index, dtype=object)

    def mark(hit: np.ndarray, reason: str) -> None:
        reasons[hit & (reasons == "").to_numpy()] = reason

    mark(external["sha256"].isin(set(training["sha256"])).to_numpy(), "same bytes")
    pixels = set(training["pixel_sha256"])
    mark(external["pixel_sha256"].isin(pixels).to_numpy(), "same pixels")
    theirs = np.array([int(value, 16) for value in external["phash"]], np.uint64)
    ours = np.array([int(value, 16) for value in training["phash"]], np.uint64)
    mark(near_any(theirs, ours, near_threshold), "near-identical picture")
    lesions = set(_lesion_ids(training)) - {""}
    mark(_lesion_ids(external).isin(lesions).to_numpy(), "same lesion id")
    ids = set(_isic_ids(training["path"])) - {""}
    mark(_isic_ids(external["path"]).isin(ids).to_numpy(), "same ISIC id")
    return reasons


def external_figures(
    labels: np.ndarray, proba: np.ndarray, classes: tuple[str, ...], positive: str
) -> dict:
    """What a final fit's scores of an external set say, threshold aside.

    Binary figures (melanoma AUC, sensitivity at 80% specificity, melanoma
    Brier and ECE) count every image, labels outside the training classes as
    'not melanoma'; the multi-class ones (balanced accuracy, ECE) use the
    images of shared classes.
    """
    is_positive = labels == positive
    figures: dict = {
        "n": len(labels),
        "n_melanoma": int(is_positive.sum()),
        "melanoma_auc": None,
        "melanoma_sensitivity_at_80_specificity": None,
        "balanced_accuracy": None,
        "ece": None,
        "melanoma_brier": None,
        "melanoma_ece": None,
    }
    if len(labels):
        score = proba[:, list(classes).index(positive)]
        figures["melanoma_brier"] = melanoma_brier(is_positive, score)
        figures["melanoma_ece"] = melanoma_ece(is_positive, score)
    if is_positive.any() and not is_positive.all():
        from sklearn.metrics import roc_auc_score, roc_curve

        score = proba[:, list(classes).index(positive)]
        figures["melanoma_auc"] = float(roc_auc_score(is_positive, score))
        fpr, tpr, _ = roc_curve(is_positive, score, drop_intermediate=False)
        figures["melanoma_sensitivity_at_80_specificity"] = float(
            tpr[fpr <= MAX_FALSE_POSITIVE_RATE].max()
        )
    shared = np.isin(labels, classes)
    if shared.any() and positive in set(labels[shared]):
        multi = evaluate(labels[shared], proba[shared], classes, positive)
        figures["balanced_accuracy"] = multi["balanced_accuracy"]
        figures["ece"] = multi["ece"]
    return figures


def bootstrap(
    is_positive: np.ndarray,
    score: np.ndarray,
    flagged: np.ndarray,
    groups: np.ndarray,
    *,
    seed: int,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> dict[str, tuple[float, float] | None]:
    """95% intervals of melanoma AUC, and of sensitivity and specificity at a
    fixed decision (``flagged``), resampling whole lesions (``groups``) with
    replacement: photos of one lesion are not independent evidence."""
    _, group_index = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(group_index == g) for g in range(group_index.max() + 1)]
    rng = np.random.default_rng(seed)
    auc, sensitivity, specificity = [], [], []
    for _ in range(resamples):
        drawn = rng.integers(0, len(members), len(members))
        rows = np.concatenate([members[g] for g in drawn])
        positive, hit = is_positive[rows], flagged[rows]
        auc.append(auc_rows(positive[None], score[rows][None])[0])
        sensitivity.append(hit[positive].mean() if positive.any() else np.nan)
        specificity.append((~hit[~positive]).mean() if (~positive).any() else np.nan)

    def interval(values: list[float]) -> tuple[float, float] | None:
        array = np.asarray(values, dtype=float)
        array = array[~np.isnan(array)]
        if len(array) < resamples // 2:
            return None
        low, high = np.percentile(array, [2.5, 97.5])
        return float(low), float(high)

    return {
        "melanoma_auc": interval(auc),
        "sensitivity": interval(sensitivity),
        "specificity": interval(specificity),
    }


def load_external(
    source: ExternalSource,
    training: pd.DataFrame,
    classes: tuple[str, ...],
    positive: str,
    *,
    near_threshold: int,
    label_map: dict[str, str] | None = None,
    cache: str | None = None,
) -> tuple[pd.DataFrame, dict]:
    """The external set's scorable rows (readable, not in ``training``, labels
    mapped) and the facts of what was kept and dropped, for audit.json.

    ``training`` is the run's whole Manifest, Test included: an external
    figure never includes an image the run has seen.
    """
    from benchmarks.data.datasets import load_manifest, relative_path

    manifest = load_manifest(source.path, cache=cache, option="--external")
    readable = manifest["readable"].to_numpy()
    reasons = overlaps(
        manifest[readable], training[training["readable"]], near_threshold
    )
    kept = manifest[readable].loc[reasons == ""].reset_index(drop=True)
    original = kept["label"].astype(str)
    kept["label"] = map_labels(original, classes, label_map)
    if not (kept["label"] == positive).any():
        raise UserError(
            f"--external {source.name}={source.path}: no image maps to {positive}; "
            "give a --label-map FILE that names the external label of "
            f"{positive}"
        )
    dropped = reasons[reasons != ""]
    outside = sorted(set(kept["label"]) - set(classes))
    facts = {
        "path": source.path,
        "dataset": manifest.attrs.get("dataset", ""),
        "files": len(manifest),
        "unreadable": int((~readable).sum()),
        "in_training_data": len(dropped),
        "in_training_data_by_reason": {
            str(reason): int(count) for reason, count in dropped.value_counts().items()
        },
        "in_training_data_files": [
            relative_path(path, manifest)
            for path in manifest[readable].loc[dropped.index, "path"][:50]
        ],
        "scored": len(kept),
        "class_counts": {
            str(label): int(count)
            for label, count in kept["label"].value_counts().sort_index().items()
        },
        "labels_outside_training_classes": outside,
        "label_map": {
            label: mapped
            for label, mapped in sorted(set(zip(original, kept["label"], strict=True)))
            if label != mapped
        },
    }
    kept["file"] = [relative_path(path, manifest) for path in kept["path"]]
    return kept, facts


def fingerprint(table: pd.DataFrame) -> str:
    """What an external set holds, for the run id."""
    import hashlib

    rows = sorted(zip(table["sha256"], table["label"], strict=True))
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
