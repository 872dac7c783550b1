"""``data``: the known data sets and how to fetch them."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli._common import (
    PROG,
    Command,
)
from benchmarks.core.errors import UserError


class Data(Command):
    name = "data"
    help = "make data: 'data synth' writes the synthetic set as image folders"
    epilog = f"example:\n  {PROG} data synth --out synthetic-lesions --seed 1"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from benchmarks.data.datasets import SHORTCUTS

        parser.add_argument("action", choices=["synth"])
        parser.add_argument("--out", required=True, metavar="DIR", help="a new folder")
        parser.add_argument("--seed", type=int, default=0, help="(default 0)")
        parser.add_argument(
            "--size", type=int, default=128, help="image side in pixels (default 128)"
        )
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="multiply the default class counts (imbalanced like isic9)",
        )
        parser.add_argument("--no-hair", action="store_true", help="draw no hairs")
        parser.add_argument(
            "--shortcut",
            choices=list(SHORTCUTS),
            help="tie an acquisition cue to melanoma (a colour cast or dark "
            "corners), to see the shortcut audit find it",
        )

    def execute(self, args: argparse.Namespace) -> int:
        from benchmarks.data.datasets import (
            DEFAULT_TEST_COUNTS,
            DEFAULT_TRAIN_COUNTS,
            write_synthetic,
        )

        if args.scale <= 0:
            raise UserError(f"--scale {args.scale}: choose a number above 0")
        if not 32 <= args.size <= 1024:
            raise UserError(f"--size {args.size}: choose from 32 to 1024 pixels")

        def scaled(counts: dict[str, int]) -> dict[str, int]:
            return {name: max(1, round(n * args.scale)) for name, n in counts.items()}

        out = write_synthetic(
            Path(args.out),
            train_counts=scaled(DEFAULT_TRAIN_COUNTS),
            test_counts=scaled(DEFAULT_TEST_COUNTS),
            size=args.size,
            hair=not args.no_hair,
            seed=args.seed,
            shortcut=args.shortcut,
        )
        total = sum(scaled(DEFAULT_TRAIN_COUNTS).values()) + sum(
            scaled(DEFAULT_TEST_COUNTS).values()
        )
        print(f"wrote {total} synthetic images (and their masks) to {out}")
        return 0
