"""The command a newcomer runs first, ``python -m benchmarks run all`` with
default flags on the synthetic set, timed from an empty cache; and how close
``run --dry-run`` came to that wall time beforehand (run with
--benchmark-enable; about 2-4 minutes on 2 cores).

The dry run reads a copy of this machine's timing history from the user's
cache where there is one, as ``run --dry-run`` does; the run then adds its own.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import platformdirs
import pytest

from benchmarks import estimate
from benchmarks.cli import main
from benchmarks.executors import JOBS_VARIABLE, default_jobs
from models import available_cores
from tests.benchmarks.test_bench_eta import seconds_of

#: --dry-run's estimate must be within this share of the wall time.
TOLERANCE = 0.30

pytestmark = pytest.mark.slow


@pytest.mark.benchmark(group="run-all")
def test_run_all_with_default_flags(benchmark, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(JOBS_VARIABLE)
    runs = tmp_path / "runs"
    own = Path(platformdirs.user_cache_dir("melanoma-bench")) / estimate.HISTORY_FILE
    if own.is_file():
        shutil.copy(own, estimate.history_path())
    history = len(estimate.read_history())
    assert main(["run", "all", "--out", str(runs), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    match = re.search(r"estimated wall time: (\S+) for (\d+) trials", printed)
    assert match, printed
    estimated = seconds_of(match.group(1))

    started = time.perf_counter()
    code = benchmark.pedantic(
        main, args=(["run", "all", "--out", str(runs)],), rounds=1, iterations=1
    )
    wall = time.perf_counter() - started
    assert code == 0
    (run_dir,) = runs.iterdir()
    assert (run_dir / "report.html").is_file()
    error = (estimated - wall) / wall
    benchmark.extra_info.update(
        trials=int(match.group(2)),
        jobs=default_jobs(),
        cores=available_cores(),
        wall_seconds=wall,
        estimated_seconds=estimated,
        estimate_error=error,
        history_entries=history,
    )
    print(
        f"\nrun all, default flags ({default_jobs()} jobs on {available_cores()} "
        f"cores): {wall:.0f} s; dry-run estimate {estimated:.0f} s ({error:+.0%}; "
        f"{history} timings in the history)"
    )
    assert abs(error) <= TOLERANCE
