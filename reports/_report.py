"""Write RUN_DIR/report.html: one self-contained file, figures embedded."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2

from benchmarks.analysis.leaderboard import write_leaderboard
from benchmarks.core.cache import atomic_write, atomic_write_json
from benchmarks.core.errors import UserError
from benchmarks.grid.store import RunStore
from reports._tables import RunTables, build
from reports.sections import SECTIONS


def render(store: RunStore, tables: RunTables | None = None) -> str:
    """The report's HTML for a run folder (``tables``: already built from it):
    each of ``SECTIONS`` that has something to show, in order."""
    tables = tables or build(store)
    if tables.leaderboard.empty:
        raise UserError(
            f"{store.run_dir}: no finished trials yet; run or resume it first"
        )
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )
    shown = []
    for section in SECTIONS:
        data = section.context(tables, store)
        if data is not None:
            shown.append((section, data))
    return environment.get_template("report.html").render(
        run_id=tables.info.run_id, sections=shown
    )


def write_report(run_dir: str | Path) -> Path:
    """report.html, leaderboard.csv and metrics.json in ``run_dir``."""
    store = RunStore(run_dir)
    tables = build(store)
    html = render(store, tables)
    path = store.path("report.html")
    atomic_write(path, lambda stream: stream.write(html.encode("utf-8")))
    write_leaderboard(store, tables.leaderboard)
    atomic_write_json(
        store.path("metrics.json"),
        {
            "run_id": tables.info.run_id,
            "leaderboard": json.loads(tables.leaderboard.to_json(orient="records")),
            "trials": [
                {k: v for k, v in record.to_json().items() if k != "versions"}
                for record in tables.records
            ],
        },
    )
    return path
