"""One line per run folder for ``list runs``: when, on what, how far, and the
best so far, read from the folder alone."""

from __future__ import annotations

import datetime
from pathlib import Path

import pandas as pd

from benchmarks.analysis.leaderboard import RANKING, best_configuration, leaderboard_of
from benchmarks.analysis.verdict import verdict
from benchmarks.core.errors import UserError
from benchmarks.data.sources import is_synthetic
from benchmarks.grid.plan import plugins, trials
from benchmarks.grid.store import RunStore


def run_lines(run_dir: Path) -> list[str]:
    """A run's entry in 'list runs': one line of when, on what, how far, and
    the best so far, then the verdict's lines indented; a folder that cannot
    be read gets a short line saying so, never a crash."""
    store = RunStore(run_dir)
    try:
        info = store.info()
        done = store.done()
        written = [store.path("config.json"), *store.trials_dir.glob("*.json")]
        stamp = max(path.stat().st_mtime for path in written)
    except UserError:
        return [f"{run_dir.name:<20}unreadable run folder: its config.json is damaged"]
    except OSError as error:
        return [f"{run_dir.name:<20}unreadable run folder: {error.strerror or error}"]
    date = datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc)
    synthetic = info.dataset == "synthetic" or is_synthetic(info.config.data)
    data = "synthetic" if synthetic else ",".join(info.sources)
    models = ",".join(dict.fromkeys(item.model for item in info.grid))
    try:
        split = pd.read_parquet(store.path("manifest.parquet"), columns=["split"])
        has_test = bool((split == "test").any().item())
        keys = {trial.key for trial in trials(info.config, has_test)}
        total = str(len(keys))
        done &= keys
    except (UserError, OSError, ValueError, KeyError, ImportError):
        # A damaged manifest, or a plug-in family no longer installed.
        total = "?"
    lines: list[str] = []
    try:
        records = store.records()
        board = leaderboard_of(store, records)
        if board.empty:
            best = "-"
        else:
            row = board[board["best"]].iloc[0]
            figure = row[f"{RANKING[0]}_mean"]
            shown = "-" if pd.isna(figure) else f"{figure:.3f}"
            best = f"{best_configuration(board)} {shown}"
            lines = [
                f"    {line}"
                for line in verdict(board, records, info, plugins(info.config))
            ]
            if lines and total != "?" and len(done) < int(total):
                lines.insert(
                    0,
                    f"    So far, {len(done)} of {total} trials: the finished run "
                    "may choose otherwise.",
                )
    except UserError:
        best = "damaged trial (see 'verify')"
    return [
        f"{info.run_id:<20}{date:%Y-%m-%d %H:%M}  {data[:15]:<16}"
        f"{info.profile.name:<9}{f'{len(done)}/{total}':>9}  {best:<32}{models}",
        *lines,
    ]
