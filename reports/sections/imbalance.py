"""Imbalance: what each strategy did to the class counts, per-class recall,
confusion matrices and the melanoma ROC and precision-recall curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from benchmarks.grid.store import RunStore
from reports._figures import _best_per_family, _label, _png, colours, plt
from reports._section import Section
from reports._tables import RunTables, pooled_scores


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
            label=f"{name} (pooled AUC {roc_auc_score(truth, score):.3f})",
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
            label=f"{name} (pooled AP {average_precision_score(truth, score):.3f})",
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


def context(tables: RunTables, store: RunStore) -> dict:
    labels = store.manifest()["label"].astype(str).to_numpy()
    return {
        "counts": class_counts(tables),
        "recall": recall_heatmap(tables),
        "confusion": confusion_matrices(tables, store, labels),
        "melanoma": melanoma_curves(tables, store, labels),
    }


SECTION = Section("imbalance", "Imbalance", "imbalance.html", context)
