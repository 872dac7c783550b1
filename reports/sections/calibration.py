"""Calibration: reliability diagrams and melanoma ECE and Brier rows.

Why recompute from the stored scores rather than read the records' figures:
run folders made before the records carried the melanoma Brier score and ECE
still get the section, and the curve and the numbers beside it come from one
binning (``benchmarks.scoring.metrics.reliability_bins``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from benchmarks.grid.record import TrialRecord
from benchmarks.grid.store import RunStore
from benchmarks.scoring.metrics import (
    MELANOMA_BINS,
    melanoma_brier,
    melanoma_ece,
    reliability_bins,
)
from reports._figures import _best_per_family, _label, _png, colours
from reports._section import Section
from reports._tables import RunTables, pooled_scores
from reports.sections._cells import _number, _sortable

#: The calibration table's figure columns, in order: (key, shown name).
CALIBRATION_COLUMNS = (
    ("validation_ece", "melanoma ECE, validation"),
    ("validation_brier", "melanoma Brier, validation"),
    ("test_ece", "melanoma ECE, Test"),
    ("test_brier", "melanoma Brier, Test"),
)


def _test_scores(
    store: RunStore, records: list[TrialRecord], model: str, strategy: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows, probabilities) of a configuration's final fit on Test, or None
    where the run has no Test split or the final fit is not done."""
    for record in records:
        if (
            record.model == model
            and record.strategy == strategy
            and record.is_final
            and record.evaluated_on == "test"
            and record.n_evaluated > 0
        ):
            scores = store.scores(record.key)
            return scores["evaluation_rows"], scores["evaluation_proba"]
    return None


def _figures(truth: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    return melanoma_ece(truth, score), melanoma_brier(truth, score)


def calibration_rows(
    tables: RunTables, store: RunStore, only: str | None = None
) -> list[dict]:
    """Per configuration (or the one named ``only``: each row reads every
    fold's scores), in leaderboard order: melanoma ECE and Brier score on
    validation (mean over folds, +- their std) and on Test.

    Each row: ``model``, ``strategy``, ``configuration`` (its printed form),
    ``folds`` and ``cells``, one ``{"text", "sort"}`` per entry of
    ``CALIBRATION_COLUMNS``; ``sort`` is "" where a figure is undefined.
    """
    labels = store.manifest()["label"].astype(str).to_numpy()
    positive = tables.positive
    column = tables.classes.index(positive)
    rows = []
    for model, strategy in zip(
        tables.leaderboard["model"], tables.leaderboard["strategy"], strict=True
    ):
        if only is not None and _label(model, strategy) != only:
            continue
        per_fold = []
        for record in tables.records:
            if (
                record.model == model
                and record.strategy == strategy
                and not record.is_final
            ):
                scores = store.scores(record.key)
                truth = labels[scores["evaluation_rows"]] == positive
                per_fold.append(_figures(truth, scores["evaluation_proba"][:, column]))
        folds = np.asarray(per_fold, dtype=float).reshape(-1, 2)
        test = _test_scores(store, tables.records, model, strategy)
        test_figures: tuple[float | None, float | None] = (None, None)
        if test is not None:
            rows_test, proba = test
            test_figures = _figures(labels[rows_test] == positive, proba[:, column])
        cells = []
        for index in range(2):
            values = folds[:, index]
            mean = float(values.mean()) if len(values) else None
            text = _number(mean)
            if len(values) > 1:
                text += f" \u00b1 {_number(float(values.std(ddof=1)))}"
            cells.append({"text": text, "sort": _sortable(mean)})
        for value in test_figures:
            cells.append({"text": _number(value), "sort": _sortable(value)})
        rows.append(
            {
                "model": model,
                "strategy": strategy,
                "configuration": _label(model, strategy),
                "folds": len(folds),
                "cells": cells,
            }
        )
    return rows


def _draw(
    curve_axis: plt.Axes,
    count_axis: plt.Axes,
    truth: np.ndarray,
    score: np.ndarray,
    colour: tuple[float, float, float],
    label: str,
) -> None:
    binned = reliability_bins(truth, score, MELANOMA_BINS)
    filled = binned["count"] > 0
    ece, brier = _figures(truth, score)
    curve_axis.plot(
        binned["mean_score"][filled],
        binned["observed"][filled],
        marker="o",
        markersize=4,
        color=colour,
        label=f"{label} (pooled ECE {ece:.3f}, Brier {brier:.3f})",
    )
    count_axis.stairs(binned["count"], binned["edges"], color=colour, linewidth=1.5)


def _style(axes: np.ndarray, drawn: list[bool], positive: str) -> None:
    """Titles, axes and legends of the four panels; "no Test split" where
    nothing was drawn on the right."""
    titles = (
        f"{positive}: reliability, out-of-fold validation",
        f"{positive}: reliability, Test (final fits)",
    )
    for place, title in enumerate(titles):
        curve_axis, count_axis = axes[0, place], axes[1, place]
        curve_axis.plot([0, 1], [0, 1], color="grey", linestyle=":")
        curve_axis.set_xlim(0, 1)
        curve_axis.set_ylim(-0.02, 1.02)
        curve_axis.set_title(title)
        curve_axis.set_ylabel(f"share that are {positive}")
        curve_axis.grid(alpha=0.3)
        count_axis.set_xlabel(f"{positive} probability given (10 bins)")
        count_axis.set_ylabel("images")
        count_axis.yaxis.set_major_locator(
            matplotlib.ticker.MaxNLocator(3, integer=True)
        )
        count_axis.grid(alpha=0.3)
        if drawn[place]:
            curve_axis.legend(fontsize=7, loc="best")
        else:
            curve_axis.text(
                0.5, 0.5, "no Test split", ha="center", va="center", color="grey"
            )


def reliability_diagram(
    tables: RunTables, store: RunStore, labels: np.ndarray
) -> str | None:
    """Reliability curves of the melanoma probability for each family's best
    configuration: pooled out-of-fold validation scores on the left, Test on
    the right, images per bin in a strip underneath; None with nothing to draw.

    A point is one of ten equal-width bins: x the mean melanoma probability
    given, y the share of those images that are melanomas. On the diagonal a
    "30%" means 3 in 10; below it the model over-calls melanoma. The legend's
    ECE and Brier are those of the pooled scores drawn (``calibration_rows``
    gives the mean over folds).
    """
    best = _best_per_family(tables)
    if not best:
        return None
    positive = tables.positive
    column = tables.classes.index(positive)
    palette = colours(tables.models)
    figure, axes = plt.subplots(
        2,
        2,
        figsize=(10, 5.6),
        sharex=True,
        gridspec_kw={"height_ratios": [3, 1]},
        squeeze=False,
    )
    drawn = [False, False]
    for model, strategy in best:
        label = _label(model, strategy)
        rows, proba = pooled_scores(store, tables.records, model, strategy)
        _draw(
            axes[0, 0],
            axes[1, 0],
            labels[rows] == positive,
            proba[:, column],
            palette[model],
            label,
        )
        drawn[0] = True
        test = _test_scores(store, tables.records, model, strategy)
        if test is not None:
            rows_test, proba_test = test
            _draw(
                axes[0, 1],
                axes[1, 1],
                labels[rows_test] == positive,
                proba_test[:, column],
                palette[model],
                label,
            )
            drawn[1] = True
    if not any(drawn):
        plt.close(figure)
        return None
    _style(axes, drawn, positive)
    figure.tight_layout()
    return _png(figure)


def context(tables: RunTables, store: RunStore) -> dict:
    labels = store.manifest()["label"].astype(str).to_numpy()
    return {
        "method": tables.info.config.calibration,
        "columns": [shown for _, shown in CALIBRATION_COLUMNS],
        "rows": calibration_rows(tables, store),
        "diagram": reliability_diagram(tables, store, labels),
    }


SECTION = Section("calibration", "Calibration", "calibration.html", context)
