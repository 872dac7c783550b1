"""How many cores a model may use, and worker processes that end with their
parent: the one way the suite spreads per-image work over the cores."""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

# Sleeping OpenMP waiters: see benchmarks/__init__.py (XGBoost crawls otherwise
# when other processes share the cores). Set before xgboost loads libgomp.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def available_cores() -> int:
    """Cores this process may run on (respects taskset / container limits)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


#: Seconds between a worker's looks at its parent.
PARENT_CHECK_SECONDS = 1.0


def exit_with_parent() -> None:
    """In a worker process: exit as soon as the process that started it is gone.

    Why: a run stopped by SIGKILL (or the OOM killer) cannot stop its joblib
    workers, which then held about 450 MB for good. Passed to joblib as the
    workers' ``initializer``; a daemon thread compares the parent id with the
    one the worker started under.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


#: Below this many images, starting worker processes costs more than it saves.
SERIAL_BELOW = 256


@contextmanager
def single_threaded_opencv() -> Iterator[None]:
    """OpenCV on one thread for the block.

    Why: each worker of ``map_chunks`` already has a core of its own; OpenCV's
    own threads would only contend with the other workers for the same cores.
    """
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)


def map_chunks(
    function: Callable[..., T],
    arrays: Sequence[Sequence],
    *,
    n_jobs: int | None,
    extra: tuple = (),
    max_chunk: int | None = None,
    serial_below: int = 0,
) -> list[T]:
    """``function(*chunks, *extra)`` over consecutive chunks of ``arrays`` (cut
    alike), in ``n_jobs`` worker processes (None: every core), results in
    order; in this process with fewer than ``serial_below`` items, one job or
    one chunk. Workers end with their parent (``exit_with_parent``)."""
    from joblib import Parallel, delayed, effective_n_jobs

    length = len(arrays[0])
    if length < serial_below:
        n_jobs = 1
    else:
        n_jobs = effective_n_jobs(-1 if n_jobs is None else n_jobs)
    chunk = max(1, math.ceil(length / n_jobs))
    if max_chunk is not None:
        chunk = min(chunk, max_chunk)
    starts = range(0, length, chunk)
    if n_jobs == 1 or len(starts) <= 1:
        return [function(*arrays, *extra)]
    return Parallel(n_jobs=n_jobs, backend="loky", initializer=exit_with_parent)(
        delayed(function)(*(array[start : start + chunk] for array in arrays), *extra)
        for start in starts
    )
