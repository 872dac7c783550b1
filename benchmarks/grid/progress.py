"""What long work shows while it runs: a live bar on a terminal, plain lines elsewhere.

Also where the libraries' own chatter (TensorFlow's C++ and Python logs) is
turned down, since it would otherwise bury the progress a user waits for.
Nothing here imports rich or TensorFlow at module level: the command line
imports this module before it parses its arguments.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.grid.configuration import Trial
    from benchmarks.grid.estimate import Estimate

#: Set by ``quiet_libraries`` for the processes it starts ("1" quiet, "0" verbose),
#: so worker processes of --jobs and Dask follow the command's --verbose.
QUIET_ENV = "MELANOMA_BENCH_QUIET"
#: Python loggers of the libraries whose warnings are noise to a user of the
#: suite (retracing warnings, absl notices); errors still show.
LIBRARY_LOGGERS = ("tensorflow", "absl", "keras", "h5py")

Write = Callable[[str], None]


def quiet_libraries(*, verbose: bool) -> None:
    """TensorFlow's C++ log lines (cuInit, oneDNN, CPU feature notices) and its
    Python warnings hidden unless ``verbose``.

    Must run before TensorFlow is imported: its C++ side reads
    TF_CPP_MIN_LOG_LEVEL once. A level the user set themselves is kept.
    """
    os.environ[QUIET_ENV] = "0" if verbose else "1"
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # The absl C++ logger of XLA, and gRPC's, read these.
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    _quiet_python_loggers()
    filter_native_stderr()


#: A native (C++) log line of TensorFlow, XLA or absl: glog style
#: "I0000 00:00:1796054964.909619   20002 port.cc:153] ..." (seconds since
#: the epoch where glog has the time of day) or the older
#: "2025-09-17 14:44:05.157831: I external/...". Fatal ones (F) still show.
NATIVE_LOG_LINE = re.compile(
    rb"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ \]]+:\d+\]"
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|To enable the following instructions: .*rebuild TensorFlow)"
)
_native_filter: tuple[int, threading.Thread] | None = None
#: How long the exiting process lets the filter pass on what is left in the pipe.
DRAIN_SECONDS = 0.25


def filter_native_stderr() -> bool:
    """Drop TensorFlow's native log lines from this process's stderr (and its
    child processes'), passing every other line through.

    Why a filter on file descriptor 2: TensorFlow 2.19 and later log through
    absl before absl is initialised, and those lines go straight to stderr
    whatever TF_CPP_MIN_LOG_LEVEL says (tensorflow/tensorflow#100442). Python's
    own writes (``sys.stderr``) keep going to the terminal directly. Only done
    when ``sys.stderr`` is the process's real stderr (not under a test's
    capture); returns whether it was installed.
    """
    global _native_filter
    if _native_filter is not None:
        return True
    if sys.stderr is not sys.__stderr__ or sys.stderr is None:
        return False
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
        read_end, write_end = os.pipe()
    except (OSError, ValueError):
        return False
    # Python's writes: to the real stderr, unfiltered (terminal detection intact).
    sys.stderr = os.fdopen(
        terminal,
        "w",
        buffering=1,
        encoding=sys.__stderr__.encoding,
        errors="backslashreplace",
        closefd=False,
    )
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                if not NATIVE_LOG_LINE.match(line):
                    os.write(terminal, line)

    thread = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    thread.start()
    _native_filter = (terminal, thread)
    atexit.register(_stop_native_filter)
    return True


def _stop_native_filter() -> None:
    """Put the real stderr back on descriptor 2 and let the filter drain."""
    global _native_filter
    if _native_filter is None:
        return
    terminal, thread = _native_filter
    _native_filter = None
    os.dup2(terminal, 2)  # closes the pipe's last write end held here
    # Idle worker processes (joblib's reusable pool) still hold a write end, so
    # the pipe may never end: this process's own lines drain in far less.
    thread.join(timeout=DRAIN_SECONDS)


def _quiet_python_loggers() -> None:
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    absl = sys.modules.get("absl.logging")
    if absl is not None:
        absl.set_verbosity(absl.ERROR)


def quiet_worker() -> None:
    """In a worker process: the quiet the command asked for (QUIET_ENV).

    Environment variables and the stderr filter (descriptor 2) reach --jobs
    workers on their own; logger levels do not, and a Dask worker started
    elsewhere has none of them.
    """
    if os.environ.get(QUIET_ENV, "1") != "1":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _quiet_python_loggers()


def is_terminal(stream: Any = None) -> bool:
    """Whether progress may redraw a line (stderr is an interactive terminal)."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def minutes(seconds: float) -> str:
    whole = max(0, round(seconds))
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 60}m{whole % 60:02d}s"


def _console():
    from rich.console import Console

    return Console(stderr=True)


@contextlib.contextmanager
def activity(what: str, *, live: bool | None = None) -> Iterator[None]:
    """A spinner with the elapsed time while ``what`` runs (audit, features,
    image decoding), on a terminal; nothing elsewhere."""
    if not (is_terminal() if live is None else live):
        yield
        return
    console = _console()
    started = time.perf_counter()
    with console.status(f"{what} ...", spinner="dots") as status:
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(1.0):
                status.update(f"{what} ... {minutes(time.perf_counter() - started)}")

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join()


@contextlib.contextmanager
def status_lines(write: Write | None = None) -> Iterator[Write]:
    """A ``write`` for progress lines (triage's, train's): on a terminal each line
    replaces the last one in place; elsewhere each goes to ``write`` (default
    stderr)."""
    plain = write or (lambda line: print(line, file=sys.stderr))
    if write is not None or not is_terminal():
        yield plain
        return
    console = _console()
    with console.status("", spinner="dots") as status:
        yield status.update


class GridProgress:
    """The grid's progress: trials done / total, the trial(s) running, an ETA.

    The ETA comes from ``estimate`` (benchmarks.grid.estimate): its cost model at the
    start, blended with the wall times of the trials that finish. Each finished
    trial also gives one 'trial k/n KEY: ...' line (``write``); with ``live``
    those lines scroll above a bar that counts down while a trial runs.
    """

    def __init__(
        self,
        todo: list[Trial],
        total: int,
        estimate: Estimate,
        write: Write,
        *,
        jobs: int = 1,
        live: bool = False,
    ) -> None:
        self.remaining = list(todo)
        self.total = total
        self.done = total - len(todo)
        self.estimate = estimate
        self.write = write
        self.jobs = max(1, jobs)
        self.live = live
        self.started = time.perf_counter()
        self._running_since = self.started
        #: ETA shown after each finished trial: (trials done, seconds since the
        #: start, ETA in seconds or None); the benchmarks read it.
        self.history: list[tuple[int, float, float | None]] = []
        self._progress: Any = None
        self._task: Any = None

    # -- the figures --------------------------------------------------------
    def running(self) -> list[Trial]:
        """The trials most likely running now: the next ``jobs`` in grid order."""
        return self.remaining[: self.jobs]

    def eta(self) -> float | None:
        """Seconds left: the estimate of the trials not done, less the time the
        running ones have already spent."""
        if not self.remaining:
            return 0.0
        in_flight = time.perf_counter() - self._running_since
        return self.estimate.remaining(self.remaining, in_flight, jobs=self.jobs)

    # -- events -------------------------------------------------------------
    def finished(self, trial: Trial, outcome: Any) -> None:
        from benchmarks.grid.store import TrialFailure

        self.done += 1
        if trial in self.remaining:
            self.remaining.remove(trial)
        if isinstance(outcome, TrialFailure):
            what = f"FAILED ({outcome.error})"
        else:
            record = outcome.record
            wall = record.timings.wall_seconds
            self.estimate.observe(trial, wall)
            figures = record.evaluated
            if figures is None:
                # A final fit of sources without a Test split.
                what = f"scored the external sets in {minutes(wall)}"
            else:
                what = (
                    f"{record.evaluated_on} balanced accuracy "
                    f"{figures['balanced_accuracy']:.3f} in {minutes(wall)}"
                )
        self._running_since = time.perf_counter()
        eta = self.eta()
        elapsed = time.perf_counter() - self.started
        self.history.append((self.done, elapsed, eta))
        line = (
            f"trial {self.done}/{self.total} {trial.key}: {what} | elapsed "
            f"{minutes(elapsed)}" + ("" if eta is None else f", ETA {minutes(eta)}")
        )
        if self._progress is not None:
            self._progress.console.print(line, highlight=False, markup=False)
            self._progress.update(self._task, completed=self.done)
        else:
            self.write(line)

    # -- the live bar -------------------------------------------------------
    def __enter__(self) -> GridProgress:
        if self.live and self.remaining:
            self._start_live()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _start_live(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.text import Text

        owner = self

        class _Eta(ProgressColumn):
            def render(self, task: Any) -> Text:
                eta = owner.eta()
                return Text("ETA " + ("?" if eta is None else minutes(eta)))

        class _Running(ProgressColumn):
            def render(self, task: Any) -> Text:
                keys = [trial.key for trial in owner.running()]
                return Text(", ".join(keys), overflow="ellipsis", no_wrap=True)

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            _Eta(),
            _Running(),
            console=_console(),
            refresh_per_second=2,
            transient=True,
        )
        self._task = self._progress.add_task("grid", total=self.total)
        self._progress.update(self._task, completed=self.done)
        self._progress.start()
