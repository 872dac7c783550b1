"""How long ``audit --data isic9`` takes as a user runs it (a new process):
first with an empty cache, then again on unchanged data, which must read back
what the first computed (run with --benchmark-enable)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from models import available_cores
from tests.conftest import ISIC9, requires_isic9

#: Seconds an audit of isic9 may take on 2 cores: the first (hashing, decoding,
#: segmenting, fitting the shortcut probes) and a second of unchanged data.
COLD_BUDGET = 20.0
WARM_BUDGET = 5.0

pytestmark = [pytest.mark.slow, pytest.mark.isic9, requires_isic9]


def _audit(cache) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "benchmarks", "audit", "--data", str(ISIC9)]
    return subprocess.run(
        [*command, "--cache", str(cache)], capture_output=True, text=True, timeout=600
    )


@pytest.mark.benchmark(group="audit")
def test_audit_isic9_cold_then_warm(benchmark, tmp_path):
    cache = tmp_path / "cache"
    started = time.perf_counter()
    first = _audit(cache)
    cold = time.perf_counter() - started
    assert first.returncode == 0, first.stderr
    assert list(cache.glob("shortcuts-*.json"))

    started = time.perf_counter()
    again = benchmark.pedantic(_audit, args=(cache,), rounds=1, iterations=1)
    warm = time.perf_counter() - started
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    benchmark.extra_info.update(
        cold_seconds=cold, warm_seconds=warm, cores=available_cores()
    )
    print(f"\naudit isic9: cold {cold:.1f} s, warm {warm:.1f} s")
    assert warm < cold / 2
    assert cold <= COLD_BUDGET
    assert warm <= WARM_BUDGET
