"""How good the run's time estimates are: the ETA shown as trials finish, and
``run --dry-run``'s estimate against the wall time of the same command (run
with --benchmark-enable; each runs the grid once, a few minutes on 2 cores).

Why not ``run all``: its 100 trials take about 40 minutes on the 2-core
development machine; MODELS x STRATEGIES has the same stages (trees, a network,
a family reading the network's embeddings) in a quarter of the trials. Both
start from an empty cache. The ETA starts from the priors (no timing history),
so it measures what a run learns from its own trials; the dry run reads a copy
of this machine's timing history from the user's cache where there is one, as
``run --dry-run`` does.
"""

from __future__ import annotations

import math
import re
import shutil
import time
from pathlib import Path

import platformdirs
import pytest

from benchmarks import estimate, runner
from benchmarks.cli import main
from benchmarks.config import RunConfig

MODELS = ("xgb", "cnn", "hybrid")
STRATEGIES = ("none", "class_weight")
#: The ETA after this share of the trials must be within TOLERANCE of the
#: time the rest of the grid then took.
CHECKPOINT, TOLERANCE = 1 / 3, 0.30

pytestmark = pytest.mark.slow


def seconds_of(text: str) -> float:
    """A progress.minutes() figure ('4m05s', '1h22m') in seconds."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    if not match or not text:
        raise ValueError(f"{text!r}: not a duration")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return 3600 * hours + 60 * minutes + seconds


@pytest.mark.benchmark(group="estimate")
def test_eta_after_a_third_of_the_trials(benchmark, tmp_path):
    config = RunConfig(data=("synthetic",), models=MODELS, strategies=STRATEGIES)
    shown: list[tuple[float, float]] = []  # (when, ETA shown) per finished trial

    def write(line: str) -> None:
        match = re.search(r", ETA (\S+)$", line)
        if line.startswith("trial ") and match:
            shown.append((time.perf_counter(), seconds_of(match.group(1))))

    def run_grid() -> None:
        shown.clear()
        runner.run(config, tmp_path / f"runs-{time.time_ns()}", write=write)

    benchmark.pedantic(run_grid, rounds=1, iterations=1)
    end = shown[-1][0]
    errors = [
        (eta - (end - when)) / (end - when) for when, eta in shown[:-1] if end > when
    ]
    checkpoint = math.ceil(CHECKPOINT * len(shown))
    error = errors[checkpoint - 1]
    benchmark.extra_info.update(
        trials=len(shown),
        checkpoint_trial=checkpoint,
        eta_error_at_checkpoint=error,
        eta_shown=[eta for _, eta in shown],
        actual_remaining=[end - when for when, _ in shown],
        eta_errors=errors,
    )
    print(
        f"\nETA error after trial {checkpoint}/{len(shown)}: {error:+.0%}; "
        "per trial: " + ", ".join(f"{value:+.0%}" for value in errors)
    )
    assert abs(error) <= TOLERANCE


@pytest.mark.benchmark(group="estimate")
def test_dry_run_estimate_against_the_wall_time(benchmark, tmp_path, capsys):
    argv = [
        "run",
        ",".join(MODELS),
        "--strategies",
        ",".join(STRATEGIES),
        "--out",
        str(tmp_path / "runs"),
    ]
    # This machine's timings, copied into the test's private cache.
    own = Path(platformdirs.user_cache_dir("melanoma-bench")) / estimate.HISTORY_FILE
    if own.is_file():
        shutil.copy(own, estimate.history_path())
    history = len(estimate.read_history())
    assert main([*argv, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    match = re.search(r"estimated wall time: (\S+) for (\d+) trials", printed)
    assert match, printed
    estimated = seconds_of(match.group(1))
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())

    started = time.perf_counter()
    code = benchmark.pedantic(main, args=(argv,), rounds=1, iterations=1)
    wall = time.perf_counter() - started
    assert code == 0
    error = (estimated - wall) / wall
    benchmark.extra_info.update(
        trials=int(match.group(2)),
        estimated_seconds=estimated,
        wall_seconds=wall,
        estimate_error=error,
        history_entries=history,
    )
    print(
        f"\ndry-run estimate {estimated:.0f} s, wall {wall:.0f} s: {error:+.0%} "
        f"({history} timings in the history)"
    )
