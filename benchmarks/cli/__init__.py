"""The command line: ``python -m benchmarks`` (also installed as ``melanoma-bench``)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from benchmarks import __version__
from benchmarks.cli._common import PROG, Command
from benchmarks.cli.audit import Audit
from benchmarks.cli.compare import Compare
from benchmarks.cli.data import Data
from benchmarks.cli.export import Export
from benchmarks.cli.features import Features
from benchmarks.cli.listing import List
from benchmarks.cli.report import Report
from benchmarks.cli.run import Run
from benchmarks.cli.segment import Segment
from benchmarks.cli.train import Train
from benchmarks.cli.triage import Triage
from benchmarks.cli.verify import Verify
from benchmarks.core.errors import UserError
from benchmarks.grid.progress import quiet_libraries

COMMANDS: tuple[Command, ...] = (
    Run(),
    Audit(),
    Features(),
    Segment(),
    Report(),
    Compare(),
    Verify(),
    Export(),
    Train(),
    Triage(),
    List(),
    Data(),
)


def _named_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not an option (the
    top-level options take no value)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def make_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given ``argv``, only the subcommand it names gets its
    options.

    Why: a command's options are built from the modules that run it, and
    '--help' or 'run --help' should answer at once rather than import every
    command's libraries first.
    """
    wanted = None if argv is None else _named_command(argv)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Benchmarks for melanoma detection in dermoscopic images: a CNN "
        "and handcrafted ABCD features under the same folds, strategies and metrics.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show progress details and the libraries' own log lines (TensorFlow's)",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers, arguments=argv is None or command.name == wanted)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, as Ctrl-C raises KeyboardInterrupt."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (kill, a scheduler's stop) unwinds the command as Ctrl-C does:
    locks released, worker processes stopped, one line; the previous handler
    is back afterwards. Only the main thread may set a handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:

    words = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser(words)
    args = parser.parse_args(words)
    # Before any command imports TensorFlow (its C++ log level is read once),
    # and before logging picks the stderr it writes to.
    quiet_libraries(verbose=args.verbose)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="melanoma-bench: %(message)s",
    )
    if not hasattr(args, "command"):
        parser.print_help(sys.stderr)
        return 2
    try:
        with _sigterm_as_interrupt():
            return args.command.execute(args)
    except UserError as error:
        print(f"melanoma-bench: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        # A file system refusal the checks above did not foresee (a disk
        # filled, a folder removed mid-run): one line, not a traceback.
        where = f"{error.filename}: " if error.filename else ""
        reason = error.strerror or str(error)
        print(
            f"melanoma-bench: error: {where}{reason}; check the path, its "
            "permissions and the free space",
            file=sys.stderr,
        )
        return 2
    except Terminated:
        print("melanoma-bench: terminated (SIGTERM)", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("melanoma-bench: interrupted", file=sys.stderr)
        return 130
