"""Export to MLflow: runs nested as the run folder is, found again, not duplicated.

Each export is read back through MLflow's own client, once from a local
SQLite store and once through a real ``mlflow server`` started here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.analysis.leaderboard import leaderboard_of
from benchmarks.cli import main
from benchmarks.core.errors import UserError
from benchmarks.export.mlflow_export import (
    INSTALL,
    TAG_CONFIGURATION,
    TAG_FOLD,
    TAG_KIND,
    TAG_PARENT,
    TAG_RUN_ID,
    export_mlflow,
    metric_key,
    trial_curves,
    trial_metrics,
)
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.record import Timings
from benchmarks.grid.runner import run
from benchmarks.grid.store import RunStore
from reports import write_report
from tests.conftest import trial_record, write_image
from tests.harness.conftest import TINY

MODELS = ("xgb", "linear-invariant")
EXTERNAL = "clinic set"
#: The figure a second export must update, on this trial.
CHANGED_TRIAL, CHANGED_METRIC = "xgb__none__fold0", "validation/balanced_accuracy"
SERVER_START_SECONDS = 90
#: The run folder's run, one per configuration, and under each its folds and Test.
N_RUNS = 1 + len(MODELS) * (1 + TINY.folds + 1)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A finished run of two cheap families, two folds, an external set."""
    root = tmp_path_factory.mktemp("data")
    seed = 700
    for label, count in (("melanoma", 6), ("nevus", 6), ("vascular lesion", 4)):
        for index in range(count):
            write_image(root / "lesions" / "Train" / label / f"{index}.jpg", seed)
            seed += 1
        write_image(root / "lesions" / "Test" / label / "t.jpg", seed)
        write_image(root / "clinic" / label / "e.jpg", seed + 1000)
        seed += 1
    config = RunConfig(
        data=str(root / "lesions"),
        models=MODELS,
        strategies=("none",),
        external=((EXTERNAL, str(root / "clinic")),),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        patch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        store = run(config, tmp_path_factory.mktemp("runs"), write=lambda line: None)
    write_report(store.run_dir)
    return store.run_dir


@pytest.fixture
def run_dir(finished_run, tmp_path) -> Path:
    """A copy of the finished run that a test may change."""
    return Path(shutil.copytree(finished_run, tmp_path / finished_run.name))


@pytest.fixture
def mlflow():
    return pytest.importorskip("mlflow", reason=f"MLflow is not installed ({INSTALL})")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mlflow_server(mlflow, tmp_path, request):
    """A real tracking server on 127.0.0.1: SQLite runs, local artifacts.

    The run folder is made while the server starts, each taking seconds.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        # No background job runner: the export needs none, and it is one
        # process fewer to start and to stop.
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        start_new_session=True,
    )
    try:
        request.getfixturevalue("run_dir")
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(
                    "mlflow server exited: "
                    + (tmp_path / "server.log").read_text(errors="replace")[-2000:]
                )
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"mlflow server gave no /health in {SERVER_START_SECONDS} s"
                )
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def _runs(client, run_id: str, experiment: str) -> list:
    found = client.get_experiment_by_name(experiment)
    return client.search_runs(
        [found.experiment_id],
        filter_string=f"tags.`{TAG_RUN_ID}` = '{run_id}'",
        max_results=1000,
    )


def _by_identity(runs) -> dict:
    return {
        (
            r.data.tags[TAG_KIND],
            r.data.tags[TAG_CONFIGURATION],
            r.data.tags[TAG_FOLD],
        ): r
        for r in runs
    }


def _check_export(client, run_dir: Path, experiment: str) -> dict:
    """Everything one export must have written; returns its runs by identity."""
    recorded = json.loads((run_dir / "config.json").read_text("utf-8"))
    runs = _runs(client, recorded["run_id"], experiment)
    found = _by_identity(runs)
    assert len(found) == len(runs) == N_RUNS

    top = found[("run", "", "")]
    assert TAG_PARENT not in top.data.tags
    assert top.info.run_name == recorded["run_id"]
    params = top.data.params
    assert params["data_fingerprint"] == recorded["data_fingerprint"]
    assert params["profile.folds"] == str(TINY.folds)
    assert params["versions.numpy"] == recorded["versions"]["numpy"]
    assert json.loads(params["config.models"]) == list(MODELS)
    artifacts = {item.path for item in client.list_artifacts(top.info.run_id)}
    assert {"report.html", "leaderboard.csv", "config.json"} <= artifacts

    board = leaderboard_of(RunStore(run_dir)).set_index("configuration")
    for model in MODELS:
        configuration = f"{model}:none"
        parent = found[("configuration", configuration, "")]
        assert parent.data.tags[TAG_PARENT] == top.info.run_id
        assert parent.data.params["model"] == model
        assert parent.data.params["data_fingerprint"] == recorded["data_fingerprint"]
        assert parent.data.metrics["balanced_accuracy_mean"] == pytest.approx(
            board.loc[configuration, "balanced_accuracy_mean"]
        )
        for fold in [*map(str, range(TINY.folds)), "final"]:
            trial = found[("trial", configuration, fold)]
            assert trial.data.tags[TAG_PARENT] == parent.info.run_id
            assert trial.data.params["fold"] == fold
            key = f"{model}__none__" + ("final" if fold == "final" else f"fold{fold}")
            record = json.loads((run_dir / "trials" / f"{key}.json").read_text())
            metrics = trial.data.metrics
            part = "test" if fold == "final" else "validation"
            for name, expected in (
                (f"{part}/balanced_accuracy", record["metrics"][part]),
                ("train/macro_f1", record["metrics"]["train"]),
                ("gap/balanced_accuracy", record["gap"]),
                ("timings/fit_seconds", record["timings"]),
            ):
                figure = name.split("/")[1]
                assert metrics[name] == pytest.approx(expected[figure]), name
            if fold == "final":
                assert metrics[f"external/{EXTERNAL}/n"] == 3
                assert trial.info.run_name == f"{configuration} Test"
            else:
                assert "validation/recall/vascular lesion" in metrics
    # XGBoost's final fit keeps a loss per boosting round.
    final = found[("trial", "xgb:none", "final")]
    record = json.loads((run_dir / "trials" / "xgb__none__final.json").read_text())
    losses = record["curves"]["train_loss"]
    assert len(losses) > 1
    history = client.get_metric_history(final.info.run_id, "curve/train_loss")
    assert sorted((m.step, m.value) for m in history) == list(enumerate(losses))
    return found


def _check_second_export(client, run_dir: Path, uri, experiment, before) -> None:
    """A changed figure, exported again: the same runs, the figure updated,
    nothing else logged twice."""
    path = run_dir / "trials" / f"{CHANGED_TRIAL}.json"
    record = json.loads(path.read_text("utf-8"))
    record["metrics"]["validation"]["balanced_accuracy"] = 0.123
    path.write_text(json.dumps(record), encoding="utf-8")
    second = export_mlflow(run_dir, tracking_uri=uri, experiment=experiment)
    assert (second.created, second.updated) == (0, N_RUNS)
    after = _check_export(client, run_dir, experiment)
    assert {k: r.info.run_id for k, r in after.items()} == {
        k: r.info.run_id for k, r in before.items()
    }
    changed = after[("trial", "xgb:none", "0")].info.run_id
    assert client.get_run(changed).data.metrics[CHANGED_METRIC] == 0.123
    history = client.get_metric_history(changed, CHANGED_METRIC)
    assert len(history) == 2  # the old value and the new one
    final = after[("trial", "xgb:none", "final")].info.run_id
    losses = client.get_metric_history(final, "curve/train_loss")
    assert len(losses) == len({m.step for m in losses})
    assert len(client.get_metric_history(final, "test/balanced_accuracy")) == 1


def test_export_to_a_tracking_server_twice(mlflow, mlflow_server, run_dir, capsys):
    first = export_mlflow(run_dir, tracking_uri=mlflow_server)
    assert capsys.readouterr().out == ""  # no MLflow links, one per run
    assert (first.created, first.updated) == (N_RUNS, 0)
    assert first.experiment == "melanoma-bench"
    client = mlflow.tracking.MlflowClient(tracking_uri=mlflow_server)
    before = _check_export(client, run_dir, "melanoma-bench")
    _check_second_export(client, run_dir, mlflow_server, "melanoma-bench", before)


def test_export_command_to_a_local_store_twice(
    mlflow, run_dir, tmp_path, capsys, monkeypatch
):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # the default --tracking-uri
    monkeypatch.chdir(tmp_path)  # a local store keeps artifacts in ./mlruns
    assert main(["export", "mlflow", str(run_dir), "--experiment", "lesions"]) == 0
    out = capsys.readouterr().out
    assert f"at {uri}, experiment lesions" in out
    assert f"{N_RUNS} runs created, 0 updated" in out
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    before = _check_export(client, run_dir, "lesions")
    _check_second_export(client, run_dir, None, "lesions", before)


def test_export_command_refuses_what_is_no_run(tmp_path, capsys):
    assert main(["export", "mlflow", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such folder; pass a run folder" in err
    assert main(["export", "mlflow", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_a_server_that_does_not_answer_is_one_line_at_once(
    mlflow, finished_run, capsys
):
    uri = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    started = time.monotonic()
    assert main(["export", "mlflow", str(finished_run), "--tracking-uri", uri]) == 2
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--tracking-uri {uri}: no server answers" in err


def test_missing_mlflow_is_one_line_naming_the_extra(finished_run, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow fails
    with pytest.raises(UserError, match=r"pip install 'melanoma-bench\[mlflow\]'"):
        export_mlflow(finished_run, tracking_uri="sqlite:///unused.db")


def test_figures_become_metric_names_mlflow_accepts():
    assert metric_key("external", "clinic <b>", "auc") == "external/clinic _b_/auc"
    assert metric_key("recall", "..", "") == "recall/_/_"
    record = trial_record(
        "xgb",
        "none",
        0,
        {
            "balanced_accuracy": 0.5,
            "melanoma_auc": None,
            "classes": ["a", "b"],
            "confusion_matrix": [[1, 0], [0, 1]],
            "precision": {"a": 1.0, "b": None},
        },
        gap={"macro_f1": 0.25},
        timings=Timings(2, 0.5, 3.0, None, 10.0),
        n_train=8,
        class_counts_after={"a": 4},
        curves={"unit": "epoch", "best": 1, "train_loss": [0.9, 0.5]},
    )
    assert trial_metrics(record) == {
        "validation/balanced_accuracy": 0.5,
        "validation/precision/a": 1.0,
        "gap/macro_f1": 0.25,
        "timings/fit_seconds": 2.0,
        "timings/predict_seconds": 0.5,
        "timings/wall_seconds": 3.0,
        "timings/predict_images_per_second": 10.0,
        "class_counts_after/a": 4.0,
        "n_train": 8.0,
        "n_fitted": 0.0,
        "n_synthetic": 0.0,
        "n_evaluated": 0.0,
        "curve/best_epoch": 1.0,
    }
    assert trial_curves(record) == {"curve/train_loss": [0.9, 0.5]}
    assert trial_curves(replace(record, curves={"train_loss": []})) == {}
