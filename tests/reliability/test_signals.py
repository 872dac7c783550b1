"""A stopped run leaves nothing running: SIGTERM unwinds it as Ctrl-C does (one
line, exit 128 + 15), a SIGKILLed run's worker processes exit by themselves,
and --jobs bounds every process pool of a run, feature extraction's too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.cli import main
from tests.conftest import SEED, write_class_folders

ROOT = Path(__file__).resolve().parents[2]
#: A family whose fit writes its process id to $SLEEPY_MARKER, then sleeps: a
#: trial that is surely running in a worker when the run is stopped.
PLUGIN = """
import os
import time

from benchmarks.grid.families import FEATURES, Family


class Sleepy:
    def fit(self, X, y, sample_weight=None):
        with open(os.environ["SLEEPY_MARKER"], "a") as stream:
            stream.write(f"{os.getpid()}\\n")
        time.sleep(600)
        return self


def make(context):
    return Sleepy()


def family():
    return Family(name="sleepy", description="sleeps", inputs=(FEATURES,), make=make)
"""
#: Seconds a stopped run and its workers may take to be gone (a busy machine).
GONE_WITHIN = 30


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def _start_sleepy_run(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    """A run of two sleeping trials side by side, once both fits have begun;
    with the run's child processes (workers, resource tracker)."""
    package = tmp_path / "stopper"
    package.mkdir()
    (package / "__init__.py").write_text("", "utf-8")
    (package / "sleepy.py").write_text(PLUGIN, "utf-8")
    data = write_class_folders(tmp_path / "data", {"melanoma": 6, "nevus": 6}, SEED)
    marker = tmp_path / "fits"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
        "SLEEPY_MARKER": str(marker),
    }
    command = [sys.executable, "-m", "benchmarks", "run", "stopper.sleepy:family"]
    command += ["--strategies", "none", "--folds", "2", "--jobs", "2", "--no-report"]
    command += ["--data", str(data), "--out", str(tmp_path / "runs")]
    run = subprocess.Popen(
        command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )

    def both_fitting() -> bool:
        if run.poll() is not None:
            return True
        return marker.exists() and len(marker.read_text().split()) >= 2

    if not _wait_until(both_fitting, 240) or run.poll() is not None:
        run.kill()
        pytest.fail(f"the trials did not start: {run.communicate()[1]}")
    return run, _children(run.pid)


@pytest.fixture
def sleepy_run(tmp_path):
    """The run and its children; whatever the test found, none is left behind."""
    run, children = _start_sleepy_run(tmp_path)
    yield run, children
    run.kill()
    for pid in filter(_alive, children):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_sigterm_stops_a_run_as_ctrl_c_does(sleepy_run):
    run, children = sleepy_run
    assert children
    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=GONE_WITHIN)
    assert run.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.rstrip().splitlines()[-1] == "melanoma-bench: terminated (SIGTERM)"
    assert "Traceback" not in stderr
    assert _wait_until(lambda: not any(map(_alive, children)), GONE_WITHIN)


@pytest.mark.slow
def test_the_workers_of_a_killed_run_exit(sleepy_run):
    run, children = sleepy_run
    assert children
    run.kill()
    # The pipe closes when no process holds it: the workers inherited it.
    run.communicate(timeout=GONE_WITHIN)
    assert _wait_until(lambda: not any(map(_alive, children)), GONE_WITHIN), [
        Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children if _alive(pid)
    ]


def test_jobs_bounds_decoding_and_feature_extraction(tmp_path, monkeypatch):
    from benchmarks.data import image_cache
    from features import HandcraftedFeatures

    data = write_class_folders(tmp_path / "data", {"melanoma": 6, "nevus": 6}, SEED)
    seen = {}
    decode, transform = image_cache.decode_all, HandcraftedFeatures.transform

    def decode_all(paths, size, n_jobs=None):
        seen.setdefault("decode", set()).add(n_jobs)
        return decode(paths, size, n_jobs)

    def extract(self, images):
        seen.setdefault("features", set()).add(self.n_jobs)
        return transform(self, images)

    monkeypatch.setattr(image_cache, "decode_all", decode_all)
    monkeypatch.setattr(HandcraftedFeatures, "transform", extract)
    argv = ["run", "xgb", "--strategies", "none", "--folds", "2", "--jobs", "1"]
    argv += ["--data", str(data), "--out", str(tmp_path / "runs"), "--no-report"]
    assert main(argv) == 0
    assert seen == {"decode": {1}, "features": {1}}
