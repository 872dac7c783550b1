"""How good the ETA shown as trials finish is (run with --benchmark-enable; a
few minutes on 2 cores). ``run --dry-run``'s estimate is measured against
``run all`` in test_bench_run_all.py.

MODELS x STRATEGIES has the stages of ``run all`` (trees, a network, a family
reading the network's embeddings) in a quarter of the trials, from an empty
cache. The ETA starts from the priors (no timing history), so it measures what
a run learns from its own trials.
"""

from __future__ import annotations

import math
import re
import time

import pytest

from benchmarks.grid import runner
from benchmarks.grid.config import RunConfig

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
