"""``list``: the families, strategies, data sets and run folders known here."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli._common import (
    PROG,
    Command,
)
from benchmarks.core.errors import UserError


class List(Command):
    name = "list"
    help = "list what the suite knows: data sets, models, strategies, runs"
    epilog = f"examples:\n  {PROG} list models\n  {PROG} list runs --out runs"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "what",
            choices=["datasets", "models", "strategies", "preprocessing", "runs"],
        )
        parser.add_argument(
            "--out", default="runs", metavar="DIR", help="runs folder (default runs)"
        )

    def execute(self, args: argparse.Namespace) -> int:
        if args.what == "datasets":
            from benchmarks.data.datasets import INFO

            for info in INFO.values():
                classes = (
                    f"{len(info.classes)} classes" if info.classes else "any classes"
                )
                print(
                    f"{info.name:<14}{classes:<14}melanoma class: {info.melanoma_class}"
                )
                print(f"{'':<14}{info.description}")
        elif args.what == "models":
            from benchmarks.grid.families import installed

            families = installed()
            width = max(map(len, families)) + 2
            for name, family in families.items():
                shown = "" if family.default else " (not in 'run all')"
                print(f"{name:<{width}}{family.description}{shown}")
        elif args.what == "strategies":
            from benchmarks.grid.strategies import installed

            for name, strategy in installed().items():
                print(f"{name:<16}{strategy.description}")
            print(
                f"{'imblearn:NAME':<16}any imbalanced-learn sampler by class name, "
                "such as imblearn:ADASYN or imblearn:SMOTEENN"
            )
        elif args.what == "preprocessing":
            from benchmarks.data.preprocessing import installed

            for name, entry in installed().items():
                print(f"{name:<16}{entry.description}")
        else:
            self._runs(Path(args.out))
        return 0

    @staticmethod
    def _runs(out: Path) -> None:
        from benchmarks.grid.store import CONFIG

        found = sorted(out.glob(f"*/{CONFIG}")) if out.is_dir() else []
        if not found:
            print(f"no runs in {out}")
            return
        print(
            f"{'run':<20}{'date (UTC)':<18}{'data':<16}{'profile':<9}"
            f"{'trials':>9}  {'best (mean mel sens@80% spec)':<32}models"
        )
        for path in found:
            print(_run_line(path.parent))


def _run_line(run_dir: Path) -> str:
    """One line of 'list runs': when, on what, how far, and the best so far;
    a folder that cannot be read gets a short line saying so, never a crash."""
    import datetime

    import pandas as pd

    from benchmarks.analysis.leaderboard import (
        RANKING,
        best_configuration,
        leaderboard_of,
    )
    from benchmarks.data.sources import is_synthetic
    from benchmarks.grid.plan import trials
    from benchmarks.grid.store import RunStore

    store = RunStore(run_dir)
    try:
        info = store.info()
        done = store.done()
        written = [store.path("config.json"), *store.trials_dir.glob("*.json")]
        stamp = max(path.stat().st_mtime for path in written)
    except UserError:
        return f"{run_dir.name:<20}unreadable run folder: its config.json is damaged"
    except OSError as error:
        return f"{run_dir.name:<20}unreadable run folder: {error.strerror or error}"
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
    try:
        board = leaderboard_of(store)
        if board.empty:
            best = "-"
        else:
            row = board[board["best"]].iloc[0]
            figure = row[f"{RANKING[0]}_mean"]
            shown = "-" if pd.isna(figure) else f"{figure:.3f}"
            best = f"{best_configuration(board)} {shown}"
    except UserError:
        best = "damaged trial (see 'verify')"
    return (
        f"{info.run_id:<20}{date:%Y-%m-%d %H:%M}  {data[:15]:<16}"
        f"{info.profile.name:<9}{f'{len(done)}/{total}':>9}  {best:<32}{models}"
    )
