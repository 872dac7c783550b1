"""What every command shares: its base class and the data, cache and plug-in options."""

from __future__ import annotations

import argparse
import logging
import sys

from benchmarks.core.errors import UserError
from benchmarks.core.outputs import writable_folder

logger = logging.getLogger("benchmarks")


PROG = "python -m benchmarks"


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data",
        action="append",
        metavar="[NAME=]PATH",
        help="a folder of class sub-folders (optionally under Train/ and Test/), "
        "a metadata .csv, or 'synthetic' (default: the embedded synthetic set); "
        "repeat it to combine sources, each image keeping its source's NAME "
        "(default: the folder's name)",
    )
    group.add_argument(
        "--images", metavar="DIR", help="image folder of a .csv (default: its folder)"
    )
    group.add_argument("--id-column", metavar="NAME", help="CSV image id column")
    group.add_argument("--label-column", metavar="NAME", help="CSV label column")
    group.add_argument("--group-column", metavar="NAME", help="CSV lesion id column")
    group.add_argument(
        "--strict",
        action="store_true",
        help="treat an unreadable image as an error instead of skipping it",
    )
    add_cache_argument(group)


def add_cache_argument(parser: argparse._ActionsContainer) -> None:
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help="cache folder for decoded images and hashes "
        "(default: $MELANOMA_BENCH_CACHE or the user cache folder)",
    )


def add_plugin_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE:FACTORY",
        help="a plug-in family the folder was made with that is not installed; "
        "naming it runs its code (a folder's own list is never imported)",
    )


def allow_plugins(names: list[str]) -> None:
    """Let the plug-ins named with --plugin be imported (and run)."""
    from benchmarks.core.plugins import allow, is_path

    for name in names:
        if not is_path(name):
            raise UserError(
                f"--plugin {name}: write MODULE:FACTORY, such as "
                "examples.logistic_regression:family"
            )
    allow(names)


def data(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(args.data or ["synthetic"])


def check_cache(cache: str | None) -> None:
    """The cache folder can be written, before any work (--cache, else the
    environment's or the user's)."""
    import os

    from benchmarks.core.cache import CACHE_ENV

    chosen = cache or os.environ.get(CACHE_ENV)
    if chosen:
        writable_folder(chosen, "--cache" if cache else CACHE_ENV)


def load(args: argparse.Namespace):
    from benchmarks.data.sources import is_synthetic, load_sources

    if is_synthetic(data(args)):
        logger.warning(
            "data: the embedded SYNTHETIC set (pass --data PATH for real data)"
        )
    return load_sources(
        data(args),
        images=args.images,
        id_column=args.id_column,
        label_column=args.label_column,
        group_column=args.group_column,
        cache=args.cache,
    )


class Command:
    """One subcommand: registers its arguments and runs from parsed arguments."""

    name: str
    help: str
    epilog: str = ""

    def register(
        self, subparsers: argparse._SubParsersAction, *, arguments: bool = True
    ) -> None:
        """Add the subcommand; ``arguments=False`` leaves its options out (they
        import what the command needs, which '--help' alone must not wait for)."""
        parser = subparsers.add_parser(
            self.name,
            help=self.help,
            description=self.help,
            epilog=self.epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if arguments:
            self.add_arguments(parser)
        parser.set_defaults(command=self)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Subcommands with options override this."""

    def execute(self, args: argparse.Namespace) -> int:
        raise NotImplementedError


def listed(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def progress_line(line: str) -> None:
    print(line, file=sys.stderr)
