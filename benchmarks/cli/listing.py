"""``list``: the families, strategies, data sets and run folders known here."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli._common import (
    PROG,
    Command,
)


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
        from benchmarks.analysis.runs import run_lines
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
            print("\n".join(run_lines(path.parent)))
