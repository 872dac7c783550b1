"""The report's layout in a real browser: findings first, nothing cut off or
overlapping at a narrow and a wide viewport."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.data.datasets import write_synthetic
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.runner import run
from reports import write_report
from tests.browser import loaded, requires_chromium
from tests.harness.conftest import TINY

WIDTHS = (800, 1400)
#: Text boxes that must not overlap each other (nested ones excepted).
TEXT = "h1, h2, h3, p, li, th, td, dt, dd, figcaption"


def synthetic_run(root: Path, cache: Path) -> Path:
    """A finished 2-fold run on a small synthetic set of three classes: a CNN,
    handcrafted features, a hybrid and a fusion, each under three strategies."""
    data = write_synthetic(
        root / "lesions",
        train_counts={"melanoma": 14, "nevus": 20, "vascular lesion": 8},
        test_counts={"melanoma": 4, "nevus": 4, "vascular lesion": 3},
        size=64,
    )
    config = RunConfig(
        data=str(data),
        models=("xgb", "cnn", "hybrid", "fusion"),
        strategies=("none", "class_weight", "smote"),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        patch.setenv("MELANOMA_BENCH_CACHE", str(cache))
        store = run(config, root / "runs", write=lambda line: None)
        write_report(store.run_dir)  # the Grad-CAM thumbnails read this cache
    return store.run_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return synthetic_run(
        tmp_path_factory.mktemp("synthetic"), tmp_path_factory.mktemp("cache")
    )


_OVERLAPS = """selector => {
  const boxes = [...document.querySelectorAll(selector)]
    .filter(element => element.offsetParent !== null && element.innerText.trim())
    .map(element => ({element, box: element.getBoundingClientRect()}));
  const found = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.element.contains(b.element) || b.element.contains(a.element)) continue;
      const x = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
      const y = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
      if (x > 1 && y > 1) {
        found.push(`${a.element.tagName} "${a.element.innerText.slice(0, 40)}" / ` +
                   `${b.element.tagName} "${b.element.innerText.slice(0, 40)}"`);
      }
    }
  }
  return found;
}"""

_LAST_COLUMN = """() => {
  const table = document.querySelector("#leaderboard-table");
  const cell = table.querySelector("thead th:last-child");
  const box = cell.getBoundingClientRect();
  let scroller = table.parentElement;
  while (scroller && getComputedStyle(scroller).overflowX !== "auto"
         && getComputedStyle(scroller).overflowX !== "scroll") {
    scroller = scroller.parentElement;
  }
  const bounds = scroller ? scroller.getBoundingClientRect()
                          : {left: 0, right: innerWidth};
  const reach = scroller ? scroller.scrollWidth - scroller.clientWidth : 0;
  return {visible: box.right <= Math.min(bounds.right, innerWidth) + 1,
          reachable: !!scroller && box.right - reach <= bounds.right + 1};
}"""


@requires_chromium
@pytest.mark.parametrize("width", WIDTHS, ids=lambda width: f"{width}px")
def test_report_layout(run_dir, tmp_path, width):
    with loaded(run_dir / "report.html") as shown:
        page = shown.page
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(tmp_path / f"report-{width}.png"), full_page=True)
        assert shown.errors == []
        overflow = page.evaluate(
            "() => document.scrollingElement.scrollWidth - innerWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        last = page.evaluate(_LAST_COLUMN)
        assert last["visible"] or last["reachable"], last
        assert page.evaluate(_OVERLAPS, TEXT) == []
        # The findings are the first thing a reader sees.
        top = page.locator("section#findings").bounding_box()
        assert top is not None and top["y"] < 900
        assert page.locator("section#findings li").count() >= 3
        # Reliability diagrams, importance by ABCD group and Grad-CAM maps.
        assert page.locator("section#calibration img").count() == 1
        assert page.locator("section#explanations img").count() == 2
        # ... each also stated on the first screen, in a sentence with its figure.
        stated = page.locator("section#findings").inner_text()
        assert re.search(r"Calibration of the best .* ECE 0\.\d{3}", stated)
        assert "nan" not in stated
