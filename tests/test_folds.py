"""Folds: stratified, group-aware, seeded, with a clear error for tiny classes."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.core.errors import UserError
from benchmarks.data.audit import audit
from benchmarks.data.datasets import load_manifest
from benchmarks.data.folds import assign_folds
from tests.conftest import ISIC9, SEED, requires_isic9


def imbalanced_labels(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    counts = {"melanoma": 220, "nevus": 180, "keratosis": 60, "vascular": 25}
    labels = np.repeat(list(counts), list(counts.values()))
    groups = np.arange(len(labels))
    copies = rng.choice(len(labels), size=60, replace=False)
    groups[copies[30:]] = groups[copies[:30]]
    return labels, groups


def assert_no_group_split(folds: np.ndarray, groups: np.ndarray) -> None:
    folds_per_group = {}
    for fold, group in zip(folds, groups, strict=True):
        folds_per_group.setdefault(group, set()).add(fold)
    assert all(len(seen) == 1 for seen in folds_per_group.values())


def assert_proportions_close(folds, labels, points: float) -> None:
    overall = {label: np.mean(labels == label) for label in np.unique(labels)}
    for fold in np.unique(folds):
        part = labels[folds == fold]
        for label, share in overall.items():
            assert abs(np.mean(part == label) - share) * 100 <= points, (fold, label)


def test_groups_stay_together_and_classes_stay_balanced():
    labels, groups = imbalanced_labels(np.random.default_rng(SEED))
    folds = assign_folds(labels, groups, n_folds=5, seed=SEED)
    assert sorted(np.unique(folds)) == [0, 1, 2, 3, 4]
    assert_no_group_split(folds, groups)
    assert_proportions_close(folds, labels, points=2)


def test_same_seed_same_folds_other_seed_other_folds():
    labels, groups = imbalanced_labels(np.random.default_rng(SEED))
    first = assign_folds(labels, groups, seed=SEED)
    assert np.array_equal(first, assign_folds(labels, groups, seed=SEED))
    assert not np.array_equal(first, assign_folds(labels, groups, seed=SEED + 1))


def test_a_class_smaller_than_the_folds_is_named_with_the_choices():
    labels = np.array(["melanoma"] * 10 + ["dermatofibroma"] * 3)
    with pytest.raises(
        UserError,
        match=r"class 'dermatofibroma' \(3\) has fewer distinct images than folds; "
        r"use --folds 3 or fewer, drop the class, or merge it",
    ):
        assign_folds(labels, np.arange(13), n_folds=5)


def test_copies_count_once_when_checking_class_size():
    labels = np.array(["melanoma"] * 10 + ["dermatofibroma"] * 4)
    groups = np.array([*range(10), 10, 10, 11, 11])
    with pytest.raises(UserError, match=r"'dermatofibroma' \(2\)"):
        assign_folds(labels, groups, n_folds=3)


@pytest.mark.parametrize("folds", [1, 0, 2.5], ids=["one", "zero", "fraction"])
def test_rejects_impossible_fold_counts(folds):
    with pytest.raises(UserError, match=r"--folds .*: choose a whole number >= 2"):
        assign_folds(np.array(["a", "b"] * 5), np.arange(10), n_folds=folds)


@pytest.mark.isic9
@requires_isic9
def test_isic9_folds_keep_copies_together(isic9_cache):
    manifest = load_manifest(ISIC9, cache=isic9_cache)
    report = audit(manifest)
    train = (manifest["split"] == "train").to_numpy()
    labels = manifest["label"].to_numpy()[train]
    groups = report.copy_group[train]
    folds = assign_folds(labels, groups, n_folds=5, seed=SEED)
    assert_no_group_split(folds, groups)
    assert_proportions_close(folds, labels, points=2)
    copied = [g for g in report.groups if g["kind"] == "exact"]
    assert len(copied) == 159
