"""How many cores a model may use, and worker processes that end with their parent."""

from __future__ import annotations

import os
import threading
import time

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
