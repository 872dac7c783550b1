"""``compare``: a run against a baseline, or two runs side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli._common import (
    PROG,
    Command,
)
from benchmarks.core.errors import UserError


class Compare(Command):
    name = "compare"
    help = "compare a run with a baseline (regression gate), or two runs"
    epilog = (
        "examples:\n"
        f"  {PROG} compare RUN_DIR --baseline baselines/synthetic-quick.json\n"
        f"  {PROG} compare RUN_DIR --baseline new.json --update\n"
        f"  {PROG} compare runs/quick-0123456789ab runs/quick-ba9876543210\n\n"
        "With --baseline, exit status: 0 nothing worse, 1 something worse, 2 "
        "unusable input.\nTwo runs: each configuration both ran, the change of "
        "each ranking figure (B - A),\npaired over folds when both drew the same "
        "folds from the same data; exit 0."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("run_dir", metavar="RUN_DIR", help="a folder made by run")
        parser.add_argument(
            "other",
            nargs="?",
            metavar="RUN_B",
            help="a second run folder to compare RUN_DIR with (instead of --baseline)",
        )
        parser.add_argument("--baseline", metavar="FILE.json")
        parser.add_argument(
            "--update",
            action="store_true",
            help="write the run's figures as the new baseline (keeps the file's "
            "tolerance) instead of comparing",
        )

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.analysis.compare import (
            absent_text,
            compare,
            compare_runs,
            not_compared,
            not_in_baseline,
            read_baseline,
            runs_to_text,
            to_text,
            write_baseline,
        )
        from benchmarks.grid.store import RunStore

        if (args.other is None) == (args.baseline is None):
            raise UserError(
                "compare: name a second run folder or --baseline FILE.json, one of "
                f"the two, such as '{PROG} compare RUN_A RUN_B'"
            )
        for folder in (args.run_dir, args.other):
            if folder is not None and not Path(folder).is_dir():
                raise UserError(f"{folder}: no such folder; pass a run folder")
        store = RunStore(args.run_dir)
        if args.other is not None:
            if args.update:
                raise UserError("--update: only with --baseline FILE.json")
            print(runs_to_text(compare_runs(store, RunStore(args.other))))
            return 0
        path = Path(args.baseline)
        if args.update:
            write_baseline(store, path)
            print(f"wrote baseline {path} from {store.run_dir}")
            return 0
        baseline = read_baseline(path)
        verdicts = compare(store, baseline)
        print(to_text(verdicts))
        absent = not_compared(store, baseline)
        if absent:
            print(absent_text(store, absent))
        unguarded = not_in_baseline(store, baseline)
        if unguarded:
            print(
                f"not in the baseline: {', '.join(unguarded)} (no figures to compare "
                "with; write them with --update)"
            )
        return 1 if any(verdict.status == "worse" for verdict in verdicts) else 0
