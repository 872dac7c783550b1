"""``verify``: which records of a run folder and which cache entries are
damaged, without changing any of them.

Why: after a crash, a full disk or a copy between machines, a user should be
able to ask whether a run folder still holds what its report says, and learn
what the next run would set aside or rebuild.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.core.cache import cache_dir, intact
from benchmarks.core.errors import UserError
from benchmarks.grid.store import RunStore


def run_folder_problems(run_dir: str | Path) -> list[str]:
    """One line per damaged or missing part of a run folder."""
    store = RunStore(run_dir)
    problems = []
    for check in (store.info, store.audit, store.manifest):
        try:
            check()
        except UserError as error:
            problems.append(str(error).split("; ")[0])
    problems.extend(store.damaged_trials().values())
    arrays = sorted(store.run_dir.glob("features*.npy"))
    arrays += sorted(store.run_dir.glob("external/*/features*.npy"))
    for path in arrays:
        try:
            np.load(path, mmap_mode="r")
        except (OSError, ValueError) as error:
            problems.append(f"{path}: damaged ({error})")
    return problems


#: The cache's entries kept with a digest beside them: decoded images, feature
#: tables, the lesion-mask audit's and the shortcut probes' figures.
DIGESTED_ENTRIES = (
    "images-*.npy",
    "features-*.parquet",
    "masks-*.json",
    "shortcuts-*.json",
)


def cache_problems(cache: str | Path | None = None) -> list[str]:
    """One line per cache entry whose digest is missing or does not match."""
    folder = cache_dir(cache)
    entries = [
        path for pattern in DIGESTED_ENTRIES for path in sorted(folder.glob(pattern))
    ]
    return [
        f"{path}: damaged or without its digest" for path in entries if not intact(path)
    ]
