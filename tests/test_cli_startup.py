"""The command line starts without the heavy libraries and keeps TensorFlow quiet."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from benchmarks.grid.progress import NATIVE_LOG_LINE

HEAVY = ("tensorflow", "xgboost", "keras", "sklearn", "matplotlib")


def _python(code: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        **kwargs,
    )


@pytest.mark.parametrize(
    "argv", [["--help"], ["run", "--help"], []], ids=["help", "run-help", "bare"]
)
def test_help_imports_no_heavy_library(argv):
    """Not a timed test: what --help imports decides how long it takes (4-7 s
    with TensorFlow, scikit-learn and XGBoost; well under 1 s without)."""
    code = f"""
import json, sys
from benchmarks.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_native_log_lines_are_recognised():
    lines = [
        b"I0000 00:00:1796054964.909619   20002 port.cc:153] oneDNN custom ops",
        b"E0000 00:00:1758131045.203198 3722035 cuda_dnn.cc:8579] Unable to",
        b"W1130 16:11:21.123456  123 cuda_executor.cc:1] failed call to cuInit",
        b"2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/x.cc:32] x",
        b"WARNING: All log messages before absl::InitializeLog() is called are "
        b"written to STDERR",
    ]
    assert all(NATIVE_LOG_LINE.match(line) for line in lines)
    kept = [b"trial 1/3 cnn__none__fold0: ...", b"Traceback (most recent call last):"]
    assert not any(NATIVE_LOG_LINE.match(line) for line in kept)


@pytest.mark.slow
def test_a_cnn_run_prints_no_tensorflow_line(tmp_path):
    """A CNN grid on tiny synthetic data, in a process of its own (the stderr
    filter acts on descriptor 2): stderr holds our lines only."""
    pytest.importorskip("tensorflow")
    from benchmarks.data.datasets import write_synthetic

    counts = {"melanoma": 6, "nevus": 6}
    data = write_synthetic(
        tmp_path / "tiny",
        train_counts=counts,
        test_counts={"melanoma": 2, "nevus": 2},
        size=48,
        hair=False,
        seed=0,
    )
    code = f"""
import sys
from benchmarks.grid.config import PROFILES, Profile
PROFILES["quick"] = Profile(
    name="quick", folds=2, cnn_epochs=1, cnn_min_steps=2, seed_cnn_epochs=1,
    xgb_learning_rate=0.3, xgb_max_rounds=20,
)
from benchmarks.cli import main
sys.exit(main(["run", "cnn", "--strategies", "none", "--data", {str(data)!r},
               "--out", {str(tmp_path / "runs")!r}, "--no-report"]))
"""
    env = {**os.environ, "MELANOMA_BENCH_CACHE": str(tmp_path / "cache")}
    result = _python(code, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith("trial 3/3 ") for line in lines), result.stderr
    noisy = [
        line
        for line in lines
        if NATIVE_LOG_LINE.match(line.encode())
        or any(word in line for word in ("tensorflow", "oneDNN", "cuInit", "absl"))
    ]
    assert noisy == []
