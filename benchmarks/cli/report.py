"""``report``: a run folder's HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli._common import (
    PROG,
    Command,
)
from benchmarks.core.errors import UserError
from benchmarks.core.outputs import writable_folder


class Report(Command):
    name = "report"
    help = "write the HTML comparison report of a run"
    epilog = (
        f"example:\n  {PROG} report runs/full-0123456789ab\n\n"
        "Writes RUN_DIR/report.html (one self-contained file), leaderboard.csv "
        "and metrics.json."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("run_dir", metavar="RUN_DIR", help="a folder made by run")

    def execute(self, args: argparse.Namespace) -> int:
        from reports import write_report

        if not Path(args.run_dir).is_dir():
            raise UserError(f"{args.run_dir}: no such folder; pass a run folder")
        writable_folder(args.run_dir, "RUN_DIR")
        print(f"wrote {write_report(args.run_dir)}")
        return 0
