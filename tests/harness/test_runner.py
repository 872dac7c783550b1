"""The runner end to end on small folders: store, audit policies, resume, kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import benchmarks.grid.executors as executors
import benchmarks.grid.runner as runner
from benchmarks.analysis.leaderboard import COLUMNS, write_leaderboard
from benchmarks.cli import main
from benchmarks.core.cache import atomic_write_json
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.store import RunStore
from tests.conftest import make_image_folder
from tests.harness.conftest import TINY, progress_keys

GRID = {"models": ("xgb", "cnn", "hybrid", "fusion"), "strategies": ("none", "smote")}
#: 4 models x 2 strategies x (2 folds + the final fit on Train, scored on Test).
N_TRIALS = 24
#: A network trained twice from one seed on the CPU now and then drifts: in one
#: CI run, one of the 24 trials' cnn scores moved by 2.7e-4 and the fusions built
#: on it by 5e-4 (docs/models.md). Their scores must agree this closely; their
#: metrics are not compared, since on these few images one prediction that
#: crosses a threshold moves them by a tenth.
NETWORK_DRIFT = 1e-3


def _run(image_folder: Path, out: Path, **options) -> RunStore:
    config = RunConfig(data=str(image_folder), **{**GRID, **options})
    return runner.run(config, out, write=lambda line: None)


@pytest.fixture(scope="module")
def module_folder(tmp_path_factory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("folder") / "lesions")


@pytest.fixture(scope="module")
def module_run(module_folder, tmp_path_factory) -> RunStore:
    """One finished run shared by the tests that only read it (~20 s to make)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        patch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield _run(module_folder, tmp_path_factory.mktemp("runs"))


@pytest.fixture
def finished(module_run, tiny_profile) -> RunStore:
    return module_run


@pytest.fixture
def image_folder(module_folder) -> Path:
    return module_folder


def test_a_run_writes_a_complete_store(finished):
    info = finished.info()
    assert info.positive == "melanoma"
    assert info.classes == ("café <b>", "melanoma", "nevus naevus")
    records = finished.records()
    assert len(records) == N_TRIALS
    assert {record.evaluated_on for record in records} == {"validation", "test"}
    for record in records:
        scores = finished.scores(record.key)
        assert scores["evaluation_proba"].shape == (record.n_evaluated, 3)
        np.testing.assert_allclose(scores["evaluation_proba"].sum(axis=1), 1, 1e-5)
        assert record.metrics.train["n"] == record.n_train
    for record in records:
        if record.model == "cnn":
            assert finished.embedding_path(record.key).is_file()
        # What the store reads it writes back, byte for byte.
        written = finished.trials_dir / f"{record.key}.json"
        copy = finished.run_dir / "copy.json"
        atomic_write_json(copy, record.to_json())
        assert copy.read_bytes() == written.read_bytes(), record.key
    copy.unlink()
    write_leaderboard(finished)
    board = pd.read_csv(finished.path("leaderboard.csv"))
    assert list(board.columns) == list(COLUMNS)
    assert len(board) == 8
    assert board["folds"].eq(2).all()
    assert board["test_balanced_accuracy"].notna().all()


def test_a_fusion_scores_the_mean_of_its_parts(finished):
    fused = [record for record in finished.records() if record.model == "fusion"]
    assert len(fused) == 6
    for record in fused:
        assert record.parts == tuple(
            record.key.replace("fusion", part, 1) for part in ("xgb", "cnn")
        )
        xgb, cnn = (finished.scores(key) for key in record.parts)
        assert not np.allclose(xgb["evaluation_proba"], cnn["evaluation_proba"])
        scores = finished.scores(record.key)
        np.testing.assert_allclose(
            scores["evaluation_proba"],
            (xgb["evaluation_proba"] + cnn["evaluation_proba"]) / 2,
            atol=1e-6,
        )
        np.testing.assert_array_equal(scores["evaluation_rows"], xgb["evaluation_rows"])
        assert record.curves == {} and record.timings.fit_seconds == 0


def test_copies_share_a_fold_and_test_rows_are_held_out(finished):
    table = pd.read_parquet(finished.path("manifest.parquet"))
    in_cv = table["split"] == "train"
    assert table.loc[in_cv].groupby("group")["fold"].nunique().max() == 1
    assert table.loc[~in_cv, "fold"].eq(-1).all()
    # The conflict (melanoma/m0 == nevus naevus/n0) is kept, in one fold.
    conflict = table[
        table["file"].isin(["Train/melanoma/m0.jpg", "Train/nevus naevus/n0.jpg"])
    ]
    assert len(conflict) == 2 and conflict["fold"].nunique() == 1


def test_rerun_resumes_only_the_missing_trials(finished, image_folder, monkeypatch):
    before = {record.key: record for record in finished.records()}
    lost = sorted(before)[:3]
    for key in lost:
        (finished.trials_dir / f"{key}.json").unlink()
    ran = []
    real = executors.compute_trial
    monkeypatch.setattr(
        executors,
        "compute_trial",
        lambda trial, ws: ran.append(trial.key) or real(trial, ws),
    )
    lines: list[str] = []
    config = RunConfig(data=str(image_folder), **GRID)
    store = runner.run(config, finished.run_dir.parent, write=lines.append)
    assert store.run_dir == finished.run_dir
    assert sorted(ran) == lost
    assert lines[0].startswith(f"resuming {store.run_dir}: 21 of 24 trials")
    after = {record.key: record for record in store.records()}
    for key in lost:
        if key.startswith("xgb"):
            assert after[key].metrics == before[key].metrics


def test_a_folder_of_another_run_is_refused(finished, image_folder):
    (finished.run_dir.parent / "other").mkdir()
    config = json.loads(finished.path("config.json").read_text("utf-8"))
    config["run_id"] = "other"
    store = RunStore(finished.run_dir)
    with pytest.raises(Exception, match="holds another run"):
        store.claim({"run_id": "something else"})
    assert store.claim(config | {"run_id": finished.run_dir.name}) is True


@pytest.mark.slow
def test_same_seed_same_numbers(finished, image_folder, tmp_path):
    again = _run(image_folder, tmp_path / "again")
    first = {record.key: record for record in finished.records()}
    for record in again.records():
        scores = again.scores(record.key)["evaluation_proba"]
        if record.model != "xgb":
            np.testing.assert_allclose(
                scores,
                finished.scores(record.key)["evaluation_proba"],
                atol=NETWORK_DRIFT,
                err_msg=record.key,
            )
            continue
        reference = first[record.key]
        for part, metrics in record.metrics.to_json().items():
            for name in ("balanced_accuracy", "accuracy", "ece", "macro_f1"):
                assert metrics[name] == reference.metrics.of(part)[name], (
                    record.key,
                    part,
                    name,
                )
        np.testing.assert_allclose(
            scores, finished.scores(record.key)["evaluation_proba"], atol=1e-6
        )


def test_audit_policies_drop_conflicts_and_test_leaks(
    image_folder, tiny_profile, tmp_path
):
    store = _run(
        image_folder,
        tmp_path / "runs",
        models=("xgb",),
        strategies=("none",),
        conflicts="drop",
        test_leaks="drop",
    )
    policy = json.loads(store.path("audit.json").read_text("utf-8"))["policy"]
    assert policy["dropped_conflicting_images"] == 2
    assert policy["dropped_test_leak_images"] == 1
    files = set(pd.read_parquet(store.path("manifest.parquet"))["file"])
    assert "Train/melanoma/m0.jpg" not in files
    assert "Test/melanoma/t0.jpg" not in files
    assert "Train/melanoma/m1.jpg" in files


_CLI_AT_TINY = """
import sys
from benchmarks.grid.config import PROFILES
from tests.harness.conftest import TINY
PROFILES["quick"] = TINY
from benchmarks.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_sigkill_leaves_only_whole_records(image_folder, tmp_path, tiny_profile):
    out = tmp_path / "runs"
    argv = ["run", "xgb,cnn", "--data", str(image_folder), "--out", str(out)]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-c", _CLI_AT_TINY, *argv],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        records = list(out.glob("*/trials/*.json"))
        if len(records) >= 3:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    (run_dir,) = out.iterdir()
    store = RunStore(run_dir)
    done = store.done()
    assert 3 <= len(done) < 24
    for record in store.records():
        store.scores(record.key)
    for path in run_dir.rglob("*.json"):
        json.loads(path.read_text("utf-8"))

    config = RunConfig(data=str(image_folder), models=("xgb", "cnn"))
    ran = []
    real = executors.compute_trial
    executors.compute_trial, saved = (
        lambda trial, ws: ran.append(trial.key) or real(trial, ws),
        executors.compute_trial,
    )
    try:
        runner.run(config, out, write=lambda line: None)
    finally:
        executors.compute_trial = saved
    assert len(ran) == 24 - len(done)
    assert not set(ran) & done
    assert len(store.records()) == 24


def test_run_on_synthetic_says_so_first(tiny_profile, tmp_path, capsys):
    argv = ["run", "xgb", "--strategies", "none", "--out", str(tmp_path / "runs")]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines()[0].startswith(
        "melanoma-bench: running on the embedded SYNTHETIC data set (quick profile)"
    )
    assert "xgb" in captured.out and "results: " in captured.out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "svm"], "--models svm: unknown"),
        (["run", "all", "--strategies", "focal"], "--strategies focal: unknown"),
        (["run", "cnn", "--models", "xgb"], "name the models once"),
    ],
)
def test_run_mistakes_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error


def test_jobs_change_no_figure(image_folder, tiny_profile, tmp_path):
    """Two worker processes give the records of one process, cnn included:
    every CNN fit has the same thread count, whatever --jobs is. The one-process
    run gets a fresh process: TensorFlow keeps the threads of its first fit, and
    this one's may have started at another count."""
    grid = {"models": ("xgb", "hybrid", "seed-cnn"), "strategies": ("none",)}
    root = Path(__file__).resolve().parents[2]
    argv = ["run", "xgb,hybrid,seed-cnn", "--strategies", "none", "--no-report"]
    argv += ["--data", str(image_folder), "--out", str(tmp_path / "one")]
    ran = subprocess.run(
        [sys.executable, "-c", _CLI_AT_TINY, *argv],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=True,
    )
    (run_dir,) = (tmp_path / "one").iterdir()
    serial = RunStore(run_dir)
    parallel = _run(image_folder, tmp_path / "two", jobs=2, **grid)
    assert parallel.run_dir.name == serial.run_dir.name
    assert parallel.info().config.jobs == 2
    keys = sorted(record.key for record in serial.records())
    # hybrid needs the cnn of its fold, which runs first, in a worker too.
    assert {key.split("__")[0] for key in keys} == {"xgb", "cnn", "hybrid", "seed-cnn"}
    assert len(keys) == 12
    assert sorted(record.key for record in parallel.records()) == keys
    for key in keys:
        one, two = serial.record(key), parallel.record(key)
        assert replace(one, timings=None) == replace(two, timings=None), key
        for name, values in parallel.scores(key).items():
            np.testing.assert_array_equal(values, serial.scores(key)[name], err_msg=key)
    lines = (ran.stdout + ran.stderr).splitlines()
    order = progress_keys(lines)
    assert sorted(order) == keys
    assert all(key.startswith("seed-cnn") for key in order[-3:])  # reference last


def test_a_fusion_alone_runs_its_parts_first(image_folder, tiny_profile, tmp_path):
    store = _run(image_folder, tmp_path / "runs", models=("fusion",))
    assert store.errors() == []
    models = {record.model for record in store.records()}
    assert models == {"xgb", "cnn", "fusion"}
    assert len(store.records()) == 3 * 2 * 3


def test_a_variant_s_images_are_preprocessed_once_before_the_trials(
    image_folder, tiny_profile, tmp_path
):
    """cnn@shades-of-gray's inputs are computed in the grid's process and kept
    in the cache, so no worker computes them again; the seed-cnn's are not."""
    from benchmarks.data.image_cache import preprocessed_path

    config = RunConfig(
        data=str(image_folder),
        models=("cnn", "seed-cnn"),
        strategies=("none",),
        variants=("shades-of-gray",),
    )
    prepared = runner.prepare(config, tmp_path / "runs", str(tmp_path / "cache"))
    prepared.lock.release()
    paths = prepared.workspace.image_paths
    assert preprocessed_path(paths[48], "shades-of-gray").is_file()
    assert not preprocessed_path(paths[180], "shades-of-gray").exists()
