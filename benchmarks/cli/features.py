"""``features``: the handcrafted feature table of a data set."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli._common import (
    PROG,
    Command,
    add_data_arguments,
    check_cache,
    load,
)
from benchmarks.core.errors import UserError
from benchmarks.core.outputs import writable_file
from benchmarks.grid.progress import activity


class Features(Command):
    name = "features"
    help = "export the handcrafted ABCD/colour/texture feature table as Parquet"
    epilog = (
        f"example:\n  {PROG} features --data ../shared/data/isic9 --out isic9.parquet"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from benchmarks.data.feature_cache import FEATURE_SIZE

        add_data_arguments(parser)
        parser.add_argument("--out", required=True, metavar="FILE.parquet")
        parser.add_argument(
            "--size",
            type=int,
            default=FEATURE_SIZE,
            help=f"image side the features are computed at (default {FEATURE_SIZE})",
        )

    def execute(self, args: argparse.Namespace) -> int:
        import pandas as pd

        from benchmarks.core.cache import atomic_write
        from benchmarks.data.datasets import drop_unreadable, relative_path
        from benchmarks.data.feature_cache import load_features

        out = Path(args.out)
        if out.suffix.lower() != ".parquet":
            raise UserError(f"--out {out}: name a .parquet file")
        if not 32 <= args.size <= 1024:
            raise UserError(f"--size {args.size}: choose from 32 to 1024 pixels")
        writable_file(out, "--out")
        if out.is_file() and not _is_parquet(out):
            raise UserError(
                f"--out {out}: exists and is not a Parquet file; nothing was "
                "changed, name another file"
            )
        check_cache(args.cache)
        manifest = drop_unreadable(load(args), strict=args.strict)
        with activity(f"features of {len(manifest)} images"):
            table = load_features(manifest, size=args.size, cache=args.cache)
        identity = pd.DataFrame(
            {
                "file": [relative_path(path, manifest) for path in manifest["path"]],
                "label": manifest["label"],
                "split": manifest["split"],
                "sha256": manifest["sha256"],
            }
        )
        described = pd.concat([identity, table], axis=1)
        atomic_write(out, lambda stream: described.to_parquet(stream, index=False))
        print(f"wrote {len(table)} rows x {table.shape[1]} features to {out}")
        return 0


def _is_parquet(path: Path) -> bool:
    """Whether ``path`` starts and ends with Parquet's magic bytes: an earlier
    table may be replaced, a user's other file never."""
    with path.open("rb") as stream:
        head = stream.read(4)
        stream.seek(0, 2)
        if stream.tell() < 8:
            return False
        stream.seek(-4, 2)
        return head == b"PAR1" and stream.read(4) == b"PAR1"
