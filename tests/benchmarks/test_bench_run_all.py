"""The command a newcomer runs first, ``python -m benchmarks run all`` with
default flags on the synthetic set, timed from an empty cache; and how close
``run --dry-run`` came to that wall time, before the run (a fresh machine: no
timing history, the priors alone) and after it (the run's own timings).

The test's cache, timing history included, is its own empty folder (see
tests/conftest.py): its verdict does not depend on what ran here before.
Run with --benchmark-enable; about 2-4 minutes on 2 cores.
"""

from __future__ import annotations

import re
import time

import pytest

from benchmarks.cli import main
from benchmarks.grid import estimate
from benchmarks.grid.executors import JOBS_VARIABLE, default_jobs
from models import available_cores
from tests.benchmarks.test_bench_eta import seconds_of

#: The priors' estimate (no history) must be within this share of the wall time,
#: and the estimate from the run's own timings within HISTORY_TOLERANCE.
PRIOR_TOLERANCE = 0.50
HISTORY_TOLERANCE = 0.30

pytestmark = pytest.mark.slow


@pytest.mark.benchmark(group="run-all")
def test_run_all_with_default_flags(benchmark, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(JOBS_VARIABLE)
    runs = tmp_path / "runs"
    assert estimate.read_history() == []
    estimated, trials, printed = _dry_run(runs, capsys)
    assert "from priors" in printed

    started = time.perf_counter()
    code = benchmark.pedantic(
        main, args=(["run", "all", "--out", str(runs)],), rounds=1, iterations=1
    )
    wall = time.perf_counter() - started
    assert code == 0
    (run_dir,) = runs.iterdir()
    assert (run_dir / "report.html").is_file()
    error = (estimated - wall) / wall
    # The same grid on a machine that has timed it: a rerun's estimate against
    # this run's wall time (a rerun would resume, so the dry run gets a new --out).
    history = len(estimate.read_history())
    again, _, printed = _dry_run(tmp_path / "again", capsys)
    assert "calibrated by timings" in printed
    error_again = (again - wall) / wall
    benchmark.extra_info.update(
        trials=trials,
        jobs=default_jobs(),
        cores=available_cores(),
        wall_seconds=wall,
        estimated_seconds=estimated,
        estimate_error=error,
        estimated_with_history_seconds=again,
        estimate_with_history_error=error_again,
        history_entries=history,
    )
    print(
        f"\nrun all, default flags ({default_jobs()} jobs on {available_cores()} "
        f"cores): {wall:.0f} s; dry-run estimate from priors {estimated:.0f} s "
        f"({error:+.0%}), from the run's {history} timings {again:.0f} s "
        f"({error_again:+.0%})"
    )
    assert abs(error) <= PRIOR_TOLERANCE
    assert abs(error_again) <= HISTORY_TOLERANCE


def _dry_run(runs, capsys) -> tuple[float, int, str]:
    """``run all --dry-run``'s estimated seconds, trials and text."""
    assert main(["run", "all", "--out", str(runs), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    match = re.search(r"estimated wall time: (\S+) for (\d+) trials", printed)
    assert match, printed
    return seconds_of(match.group(1)), int(match.group(2)), printed
