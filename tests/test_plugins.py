"""Plug-in model families: the examples through the harness, train and triage,
and a family installed through an entry point, through the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.analysis.leaderboard import write_leaderboard
from benchmarks.core.plugins import load_group
from benchmarks.deploy.model_dir import load_model
from benchmarks.deploy.training import train
from benchmarks.deploy.triage import WORKLIST, triage
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.runner import run
from benchmarks.grid.store import RunStore
from tests.browser import loaded, requires_chromium
from tests.conftest import bench, succeeded, write_image
from tests.harness.conftest import TINY

LOGREG = "examples.logistic_regression:family"
SMALL_KERAS = "examples.small_keras:family"
#: Train images per class; Test has one per class.
COUNTS = {"melanoma": 6, "nevus": 6, "vascular lesion": 4}
#: The entry-point family the throwaway distribution installs.
ENTRY_POINT = "logreg-ep"
DISTRIBUTION = "melanoma-bench-test-plugin"
GRID = ("xgb", "cnn", "hybrid", "fusion", "seed-cnn", ENTRY_POINT, SMALL_KERAS)
GRID_NAMES = (*GRID[:-1], "small-keras")


def make_folder(root: Path, seed: int) -> Path:
    """Train/Test class folders of small distinct pictures (COUNTS)."""
    for label, count in COUNTS.items():
        for index in range(count):
            write_image(root / "Train" / label / f"{index}.jpg", seed)
            seed += 1
        write_image(root / "Test" / label / "t.jpg", seed)
        seed += 1
    return root


def check_records(store: RunStore, names: tuple[str, ...], strategies, n_folds: int):
    """Every fold and the final fit of every configuration finished, with
    balanced accuracies in [0, 1]."""
    assert store.errors() == []
    records = {record.key: record for record in store.records()}
    for name in names:
        for strategy in strategies:
            for part in [*(f"fold{fold}" for fold in range(n_folds)), "final"]:
                record = records[f"{name}__{strategy}__{part}"]
                for figures in record.metrics.to_json().values():
                    assert 0 <= figures["balanced_accuracy"] <= 1


def check_worklist(out: Path, n_images: int) -> None:
    table = pd.read_csv(out / WORKLIST)
    assert len(table) == n_images
    assert table["melanoma_probability"].between(0, 1).all()


# -- the examples in this process ------------------------------------------------


@pytest.fixture(scope="module")
def example_run(tmp_path_factory) -> tuple[Path, Path]:
    """(data folder, run folder) of a tiny run of both examples beside xgb,
    under a strategy with sample weights too."""
    data = make_folder(tmp_path_factory.mktemp("data") / "lesions", seed=700)
    config = RunConfig(
        data=str(data),
        models=("xgb", LOGREG, SMALL_KERAS),
        strategies=("none", "class_weight"),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        patch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        store = run(config, tmp_path_factory.mktemp("runs"), write=lambda line: None)
    return data, store.run_dir


def test_examples_run_in_the_grid(example_run):
    store = RunStore(example_run[1])
    check_records(store, ("xgb", "logreg", "small-keras"), ("none", "class_weight"), 2)
    board = write_leaderboard(store)
    assert {"logreg:class_weight", "small-keras:none"} <= set(board["configuration"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("configuration", "file"),
    [
        ("logreg:class_weight", "logreg.skops"),
        ("small-keras:none", "small-keras.keras"),
    ],
)
def test_examples_train_and_triage(example_run, tmp_path, configuration, file):
    data, run_dir = example_run
    folder, metadata = train(run_dir, tmp_path / "model", configuration=configuration)
    assert (folder / file).is_file()
    assert metadata["plugins"] == [LOGREG, SMALL_KERAS]
    model = load_model(folder)
    result = triage(model, data / "Test", tmp_path / "worklist", n_jobs=1)
    assert result.unreadable == 0
    check_worklist(tmp_path / "worklist", len(COUNTS))


# -- an entry point, through the command line ------------------------------------


def _pip(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )


def _write_distribution(folder: Path) -> Path:
    """A distribution whose entry point names a family made from the logreg
    example's factory (so its estimator's type is the example's, trusted)."""
    (folder / "plugin_pkg").mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        f"""\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{DISTRIBUTION}"
version = "0.0.1"

[project.entry-points."melanoma_bench.models"]
{ENTRY_POINT} = "plugin_pkg:family"

[tool.setuptools]
packages = ["plugin_pkg"]
""",
        encoding="utf-8",
    )
    (folder / "plugin_pkg" / "__init__.py").write_text(
        f'''\
"""A throwaway plug-in of melanoma-bench's tests."""

import dataclasses

from examples import logistic_regression


def family():
    return dataclasses.replace(
        logistic_regression.family(),
        name="{ENTRY_POINT}",
        description="the logreg example, installed through an entry point",
    )
''',
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    """The throwaway distribution installed in this environment, uninstalled
    afterwards whatever happens."""
    pytest.importorskip("setuptools")
    folder = _write_distribution(tmp_path_factory.mktemp("distribution"))
    load_group.cache_clear()
    try:
        done = _pip("install", "--no-deps", "--no-build-isolation", str(folder))
        if done.returncode != 0:
            done = _pip("install", "--no-deps", str(folder))
        assert done.returncode == 0, done.stdout + done.stderr
        yield ENTRY_POINT
    finally:
        _pip("uninstall", "--yes", DISTRIBUTION)
        load_group.cache_clear()


@pytest.fixture(scope="module")
def cli_run(installed_plugin, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(data folder, run folder, cache) of a quick 2-fold command-line run of
    every built-in grid family, the entry point and a module:factory."""
    data = make_folder(tmp_path_factory.mktemp("data") / "lesions", seed=800)
    runs = tmp_path_factory.mktemp("runs")
    cache = tmp_path_factory.mktemp("cache")
    succeeded(
        bench(
            "run",
            ",".join(GRID),
            "--strategies",
            "none",
            "--folds",
            "2",
            "--data",
            str(data),
            "--cache",
            str(cache),
            "--out",
            str(runs),
            "--no-report",
        )
    )
    (run_dir,) = [path.parent for path in runs.glob("*/config.json")]
    return data, run_dir, cache


@pytest.mark.slow
def test_entry_point_is_listed(installed_plugin):
    listing = succeeded(bench("list", "models")).stdout
    assert any(line.split()[:1] == [ENTRY_POINT] for line in listing.splitlines())


@pytest.mark.slow
def test_entry_point_family_runs_beside_every_built_in(cli_run):
    check_records(RunStore(cli_run[1]), GRID_NAMES, ("none",), 2)


@pytest.mark.slow
def test_report_has_a_row_for_every_family(cli_run):
    run_dir = cli_run[1]
    succeeded(bench("report", str(run_dir)))
    metrics = json.loads((run_dir / "metrics.json").read_text("utf-8"))
    assert sorted(row["model"] for row in metrics["leaderboard"]) == sorted(GRID_NAMES)
    html = (run_dir / "report.html").read_text("utf-8")
    board = html[html.index('<table id="leaderboard-table"') :].split("</table>")[0]
    for name in GRID_NAMES:
        assert f'data-value="{name}"' in board


@pytest.mark.slow
@requires_chromium
def test_report_works_in_headless_chromium(cli_run):
    run_dir = cli_run[1]
    if not (run_dir / "report.html").is_file():
        succeeded(bench("report", str(run_dir)))
    with loaded(run_dir / "report.html") as shown:
        assert shown.errors == []
        assert shown.dialogs == []
        rows = shown.page.locator("#leaderboard-table tbody tr").count()
        assert rows == len(GRID_NAMES)


@pytest.mark.slow
def test_compare_with_its_own_baseline_passes(cli_run, tmp_path):
    run_dir, baseline = str(cli_run[1]), str(tmp_path / "baseline.json")
    succeeded(bench("compare", run_dir, "--baseline", baseline, "--update"))
    compared = succeeded(bench("compare", run_dir, "--baseline", baseline)).stdout
    for name in GRID_NAMES:
        assert name in compared


@pytest.mark.slow
def test_entry_point_family_trains_and_triages(cli_run, tmp_path):
    data, run_dir, cache = cli_run
    model, worklist = tmp_path / "model", tmp_path / "worklist"
    succeeded(
        bench(
            "train",
            "--run",
            str(run_dir),
            "--config",
            f"{ENTRY_POINT}:none",
            "--cache",
            str(cache),
            "--out",
            str(model),
        )
    )
    metadata = json.loads((model / "model.json").read_text("utf-8"))
    assert metadata["files"] == {ENTRY_POINT: f"{ENTRY_POINT}.skops"}
    arguments = ("--model", str(model), "--images", str(data / "Test"))
    succeeded(bench("triage", *arguments, "--out", str(worklist), "--jobs", "1"))
    check_worklist(worklist, len(COUNTS))
    assert np.isfinite(pd.read_csv(worklist / WORKLIST)["top1_probability"]).all()
