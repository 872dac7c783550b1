"""``segment``: the lesion masks the features use, checked against experts' masks."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli._common import (
    PROG,
    Command,
)
from benchmarks.core.errors import UserError
from benchmarks.core.outputs import writable_folder
from benchmarks.grid.progress import activity


class Segment(Command):
    name = "segment"
    help = (
        "write the lesion masks the features use and, given expert masks, score "
        "them (Jaccard, Dice)"
    )
    epilog = (
        "example:\n"
        f"  {PROG} segment --images ../shared/data/ham10000-dev/images --out masks "
        "\\\n      --truth ../shared/data/ham10000-dev/masks\n\n"
        "Writes OUT/<stem>.png (255 lesion, 0 background, at the image's size) and "
        "OUT/segment.csv;\nexpert masks are <stem>_segmentation.png, "
        "<stem>_lesion.png or <stem>.png, lesion where >= 128."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--images", required=True, metavar="DIR")
        parser.add_argument("--out", required=True, metavar="DIR")
        parser.add_argument("--truth", metavar="DIR", help="expert masks to score")
        parser.add_argument(
            "--jobs", type=int, metavar="N", help="worker processes (default: all)"
        )

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.core.cache import atomic_write
        from benchmarks.data.segment import TABLE, segment_folder, summary

        if args.jobs is not None and args.jobs < 1:
            raise UserError(f"--jobs {args.jobs}: choose 1 or more")
        out = writable_folder(args.out, "--out")
        truth = Path(args.truth) if args.truth else None
        with activity("segmenting"):
            table = segment_folder(Path(args.images), out, truth, n_jobs=args.jobs)
        atomic_write(out / TABLE, lambda stream: table.to_csv(stream, index=False))
        for row in table[table["error"] != ""].itertuples():
            print(f"  unreadable {row.image}: {row.error}")
        if "truth_error" in table:
            unusable = table[table["truth_error"].fillna("") != ""]
            for row in unusable.itertuples():
                print(f"  unusable expert mask {row.truth}: {row.truth_error}")
        print(summary(table))
        print(f"wrote the masks and {TABLE} to {out}")
        return 0
