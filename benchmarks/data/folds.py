"""Group-aware stratified folds: copies of one image never sit on both sides."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from benchmarks.core.errors import UserError

MIN_FOLDS = 2


def assign_folds(
    labels: pd.Series | np.ndarray,
    groups: pd.Series | np.ndarray,
    *,
    n_folds: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """The validation fold (0..n_folds-1) of every row.

    ``groups`` should be the audit's ``copy_group``, so exact and near copies and
    one lesion's images land in the same fold.

    Raises
    ------
    UserError
        When a class has fewer copy groups than folds (it could not appear in
        every validation fold).
    """
    if not isinstance(n_folds, int) or n_folds < MIN_FOLDS:
        raise UserError(f"--folds {n_folds}: choose a whole number >= {MIN_FOLDS}")
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    if len(labels) != len(groups):
        raise ValueError(
            f"labels has {len(labels)} rows but groups has {len(groups)}; pass one "
            "group per row"
        )
    frame = pd.DataFrame({"label": labels, "group": groups})
    per_class = frame.groupby("label")["group"].nunique()
    small = per_class[per_class < n_folds]
    if not small.empty:
        named = ", ".join(f"'{label}' ({count})" for label, count in small.items())
        raise UserError(
            f"--folds {n_folds}: class {named} has fewer distinct images than folds; "
            f"use --folds {max(MIN_FOLDS, int(small.min()))} or fewer, drop the "
            "class, or merge it with a similar one"
        )
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    folds = np.full(len(labels), -1, dtype=np.int64)
    for fold, (_, validation) in enumerate(splitter.split(labels, labels, groups)):
        folds[validation] = fold
    return folds


def source_folds(
    sources: np.ndarray, groups: np.ndarray, names: list[str]
) -> np.ndarray:
    """Leave-source-out folds: fold k holds the images of source ``names[k]``.

    A copy group found in several sources (the same image or lesion in two
    archives) goes wholly to the fold of the first of them, so a held-out
    source's images never reach training through a copy in another source.
    """
    sources = np.asarray(sources)
    groups = np.asarray(groups)
    position = {name: index for index, name in enumerate(names)}
    own = np.array([position[source] for source in sources], dtype=np.int64)
    first = pd.Series(own).groupby(groups).transform("min").to_numpy()
    return first.astype(np.int64)
