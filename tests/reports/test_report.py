"""The HTML report of a small run: content, escaping, and a real browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.cli import main
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.runner import run
from reports import render, write_report
from tests.browser import loaded, requires_chromium
from tests.conftest import write_image
from tests.harness.conftest import TINY

HOSTILE = "<img src=x onerror=alert(1)>"
SECTIONS = ("summary", "leaderboard", "overfitting", "imbalance", "test", "speed")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A finished tiny run whose third class folder is named like an HTML tag."""
    root = tmp_path_factory.mktemp("data") / "lesions"
    seed = 500
    for label, count in (("melanoma", 6), ("nevus", 6), (HOSTILE, 4)):
        for index in range(count):
            write_image(root / "Train" / label / f"{index}.jpg", seed)
            seed += 1
        write_image(root / "Test" / label / "t.jpg", seed)
        seed += 1
    write_image(root / "Test" / "nevus" / "copy.jpg", 500)  # a Train/Test leak
    config = RunConfig(
        data=str(root),
        models=("xgb", "cnn", "hybrid", "fusion", "seed-cnn"),
        strategies=("none", "smote"),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        patch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        store = run(config, tmp_path_factory.mktemp("runs"), write=lambda line: None)
    write_report(store.run_dir)
    return store.run_dir


def test_report_has_every_section_and_escapes_user_strings(run_dir):
    html = (run_dir / "report.html").read_text("utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "http://" not in html and "https://" not in html.replace("https://www", "")
    assert 'src="data:image/png;base64,' in html
    assert "Train/Test leak" in html or "identical copy in Train" in html
    assert "<dt>preprocessing</dt><dd>none (" in html
    # A fusion trains nothing: its speed row has no training rate.
    speed = html[html.index('<table id="speed-table"') :]
    fusion_row = speed[speed.index('data-value="fusion"') :].split("</tr>")[0]
    assert '<td data-value="">&ndash;</td>' in fusion_row


def test_the_curves_say_their_figures_pool_the_folds(run_dir):
    """The ROC legend's AUC pools the out-of-fold scores; the leaderboard's is
    the mean over folds: the page says which is which."""
    html = (run_dir / "report.html").read_text("utf-8")
    imbalance = html[html.index('<section id="imbalance">') :].split("</section>")[0]
    assert "melanoma ROC and precision-recall curves" in imbalance
    assert "pool every fold's out-of-fold scores" in imbalance


def test_a_test_split_of_few_melanomas_is_read_as_a_check(run_dir):
    html = (run_dir / "report.html").read_text("utf-8")
    test = html[html.index('<section id="test">') :].split("</section>")[0]
    assert (
        "Test holds 1 melanoma image(s): even 1 of 1 found gives a sensitivity "
        "whose exact 95% interval reaches down to 0.03"
    ) in test


def test_report_writes_tables_for_other_tools(run_dir):
    board = pd.read_csv(run_dir / "leaderboard.csv")
    assert len(board) == 10  # 5 models x the 2 strategies named
    metrics = json.loads((run_dir / "metrics.json").read_text("utf-8"))
    assert {row["model"] for row in metrics["leaderboard"]} == {
        "xgb",
        "cnn",
        "hybrid",
        "fusion",
        "seed-cnn",
    }
    assert sum(row["best"] for row in metrics["leaderboard"]) == 1


def test_report_command_and_its_errors(run_dir, tmp_path, capsys):
    assert main(["report", str(run_dir)]) == 0
    assert "report.html" in capsys.readouterr().out
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_render_needs_finished_trials(run_dir, tmp_path):
    from benchmarks.core.errors import UserError
    from benchmarks.grid.store import RunStore

    empty = tmp_path / "empty"
    empty.mkdir()
    for name in ("config.json", "audit.json", "manifest.parquet"):
        shutil.copy(run_dir / name, empty / name)
    with pytest.raises(UserError, match="no finished trials yet"):
        render(RunStore(empty))


def test_every_section_has_its_template_in_the_package():
    from importlib import resources

    from reports.sections import SECTIONS as PAGE

    assert len({section.id for section in PAGE}) == len(PAGE)
    folder = resources.files("reports").joinpath("templates", "sections")
    for section in PAGE:
        assert folder.joinpath(section.template).is_file(), section.template


def test_the_page_shows_the_sections_with_something_to_show_in_order(
    run_dir, monkeypatch
):
    import dataclasses

    from benchmarks.grid.store import RunStore
    from reports import _report
    from reports.sections import SECTIONS as PAGE

    def nothing(tables, store):
        return None

    chosen = tuple(
        dataclasses.replace(section, context=nothing)
        if section.id == "speed"
        else section
        for section in PAGE
    )
    monkeypatch.setattr(_report, "SECTIONS", chosen)
    html = render(RunStore(run_dir))
    assert '<section id="speed">' not in html
    shown = [section.id for section in PAGE if f'<section id="{section.id}">' in html]
    assert shown[:3] == ["verdict", "findings", "summary"]
    assert [html.index(f'<section id="{name}">') for name in shown] == sorted(
        html.index(f'<section id="{name}">') for name in shown
    )
    assert html.count("<section ") == len(shown)


@requires_chromium
def test_report_works_in_headless_chromium(run_dir):
    with loaded(run_dir / "report.html") as shown:
        page = shown.page
        assert shown.errors == []
        assert shown.dialogs == [], "a string from the data ran as script"
        for section in SECTIONS:
            assert page.locator(f"section#{section} h2").count() == 1
        widths = page.eval_on_selector_all(
            "img", "images => images.map(image => image.naturalWidth)"
        )
        assert len(widths) >= 6 and min(widths) > 0
        assert page.locator("img[src='x']").count() == 0
        assert HOSTILE in page.locator("section#summary").inner_text()

        header = page.locator("#leaderboard-table th", has_text="balanced accuracy")
        column = "#leaderboard-table tbody tr td:nth-child(4)"

        def values() -> list[float]:
            cells = page.eval_on_selector_all(
                column, "cells => cells.map(cell => cell.dataset.value)"
            )
            return [float(value) for value in cells]

        header.click()
        assert values() == sorted(values())
        header.click()
        assert values() == sorted(values(), reverse=True)


def test_the_same_run_folder_draws_the_same_speed_chart(run_dir):
    """seaborn jitters the strip plot with NumPy's global generator; the chart
    seeds it, and leaves the caller's generator where it was."""
    import numpy as np

    from benchmarks.grid.store import RunStore
    from reports._tables import build
    from reports.sections.speed import speed_chart

    tables = build(RunStore(run_dir))
    np.random.seed(1)
    first = speed_chart(tables)
    after = np.random.random()
    np.random.seed(2)
    assert speed_chart(tables) == first
    np.random.seed(1)
    assert np.random.random() == after
