"""Speed: wall time per trial, and each configuration's fit and scoring rates."""

from __future__ import annotations

import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns

from benchmarks.grid.store import RunStore
from benchmarks.scoring.metrics import summarize
from reports._figures import _label, _png, colours, plt
from reports._section import Section
from reports._tables import RunTables


def _speed_rows(tables: RunTables) -> list[dict]:
    order = {
        (row["model"], row["strategy"]): index
        for index, row in enumerate(tables.leaderboard.to_dict("records"))
    }
    rows: dict[tuple[str, str], list[dict]] = {}
    for record in tables.records:
        rows.setdefault((record.model, record.strategy), []).append(record.timings)
    return [
        {
            "model": model,
            "strategy": strategy,
            "trials": len(timings),
            "minutes": sum(t.wall_seconds for t in timings) / 60,
            "fit": float(np.mean([t.fit_seconds for t in timings])),
            "predict": float(np.mean([t.predict_seconds for t in timings])),
            # None for a model that trains nothing (fusion).
            "train_rate": summarize([t.train_images_per_second for t in timings])[
                "mean"
            ],
            "predict_rate": float(
                np.mean([t.predict_images_per_second for t in timings])
            ),
        }
        for (model, strategy), timings in sorted(
            rows.items(), key=lambda item: order.get(item[0], len(order))
        )
    ]


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
    # seaborn jitters the points with NumPy's global generator: seeded here
    # (and put back) so the same run folder draws the same chart.
    state = np.random.get_state()
    np.random.seed(0)
    try:
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
    finally:
        np.random.set_state(state)
    axis.set_xscale("log")
    axis.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axis.set_xlabel("wall seconds per trial (log scale)")
    axis.set_ylabel("")
    axis.set_title("Time per trial (folds and final fit)")
    axis.grid(axis="x", alpha=0.3)
    return _png(figure)


def context(tables: RunTables, store: RunStore) -> dict:
    return {"chart": speed_chart(tables), "rows": _speed_rows(tables)}


SECTION = Section("speed", "Speed", "speed.html", context)
