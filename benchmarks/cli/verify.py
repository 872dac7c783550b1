"""``verify``: damaged run-folder records and cache entries, named."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli._common import (
    PROG,
    Command,
    add_cache_argument,
)
from benchmarks.core.errors import UserError


class Verify(Command):
    name = "verify"
    help = "check a run folder's records and the cache's entries; name the damaged"
    epilog = (
        f"example:\n  {PROG} verify runs/quick-0123456789ab\n\n"
        "Changes nothing. Exit 0 when every part reads back whole, 1 when some "
        "do not: run the grid's command again to set damaged trials aside and "
        "compute them anew (and rewrite a damaged manifest or audit); a damaged "
        "cache entry is rebuilt the next time it is needed."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("run_dir", metavar="RUN_DIR", help="a folder made by run")
        add_cache_argument(parser)

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.grid.verify import cache_problems, run_folder_problems

        if not Path(args.run_dir).is_dir():
            raise UserError(f"{args.run_dir}: no such folder; pass a run folder")
        run_folder = run_folder_problems(args.run_dir)
        cache = cache_problems(args.cache)
        for line in run_folder + cache:
            print(line)
        print(
            f"{len(run_folder)} damaged in the run folder (run the grid's command "
            f"again to redo them), {len(cache)} damaged cache entries (rebuilt when "
            "next needed)"
        )
        return 1 if run_folder or cache else 0
