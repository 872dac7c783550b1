"""The report's figures, drawn with matplotlib/seaborn and embedded as PNG data.

One colour per model family throughout, so a reader can follow a model from
chart to chart.
"""

from __future__ import annotations

import base64
import io
import warnings

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from benchmarks.analysis.leaderboard import best_index
from benchmarks.core.errors import UserError
from benchmarks.grid import families
from benchmarks.grid.configuration import Configuration
from benchmarks.grid.store import RunStore
from reports._tables import RunTables, pooled_scores

DPI = 90
#: Place 5 of seaborn's colour-blind palette, a light brown, reads as a shade
#: of place 1's orange (the CNN's) next to it: the report draws near-black there.
_PLACE_5 = (0.2, 0.2, 0.2)


def palette() -> list[tuple[float, float, float]]:
    """The report's colour-blind palette, ten places."""
    colours_ = list(sns.color_palette("colorblind"))
    colours_[5] = _PLACE_5
    return colours_


def colours(models: list[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per family: a family's own place in the colour-blind palette
    where it names one, else the next place free; past the palette's ten,
    evenly spaced hues. A preprocessing variant (``cnn@lesion-crop``) takes a
    free place of its own, so that it can be told from its family."""
    palette_ = palette()
    chosen: dict[str, int | None] = {}
    for model in models:
        try:
            spec = families.family(model)
            chosen[model] = None if spec.preprocessing else spec.colour
        except UserError:  # a plug-in no longer installed: any free colour
            chosen[model] = None
    taken = {place for place in chosen.values() if place is not None}
    free = (place for place in range(len(palette_)) if place not in taken)
    extra = iter(sns.color_palette("husl", max(1, len(models))))
    result = {}
    for model, place in chosen.items():
        place = place if place is not None else next(free, None)
        result[model] = palette_[place] if place is not None else next(extra)
    return result


def _png(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # A class name in a script the font lacks (CJK, say) is drawn as boxes
        # in the figures and in full in the report's tables; one warning per
        # glyph and figure would only bury the run's own messages.
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _label(model: str, strategy: str) -> str:
    return str(Configuration(model, strategy))


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


def class_counts(tables: RunTables) -> str:
    """Training images per class on fold 0, before and after each strategy."""
    rows = []
    for record in tables.records:
        if record.fold != 0 or record.model != tables.records[0].model:
            continue
        for name, count in record.class_counts_after.items():
            rows.append({"strategy": record.strategy, "class": name, "images": count})
    if not rows:
        return ""
    frame = pd.DataFrame(rows)
    figure, axis = plt.subplots(figsize=(9, 3.2), layout="constrained")
    sns.barplot(
        frame,
        x="class",
        y="images",
        hue="strategy",
        hue_order=[s for s in tables.strategies if s in set(frame["strategy"])],
        ax=axis,
    )
    axis.set_title(
        "Training images per class on fold 0, after each strategy (none = before)"
    )
    axis.set_xlabel("")
    axis.set_ylabel("images")
    axis.tick_params(axis="x", rotation=30, labelsize=8)
    # Beside the axes, not over the bars.
    sns.move_legend(
        axis, "upper left", bbox_to_anchor=(1.01, 1), title="strategy", fontsize=8
    )
    return _png(figure)


def recall_heatmap(tables: RunTables) -> str:
    """Validation recall per class, mean over folds: rows config, columns class."""
    values: dict[str, dict[str, list[float]]] = {}
    for record in tables.records:
        if record.is_final:
            continue
        row = values.setdefault(_label(record.model, record.strategy), {})
        for name, recall in record.metrics.validation["recall"].items():
            if recall is not None:
                row.setdefault(name, []).append(recall)
    frame = pd.DataFrame(
        {
            config: {name: np.mean(v) for name, v in row.items()}
            for config, row in values.items()
        }
    ).T
    order = [
        _label(m, s)
        for m, s in zip(
            tables.leaderboard["model"], tables.leaderboard["strategy"], strict=True
        )
    ]
    frame = frame.reindex(index=order, columns=tables.classes)
    figure, axis = plt.subplots(
        figsize=(1.0 * len(tables.classes) + 3, 0.35 * len(frame) + 1.8)
    )
    sns.heatmap(
        frame,
        annot=True,
        fmt=".2f",
        vmin=0,
        vmax=1,
        cmap="viridis",
        ax=axis,
        cbar_kws={"label": "recall"},
        annot_kws={"fontsize": 7},
    )
    axis.set_title("Per-class validation recall (mean over folds)")
    axis.tick_params(axis="x", rotation=35, labelsize=8)
    axis.tick_params(axis="y", labelsize=8)
    return _png(figure)


def _best_per_family(tables: RunTables) -> list[tuple[str, str]]:
    board = tables.leaderboard
    best = []
    for model in tables.models:
        rows = board[board["model"] == model]
        if not rows.empty:
            winner = rows.iloc[best_index(rows.reset_index(drop=True))]
            best.append((model, winner["strategy"]))
    return best


def confusion_matrices(tables: RunTables, store: RunStore, labels: np.ndarray) -> str:
    """Row-normalised out-of-fold confusion matrices of each family's best."""
    best = _best_per_family(tables)
    if not best:
        return ""
    classes = tables.classes
    columns = min(2, len(best))
    rows = int(np.ceil(len(best) / columns))
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(6.2 * columns, 5.6 * rows),
        squeeze=False,
        layout="constrained",
    )
    for axis in axes.flat[len(best) :]:
        axis.set_visible(False)
    for axis, (model, strategy) in zip(axes.flat, best, strict=False):
        rows, proba = pooled_scores(store, tables.records, model, strategy)
        truth = np.searchsorted(classes, labels[rows])
        predicted = proba.argmax(axis=1)
        matrix = np.zeros((len(classes), len(classes)))
        np.add.at(matrix, (truth, predicted), 1)
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        sns.heatmap(
            matrix,
            vmin=0,
            vmax=1,
            cmap="Blues",
            ax=axis,
            cbar=False,
            annot=len(classes) <= 9,
            fmt=".2f",
            annot_kws={"fontsize": 7},
            xticklabels=classes,
            yticklabels=classes,
        )
        axis.set_title(_label(model, strategy), fontsize=10)
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        axis.tick_params(labelsize=7)
    figure.suptitle("Confusion matrices, out-of-fold, each row sums to 1")
    return _png(figure)


def melanoma_curves(tables: RunTables, store: RunStore, labels: np.ndarray) -> str:
    """Melanoma ROC and precision-recall curves of each family's best, with the
    operating point of the argmax decision."""
    best = _best_per_family(tables)
    if not best:
        return ""
    positive = tables.classes.index(tables.positive)
    figure, (roc_axis, pr_axis) = plt.subplots(
        1, 2, figsize=(10, 4.8), layout="constrained"
    )
    palette = colours(tables.models)
    for model, strategy in best:
        rows, proba = pooled_scores(store, tables.records, model, strategy)
        truth = labels[rows] == tables.positive
        if truth.all() or not truth.any():
            continue
        score = proba[:, positive]
        flagged = proba.argmax(axis=1) == positive
        colour = palette[model]
        fpr, tpr, _ = roc_curve(truth, score)
        name = _label(model, strategy)
        roc_axis.plot(
            fpr,
            tpr,
            color=colour,
            label=f"{name} (AUC {roc_auc_score(truth, score):.3f})",
        )
        roc_axis.scatter(
            [flagged[~truth].mean()],
            [flagged[truth].mean()],
            color=colour,
            edgecolor="black",
            zorder=3,
        )
        precision, recall, _ = precision_recall_curve(truth, score)
        pr_axis.plot(
            recall,
            precision,
            color=colour,
            label=f"{name} (AP {average_precision_score(truth, score):.3f})",
        )
        if flagged.any():
            pr_axis.scatter(
                [flagged[truth].mean()],
                [truth[flagged].mean()],
                color=colour,
                edgecolor="black",
                zorder=3,
            )
    roc_axis.plot([0, 1], [0, 1], color="grey", linestyle=":")
    roc_axis.set_xlabel("1 - specificity (false positive rate)")
    roc_axis.set_ylabel("sensitivity")
    roc_axis.set_title(f"{tables.positive}: ROC, out-of-fold")
    pr_axis.set_xlabel("sensitivity (recall)")
    pr_axis.set_ylabel("precision")
    pr_axis.set_title(f"{tables.positive}: precision-recall; dots = argmax decision")
    for axis in (roc_axis, pr_axis):
        # Below the axes: inside, a legend hides the curves it names.
        axis.legend(
            fontsize=8,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            title="AP: area under the precision-recall curve"
            if axis is pr_axis
            else "AUC: area under the ROC curve",
            title_fontsize=8,
        )
        axis.grid(alpha=0.3)
    return _png(figure)


def speed_chart(tables: RunTables) -> str:
    """Wall seconds per trial, per configuration (log scale: the seed CNN
    costs a hundred XGBoost fits)."""
    rows = [
        {
            "configuration": _label(r.model, r.strategy),
            "model": r.model,
            "seconds": r.timings.wall_seconds,
        }
        for r in tables.records
    ]
    frame = pd.DataFrame(rows)
    order = [
        _label(m, s)
        for m, s in zip(
            tables.leaderboard["model"], tables.leaderboard["strategy"], strict=True
        )
    ]
    figure, axis = plt.subplots(figsize=(8, 0.35 * len(order) + 1.2))
    sns.stripplot(
        frame,
        x="seconds",
        y="configuration",
        hue="model",
        palette=colours(tables.models),
        order=order,
        ax=axis,
        legend=False,
    )
    axis.set_xscale("log")
    axis.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axis.set_xlabel("wall seconds per trial (log scale)")
    axis.set_ylabel("")
    axis.set_title("Time per trial (folds and final fit)")
    axis.grid(axis="x", alpha=0.3)
    return _png(figure)


def external_curves(tables: RunTables, store: RunStore) -> str:
    """Melanoma ROC curves on each external set of each family's best
    configuration (by the leaderboard's rule), one panel per set."""
    table = tables.generalization
    if table.empty:
        return ""
    best = set(_best_per_family(tables))
    names = list(dict.fromkeys(table["external"]))
    palette = colours(tables.models)
    positive = tables.classes.index(tables.positive)
    figure, axes = plt.subplots(
        1,
        len(names),
        figsize=(5.2 * len(names), 4.4),
        squeeze=False,
        layout="constrained",
    )
    for axis, name in zip(axes.flat, names, strict=True):
        labels = store.manifest(name)
        truth = labels["label"].to_numpy() == tables.positive
        for row in table[table["external"] == name].itertuples():
            if (row.model, row.strategy) not in best or row.melanoma_auc is None:
                continue
            key = f"{row.model}__{row.strategy}__final"
            score = store.scores(key)[f"external_{name}_proba"][:, positive]
            fpr, tpr, _ = roc_curve(truth, score)
            axis.plot(
                fpr,
                tpr,
                color=palette[row.model],
                label=f"{row.configuration} (AUC {row.melanoma_auc:.3f})",
            )
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":")
        axis.set_xlabel("1 - specificity")
        axis.set_ylabel("sensitivity")
        axis.set_title(f"{tables.positive} on {name}", fontsize=10)
        axis.legend(fontsize=8, loc="lower right")
        axis.grid(alpha=0.3)
    return _png(figure)
