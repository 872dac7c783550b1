"""Executors: a Dask cluster writes the records the local executor writes, loses
none when a worker dies, resumes, and records a trial that fails twice."""

from __future__ import annotations

import os
import shutil
import signal
import threading

import numpy as np
import pytest

import benchmarks.grid.executors as executors
import benchmarks.grid.runner as runner
from benchmarks.cli import main
from benchmarks.core.errors import UserError
from benchmarks.grid import families
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.configuration import Trial
from benchmarks.grid.executors import DaskExecutor, LocalExecutor
from benchmarks.grid.record import TrialRecord
from benchmarks.grid.store import RunStore, TrialFailure
from benchmarks.grid.trials import TrialResult
from benchmarks.grid.workspace import Workspace
from tests.conftest import make_image_folder, trial_record
from tests.harness.conftest import CLASSES, TINY, progress_keys

distributed = pytest.importorskip("distributed")
from distributed import Client, LocalCluster  # noqa: E402

#: xgb under every strategy on the synthetic set: 2 folds + the final fit each.
XGB = {"models": ("xgb",)}
N_XGB = 12


def _cluster(processes: bool = True) -> LocalCluster:
    return LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=":0",
    )


def _without_timings(record: TrialRecord) -> dict:
    return {
        name: value for name, value in record.to_json().items() if name != "timings"
    }


def _run(options: dict, out, cache, lines: list[str] | None = None, write=None):
    config = RunConfig(**{**XGB, **options})
    sink = write or (lines.append if lines is not None else lambda line: None)
    return runner.run(config, out, cache=str(cache), write=sink)


@pytest.fixture(scope="module")
def synthetic_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("synthetic-cache")


@pytest.fixture(scope="module")
def tiny():
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        yield TINY


@pytest.fixture(scope="module")
def cluster():
    with _cluster() as started:
        yield started


@pytest.fixture(scope="module")
def local_run(tiny, synthetic_cache, tmp_path_factory) -> RunStore:
    """The synthetic xgb grid with the local executor (fills the cache, ~40 s).

    Two jobs give each trial the threads a trial gets on the cluster (this
    machine's cores shared by two worker threads): XGBoost's sums, and so the
    last digits of its figures, depend on the thread count.
    """
    return _run({"jobs": 2}, tmp_path_factory.mktemp("local"), synthetic_cache)


@pytest.fixture(scope="module")
def dask_run(tiny, local_run, cluster, synthetic_cache, tmp_path_factory):
    lines: list[str] = []
    with Client(cluster.scheduler_address, set_as_default=False) as watcher:
        watcher.get_task_stream()  # starts recording which tasks ran
        store = _run(
            {"executor": "dask", "scheduler": cluster.scheduler_address},
            tmp_path_factory.mktemp("dask"),
            synthetic_cache,
            lines,
        )
        tasks = [task["key"] for task in watcher.get_task_stream()]
    return store, lines, tasks


@pytest.mark.slow
def test_dask_writes_the_records_the_local_executor_writes(local_run, dask_run):
    store, lines, tasks = dask_run
    assert store.run_dir.name == local_run.run_dir.name  # not part of the run id
    local = {record.key: record for record in local_run.records()}
    remote = {record.key: record for record in store.records()}
    assert len(remote) == N_XGB and sorted(remote) == sorted(local)
    assert sorted(key.rsplit("-", 1)[0] for key in tasks) == sorted(remote)
    for key, record in remote.items():
        assert _without_timings(record) == _without_timings(local[key]), key
        expected = local_run.scores(key)
        for name, values in store.scores(key).items():
            np.testing.assert_array_equal(values, expected[name])
    accuracy = local["xgb__none__fold0"].metrics.validation["balanced_accuracy"]
    assert 0.3 < accuracy <= 1  # nine classes: chance is 0.11
    assert store.errors() == []
    assert sorted(progress_keys(lines)) == sorted(remote)


@pytest.mark.slow
def test_resuming_against_the_cluster_skips_finished_trials(
    dask_run, cluster, synthetic_cache, tmp_path, tiny
):
    finished = dask_run[0]
    copy = RunStore(tmp_path / "runs" / finished.run_dir.name)
    shutil.copytree(finished.run_dir, copy.run_dir)
    before = {record.key: record for record in copy.records()}
    lost = sorted(before)[::4]
    for key in lost:
        (copy.trials_dir / f"{key}.json").unlink()
    lines: list[str] = []
    store = _run(
        {"executor": "dask", "scheduler": cluster.scheduler_address},
        tmp_path / "runs",
        synthetic_cache,
        lines,
    )
    assert store.run_dir == copy.run_dir
    assert lines[0] == (
        f"resuming {store.run_dir}: {N_XGB - len(lost)} of {N_XGB} trials already done"
    )
    assert sorted(progress_keys(lines)) == lost
    after = {record.key: record for record in store.records()}
    assert {key: _without_timings(r) for key, r in after.items()} == {
        key: _without_timings(r) for key, r in before.items()
    }


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(
    local_run, synthetic_cache, tmp_path, tiny
):
    killed: list[tuple[str, list[str]]] = []
    lines: list[str] = []
    with (
        _cluster() as cluster,
        Client(cluster.scheduler_address, set_as_default=False) as watcher,
    ):

        def write(line: str) -> None:
            """After a trial ends, SIGKILL a worker that holds one."""
            lines.append(line)
            if killed or not line.startswith("trial "):
                return
            for worker, keys in watcher.processing().items():
                if keys:
                    pid = watcher.run(os.getpid, workers=[worker])[worker]
                    os.kill(pid, signal.SIGKILL)
                    killed.append((worker, [key.rsplit("-", 1)[0] for key in keys]))
                    return

        store = _run(
            {"executor": "dask", "scheduler": cluster.scheduler_address},
            tmp_path / "runs",
            synthetic_cache,
            write=write,
        )
    assert killed, "no worker held a trial when one ended"
    interrupted = killed[0][1]
    keys = progress_keys(lines)
    assert len(keys) == len(set(keys)) == N_XGB
    assert store.errors() == []
    records = {record.key: record for record in store.records()}
    assert set(interrupted) <= set(records)
    for record in local_run.records():
        assert records[record.key].metrics == record.metrics


@pytest.mark.slow
def test_hybrids_start_after_their_cnn_is_saved(cluster, tmp_path, tiny):
    folder = make_image_folder(tmp_path / "lesions")
    lines: list[str] = []
    store = _run(
        {
            "data": str(folder),
            "models": ("hybrid",),
            "strategies": ("none",),
            "executor": "dask",
            "scheduler": cluster.scheduler_address,
        },
        tmp_path / "runs",
        tmp_path / "cache",
        lines,
    )
    assert store.errors() == []
    keys = progress_keys(lines)
    assert len(keys) == 6
    for part in ("fold0", "fold1", "final"):
        assert keys.index(f"cnn__none__{part}") < keys.index(f"hybrid__none__{part}")
        assert store.embedding_path(f"cnn__none__{part}").is_file()
    records = {record.key: record for record in store.records()}
    assert sorted(records) == sorted(keys)
    assert records["hybrid__none__fold0"].n_evaluated > 0


# The executors' own contract, on fake trials: retries, failures, order.


def _workspace(tmp_path) -> Workspace:
    return Workspace(
        run_dir=str(tmp_path),
        classes=CLASSES,
        positive="melanoma",
        profile=TINY,
        seed=0,
        n_threads=1,
    )


TRIALS = [
    Trial("xgb", "none", 0),
    Trial("xgb", "none", 1),
    Trial("cnn", "none", 0),
    Trial("cnn", "none", 1),
    Trial("hybrid", "none", 0),
    Trial("hybrid", "none", 1),
    Trial("fusion", "none", 0),
    Trial("fusion", "none", 1),
]


@pytest.fixture(params=["local", "dask"])
def executor(request):
    if request.param == "local":
        yield LocalExecutor()
        return
    # In-process workers run the test's fake trial code.
    with (
        _cluster(processes=False) as cluster,
        DaskExecutor(cluster.scheduler_address) as dask,
    ):
        yield dask


def test_a_failing_trial_is_tried_twice_then_reported(executor, tmp_path, monkeypatch):
    failing = {"cnn__none__fold0", "xgb__none__fold1"}
    calls: list[str] = []
    saved: list[str] = []
    early: list[str] = []
    lock = threading.Lock()

    def compute(trial: Trial, workspace: Workspace) -> TrialResult:
        with lock:
            calls.append(trial.key)
            if any(needed.key not in saved for needed in families.needs(trial)):
                early.append(trial.key)
        if trial.key in failing:
            raise RuntimeError(f"boom in {trial.key}\nsecond line")
        return TrialResult(trial_record(trial.model, trial.strategy, trial.fold), {})

    outcomes: dict[str, object] = {}

    def finished(trial: Trial, outcome) -> None:
        with lock:
            assert trial.key not in outcomes
            outcomes[trial.key] = outcome
            saved.append(trial.key)

    monkeypatch.setattr(executors, "compute_trial", compute)
    executor.run(TRIALS, _workspace(tmp_path), finished)

    assert sorted(outcomes) == sorted(trial.key for trial in TRIALS)
    assert early == [], "a trial started before its inputs' outcomes were saved"
    assert calls.count("cnn__none__fold0") == calls.count("xgb__none__fold1") == 2
    assert not {"hybrid__none__fold0", "fusion__none__fold0"} & set(calls)
    assert "fusion__none__fold1" not in calls
    assert calls.count("hybrid__none__fold1") == calls.count("xgb__none__fold0") == 1
    failed = {key for key, out in outcomes.items() if isinstance(out, TrialFailure)}
    assert failed == {
        "cnn__none__fold0",
        "xgb__none__fold1",
        "hybrid__none__fold0",
        "fusion__none__fold0",
        "fusion__none__fold1",
    }
    error = outcomes["cnn__none__fold0"]
    assert error.error == "RuntimeError: boom in cnn__none__fold0"
    assert "second line" in error.traceback and "compute" in error.traceback
    for key, cause in (
        ("hybrid__none__fold0", "cnn__none__fold0"),
        ("fusion__none__fold0", "cnn__none__fold0"),
        ("fusion__none__fold1", "xgb__none__fold1"),
    ):
        assert outcomes[key].error == f"not run: {cause} (its input) failed"


def test_failed_trials_are_recorded_reported_and_retried_on_resume(
    tmp_path, tiny_profile, monkeypatch, capsys
):
    folder = make_image_folder(tmp_path / "lesions")
    argv = ["run", "xgb", "--strategies", "none", "--data", str(folder)]
    argv += ["--out", str(tmp_path / "runs"), "--no-report"]
    real = executors.compute_trial

    def flaky(trial: Trial, workspace: Workspace) -> TrialResult:
        if trial.key == "xgb__none__fold1":
            raise MemoryError("out of memory")
        return real(trial, workspace)

    monkeypatch.setattr(executors, "compute_trial", flaky)
    assert main(argv) == 1
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("melanoma-bench: 1 of 3 trials failed (errors in ")
    (run_dir,) = (tmp_path / "runs").iterdir()
    store = RunStore(run_dir)
    assert store.done() == {"xgb__none__fold0", "xgb__none__final"}
    (failure,) = store.errors()
    assert failure["key"] == "xgb__none__fold1"
    assert failure["error"] == "MemoryError: out of memory"
    assert "flaky" in failure["traceback"]
    assert len(store.records()) == 2  # the error record is no trial record

    monkeypatch.setattr(executors, "compute_trial", real)
    assert main(argv) == 0
    assert len(store.records()) == 3
    assert store.errors() == []
    assert not (store.errors_dir / "xgb__none__fold1.json").exists()


def test_an_absent_scheduler_is_a_one_line_error_before_any_work(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 1)
    monkeypatch.setattr(runner, "prepare", pytest.fail)
    argv = ["run", "xgb", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:1"]
    assert main([*argv, "--out", str(tmp_path / "runs")]) == 2
    (error,) = [line for line in capsys.readouterr().err.splitlines() if "rror" in line]
    assert error.startswith(
        "melanoma-bench: error: --scheduler tcp://127.0.0.1:1: no Dask scheduler there"
    )


def test_a_worker_that_cannot_see_the_run_folder_stops_the_run(tmp_path):
    with (
        _cluster(processes=False) as cluster,
        DaskExecutor(cluster.scheduler_address) as dask,
    ):
        workspace = _workspace(tmp_path / "not shared")
        with pytest.raises(UserError, match=r"cannot see .*not shared; put --out"):
            dask.run(TRIALS, workspace, lambda trial, outcome: None)
