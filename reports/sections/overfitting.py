"""Overfitting: train against validation balanced accuracy per fold, and the
learning curves of fold 0."""

from __future__ import annotations

import numpy as np

from benchmarks.grid.store import RunStore
from reports._figures import _label, _png, colours, plt
from reports._section import Section
from reports._tables import RunTables


def _fold_rows(tables: RunTables) -> list[dict]:
    folds = tables.folds
    train = folds[folds["part"] == "train"].set_index(["model", "strategy", "fold"])
    validation = folds[folds["part"] == "validation"].set_index(
        ["model", "strategy", "fold"]
    )
    rows = []
    order = {
        (row["model"], row["strategy"]): index
        for index, row in enumerate(tables.leaderboard.to_dict("records"))
    }
    for key in sorted(validation.index, key=lambda k: (order[k[:2]], k[2])):
        model, strategy, fold = key
        rows.append(
            {
                "model": model,
                "strategy": strategy,
                "fold": fold,
                "train": train.at[key, "balanced_accuracy"],
                "validation": validation.at[key, "balanced_accuracy"],
                "gap": train.at[key, "balanced_accuracy"]
                - validation.at[key, "balanced_accuracy"],
                "train_f1": train.at[key, "macro_f1"],
                "validation_f1": validation.at[key, "macro_f1"],
            }
        )
    return rows


def gap_chart(tables: RunTables) -> str:
    """Train vs validation balanced accuracy per configuration, folds as dots."""
    board = tables.leaderboard
    figure, axis = plt.subplots(figsize=(8, 0.35 * len(board) + 1.2))
    folds = tables.folds
    palette = colours(tables.models)
    for position, row in enumerate(board.itertuples()):
        colour = palette[row.model]
        chosen = folds[
            (folds["model"] == row.model) & (folds["strategy"] == row.strategy)
        ]
        for part, marker, alpha in (("train", "o", 0.35), ("validation", "s", 0.9)):
            values = chosen.loc[chosen["part"] == part, "balanced_accuracy"]
            axis.scatter(
                values,
                [position] * len(values),
                marker=marker,
                color=colour,
                alpha=alpha,
                s=18,
            )
        axis.plot(
            [row.balanced_accuracy_mean, row.train_balanced_accuracy_mean],
            [position, position],
            color=colour,
            linewidth=2,
        )
    axis.set_yticks(
        range(len(board)),
        [_label(m, s) for m, s in zip(board["model"], board["strategy"], strict=True)],
    )
    axis.invert_yaxis()
    axis.set_xlabel(
        "balanced accuracy (squares: validation folds, circles: train folds)"
    )
    axis.set_title("Overfitting: train minus validation balanced accuracy")
    axis.grid(axis="x", alpha=0.3)
    return _png(figure)


def learning_curves(tables: RunTables) -> str:
    """Loss per epoch (CNN) or boosting round (XGBoost) on fold 0 of every
    configuration that trains (a fusion only averages); the dashed line marks
    the kept epoch or round."""
    order = {
        (row.model, row.strategy): index
        for index, row in enumerate(tables.leaderboard.itertuples())
    }
    chosen = [r for r in tables.records if r.fold == 0 and r.curves]
    chosen.sort(key=lambda r: order.get((r.model, r.strategy), len(order)))
    if not chosen:
        return ""
    palette = colours(tables.models)
    columns = 4
    rows = int(np.ceil(len(chosen) / columns))
    # Constrained layout keeps each subplot's title clear of the axis label of
    # the row above (tight_layout let them touch under a suptitle).
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(3.2 * columns, 2.6 * rows + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for axis, record in zip(axes.flat, chosen, strict=False):
        curves = record.curves
        colour = palette[record.model]
        train = curves.get("train_loss") or []
        validation = curves.get("validation_loss") or []
        axis.plot(
            range(1, len(train) + 1), train, color=colour, alpha=0.5, label="train"
        )
        if validation:
            axis.plot(
                range(1, len(validation) + 1),
                validation,
                color=colour,
                label="validation",
            )
        axis.axvline(curves["best"] + 1, color="grey", linestyle="--", linewidth=1)
        axis.set_title(_label(record.model, record.strategy), fontsize=9)
        axis.set_xlabel(curves["unit"] + "s", fontsize=8)
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.set_ylabel("loss", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.legend(fontsize=7)
    for axis in axes.flat[len(chosen) :]:
        axis.set_visible(False)
    figure.suptitle(
        "Learning curves, fold 0 (validation: CNN on the fold's validation part, "
        "XGBoost on its inner split)"
    )
    return _png(figure)


def context(tables: RunTables, store: RunStore) -> dict:
    return {
        "gap_chart": gap_chart(tables),
        "rows": _fold_rows(tables),
        "learning_curves": learning_curves(tables),
    }


SECTION = Section("overfitting", "Overfitting", "overfitting.html", context)
