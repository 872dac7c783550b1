"""Two runs into one run folder: the second says so at once; runs sharing a
cache work side by side; a killed run's lock does not block the next."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from benchmarks.cli import main
from benchmarks.core.cache import cache_dir
from benchmarks.core.errors import UserError
from benchmarks.data.datasets import cached_synthetic
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.runner import run
from benchmarks.grid.store import RunStore
from tests.harness.conftest import TINY


@pytest.fixture
def config(image_folder, tmp_path, monkeypatch) -> RunConfig:
    monkeypatch.setitem(PROFILES, "quick", TINY)
    monkeypatch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path / "cache"))
    return RunConfig(data=str(image_folder), models=("xgb",), strategies=("none",))


def test_a_second_run_of_the_same_folder_is_refused_while_the_first_runs(
    config, image_folder, tmp_path, capsys
):
    first = run(config, tmp_path / "runs", write=lambda line: None)
    held = RunStore(first.run_dir).lock()  # as a run in another process would
    argv = ["run", "xgb", "--strategies", "none", "--data", str(image_folder)]
    try:
        with pytest.raises(UserError, match="another run is writing this run folder"):
            run(config, tmp_path / "runs", write=lambda line: None)
        capsys.readouterr()
        assert main([*argv, "--out", str(tmp_path / "runs")]) == 2
    finally:
        held.release()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "another run is writing this run folder now" in err
    lines: list[str] = []
    run(config, tmp_path / "runs", write=lines.append)
    assert lines[0].startswith("resuming") and "3 of 3 trials already done" in lines[0]


def test_a_lock_left_by_a_killed_process_does_not_block(config, tmp_path):
    first = run(config, tmp_path / "runs", write=lambda line: None)
    code = (
        "import os, sys; from benchmarks.grid.store import RunStore; "
        f"RunStore({str(first.run_dir)!r}).lock(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (first.run_dir / ".lock").exists()
    run(config, tmp_path / "runs", write=lambda line: None)


def test_two_first_runs_on_a_fresh_cache_share_the_synthetic_set(tmp_path):
    folders, errors = [], []

    def make() -> None:
        try:
            folders.append(cached_synthetic(cache_dir(tmp_path / "cache"), size=32))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=make) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(folders)) == 1
    assert (folders[0] / "synthetic.json").exists()


def test_temporary_files_a_killed_run_left_are_swept(config, tmp_path):
    first = run(config, tmp_path / "runs", write=lambda line: None)
    left = [
        first.trials_dir / ".xgb__none__fold0.json.k2j3h4",
        first.run_dir / ".audit.json.a8b7c6",
    ]
    for path in left:
        path.write_text("half")
    cache = tmp_path / "cache"
    old, fresh = cache / ".images-abc.npy.x1", cache / ".images-def.npy.x2"
    old.write_bytes(b"half")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    fresh.write_bytes(b"being written")  # by a run still going
    run(config, tmp_path / "runs", write=lambda line: None)
    assert not any(path.exists() for path in left)
    assert (first.run_dir / ".lock").exists()
    assert not old.exists() and fresh.exists()
