"""melanoma-bench: compare CNNs and handcrafted features on dermoscopic images."""

import os

__version__ = "0.1.0"

# OpenMP threads spin while they wait by default. When other processes share the
# cores (parallel trials, a test suite, CI), XGBoost then crawls: one fit took
# 288 s instead of 7.7 s here. Sleeping waiters cost little on an idle machine.
# Set before any library loads OpenMP; models/machine.py does the same.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
