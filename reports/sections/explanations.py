"""The report's "Why this score" figures: what the best boosted-trees
configuration leaned on (importance by ABCD group and by feature), and where
the best CNN looked in melanomas it found and missed (Grad-CAM).

Both read only what the fold trials recorded (``record.importance``, and
``explained_rows`` / ``explained_maps`` in the scores files; see
benchmarks/grid/explanations.py); the thumbnails come from the run's image cache.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.analysis.leaderboard import best_index
from benchmarks.core.errors import UserError
from benchmarks.grid import explanations, families
from benchmarks.grid.record import TrialRecord
from benchmarks.grid.store import RunStore
from reports._figures import _label, _png, colours, plt
from reports._section import Section
from reports._tables import RunTables

#: Features shown by name in the importance chart.
TOP_FEATURES = 12
#: Melanomas of each kind (found, missed) in the Grad-CAM panel.
PER_KIND = 4


def _best(tables: RunTables, configurations: set[tuple[str, str]]):
    """The best of ``configurations`` by the leaderboard's rule, or None."""
    board = tables.leaderboard
    if board.empty or not configurations:
        return None
    chosen = [
        (model, strategy) in configurations
        for model, strategy in zip(board["model"], board["strategy"], strict=True)
    ]
    rows = board[chosen].reset_index(drop=True)
    if rows.empty:
        return None
    winner = rows.iloc[best_index(rows)]
    return winner["model"], winner["strategy"]


def _fold_records(tables: RunTables, model: str, strategy: str) -> list[TrialRecord]:
    return sorted(
        (
            record
            for record in tables.records
            if record.model == model
            and record.strategy == strategy
            and not record.is_final
        ),
        key=lambda record: record.fold,
    )


def importance_table(tables: RunTables) -> tuple[str, str, pd.DataFrame] | None:
    """(model, strategy, table) of the best configuration whose fold trials
    recorded tree importance: one row per column, ``shap`` and ``gain``
    averaged over folds, ``group`` its ABCD group; None when none did."""
    trees = {
        (record.model, record.strategy)
        for record in tables.records
        if not record.is_final
        and any("gain" in entry for entry in (record.importance or {}).values())
    }
    # The ABCD groups say most where every column is a handcrafted feature (a
    # hybrid's CNN embedding columns say nothing a dermatologist can check).
    handcrafted = {
        (record.model, record.strategy)
        for record in tables.records
        if (record.model, record.strategy) in trees
        and record.importance
        and not any(
            group == explanations.EMBEDDING_GROUP
            for group in explanations.feature_groups(list(record.importance))
        )
    }
    best = _best(tables, handcrafted) or _best(tables, trees)
    if best is None:
        return None
    frames = [
        pd.DataFrame.from_dict(record.importance, orient="index")
        for record in _fold_records(tables, *best)
        if record.importance
    ]
    table = pd.concat(frames).groupby(level=0, sort=False).mean()
    table["group"] = explanations.feature_groups(list(table.index))
    return best[0], best[1], table


def importance_chart(tables: RunTables, store: RunStore) -> str | None:
    """Bars of mean |SHAP| (melanoma margin) and split-gain share by ABCD
    group and for the top features, averaged over the folds of the best
    boosted-trees configuration; None when no trial recorded them."""
    found = importance_table(tables)
    if found is None:
        return None
    model, strategy, table = found
    shares = table[["shap", "gain"]] / table[["shap", "gain"]].sum().replace(0, 1)
    shares["group"] = table["group"]
    groups = shares.groupby("group", sort=False)[["shap", "gain"]].sum()
    groups = groups.reindex(explanations.group_order(list(groups.index)))
    top = shares.sort_values("shap", ascending=False).head(TOP_FEATURES)
    colour = colours(tables.models)[model]
    figure, (group_axis, feature_axis) = plt.subplots(
        1,
        2,
        figsize=(11, max(3.2, 0.3 * len(top) + 1.4)),
        gridspec_kw={"width_ratios": [1, 1.6]},
    )
    for axis, frame in ((group_axis, groups), (feature_axis, top)):
        positions = np.arange(len(frame))
        axis.barh(
            positions - 0.2,
            frame["shap"],
            height=0.4,
            color=colour,
            label="mean |SHAP|",
        )
        axis.barh(
            positions + 0.2, frame["gain"], height=0.4, color="grey", label="gain"
        )
        axis.set_yticks(positions, list(frame.index))
        axis.invert_yaxis()
        axis.set_xlabel("share of the total")
        axis.grid(axis="x", alpha=0.3)
        axis.tick_params(axis="y", labelsize=8)
    group_axis.set_title("By ABCD group", fontsize=10)
    feature_axis.set_title(f"Top {len(top)} features by mean |SHAP|", fontsize=10)
    feature_axis.legend(fontsize=8, loc="lower right")
    figure.suptitle(
        f"Why this score: {_label(model, strategy)}, melanoma margin, mean over "
        "folds (SHAP on each validation part; gain over every class's trees)"
    )
    figure.tight_layout()
    return _png(figure)


def _reads_images(model: str) -> bool:
    try:
        return families.IMAGES in families.family(model).inputs
    except UserError:  # a plug-in no longer installed
        return False


def _cached_images(store: RunStore, size: int) -> np.ndarray | None:
    """The run's decoded images at ``size`` from the image cache, or None
    when the cache no longer holds them."""
    from benchmarks.core.cache import cached
    from benchmarks.data.image_cache import images_path

    path = images_path(store.manifest()["sha256"], size)
    if not cached(path):
        return None
    return np.load(path, mmap_mode="r")


def gradcam_sample(
    tables: RunTables, store: RunStore
) -> tuple[str, str, list[tuple[int, bool, np.ndarray]]] | None:
    """(model, strategy, [(manifest row, found, map)]) of the best image
    configuration whose fold trials stored Grad-CAM maps: up to ``PER_KIND``
    found melanomas then up to ``PER_KIND`` missed ones, in fold order; None
    when no trial stored maps."""
    positive = tables.classes.index(tables.positive)
    stored: dict[tuple[str, str], list[tuple[int, bool, np.ndarray]]] = {}
    for record in tables.records:
        if record.is_final or not _reads_images(record.model):
            continue
        scores = store.scores(record.key)
        if "explained_rows" not in scores:
            continue
        where = {row: i for i, row in enumerate(scores["evaluation_rows"].tolist())}
        predicted = scores["evaluation_proba"].argmax(axis=1)
        entries = stored.setdefault((record.model, record.strategy), [])
        for row, heat in zip(
            scores["explained_rows"].tolist(), scores["explained_maps"], strict=True
        ):
            entries.append(
                (record.fold, row, bool(predicted[where[row]] == positive), heat)
            )
    best = _best(tables, {key for key, entries in stored.items() if entries})
    if best is None:
        return None
    entries = sorted(stored[best], key=lambda entry: entry[0])
    chosen = [e for e in entries if e[2]][:PER_KIND]
    chosen += [e for e in entries if not e[2]][:PER_KIND]
    return best[0], best[1], [(row, found, heat) for _, row, found, heat in chosen]


def gradcam_panel(tables: RunTables, store: RunStore) -> str | None:
    """Thumbnails of melanomas the best CNN configuration found and missed
    (argmax decision, validation parts), each with its Grad-CAM map of the
    melanoma logit overlaid; None when no CNN trial stored maps."""
    sample = gradcam_sample(tables, store)
    if sample is None:
        return None
    model, strategy, chosen = sample
    size = families.family(model).image_size
    images = _cached_images(store, size)
    files = store.manifest()["file"].tolist()
    columns = max(
        sum(found for _, found, _ in chosen), sum(not f for _, f, _ in chosen)
    )
    figure, axes = plt.subplots(2, columns, figsize=(1.9 * columns, 4.4), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    placed = {True: 0, False: 0}
    for row, found, heat in chosen:
        axis = axes[0 if found else 1, placed[found]]
        placed[found] += 1
        if images is None:
            shown = explanations.heat_colours(heat)
        else:
            shown = explanations.overlay(np.asarray(images[row]), heat)
        axis.imshow(shown, interpolation="bilinear")
        name = files[row].rsplit("/", 1)[-1]
        axis.set_title(name if len(name) <= 22 else name[:20] + "...", fontsize=7)
    for found, text in ((True, "found"), (False, "missed")):
        if placed[found]:
            axes[0 if found else 1, 0].text(
                -0.08,
                0.5,
                text,
                transform=axes[0 if found else 1, 0].transAxes,
                rotation=90,
                va="center",
                ha="right",
                fontsize=9,
            )
    cache_note = "" if images is not None else " (images no longer cached: maps only)"
    figure.suptitle(
        f"Where {_label(model, strategy)} looked: Grad-CAM of the {tables.positive} "
        f"logit, validation melanomas found and missed{cache_note}",
        fontsize=10,
    )
    figure.tight_layout()
    return _png(figure)


def context(tables: RunTables, store: RunStore) -> dict | None:
    importance = importance_chart(tables, store)
    gradcam = gradcam_panel(tables, store)
    if not importance and not gradcam:
        return None
    return {"importance": importance, "gradcam": gradcam}


SECTION = Section("explanations", "Why this score", "explanations.html", context)
