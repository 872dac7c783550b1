"""How many cores a model may use."""

from __future__ import annotations

import os

# Sleeping OpenMP waiters: see benchmarks/__init__.py (XGBoost crawls otherwise
# when other processes share the cores). Set before xgboost loads libgomp.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def available_cores() -> int:
    """Cores this process may run on (respects taskset / container limits)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
