"""The report's layout in a real browser: the verdict and the summary figure on
the first screen, nothing cut off or overlapping, at a narrow and a wide
viewport, for a run of four families with an external set and for a run of
one family."""

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

#: (width, height): the two first screens the verdict must fit.
VIEWPORTS = ((800, 1000), (1400, 900))
#: Text boxes that must not overlap each other (nested ones excepted).
TEXT = "h1, h2, h3, p, li, th, td, dt, dd, figcaption"


def synthetic_run(
    root: Path, cache: Path, models: tuple[str, ...], external: bool
) -> Path:
    """A finished 2-fold run on a small synthetic set of three classes, each
    of ``models`` under three strategies; with ``external``, a second
    synthetic set scored as an external one."""
    data = write_synthetic(
        root / "lesions",
        train_counts={"melanoma": 14, "nevus": 20, "vascular lesion": 8},
        test_counts={"melanoma": 4, "nevus": 4, "vascular lesion": 3},
        size=64,
    )
    clinic = root / "clinic"
    if external:
        write_synthetic(
            clinic,
            train_counts={"melanoma": 6, "nevus": 6},
            test_counts={},
            size=64,
            seed=7,
        )
    config = RunConfig(
        data=str(data),
        models=models,
        strategies=("none", "class_weight", "smote"),
        external=(("clinic", str(clinic)),) if external else (),
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
        tmp_path_factory.mktemp("synthetic"),
        tmp_path_factory.mktemp("cache"),
        ("xgb", "cnn", "hybrid", "fusion"),
        external=True,
    )


@pytest.fixture(scope="module")
def one_family_run(tmp_path_factory) -> Path:
    return synthetic_run(
        tmp_path_factory.mktemp("one-family"),
        tmp_path_factory.mktemp("cache"),
        ("xgb",),
        external=False,
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


_FIRST_SCREEN = """() => {
  const box = element => {
    const found = element.getBoundingClientRect();
    return {top: found.top, bottom: found.bottom, left: found.left,
            right: found.right};
  };
  const image = document.querySelector("section#verdict img.summary");
  return {lines: box(document.querySelector("section#verdict ul.verdict")),
          image: box(image), loaded: image.complete && image.naturalWidth > 0,
          viewport: {width: innerWidth, height: innerHeight}};
}"""


def assert_first_screen(page) -> None:
    """The verdict's lines and the whole summary figure lie in the first
    viewport, the one above the other."""
    shown = page.evaluate(_FIRST_SCREEN)
    lines, image, viewport = shown["lines"], shown["image"], shown["viewport"]
    assert shown["loaded"]
    for box in (lines, image):
        assert box["top"] >= 0 and box["left"] >= 0, shown
        assert box["bottom"] <= viewport["height"], shown
        assert box["right"] <= viewport["width"], shown
    assert lines["bottom"] <= image["top"], shown
    assert page.locator("section#verdict ul.verdict li").count() == 3


@requires_chromium
@pytest.mark.parametrize(
    "viewport", VIEWPORTS, ids=lambda viewport: "x".join(map(str, viewport))
)
def test_report_layout(run_dir, tmp_path, viewport):
    width, height = viewport
    with loaded(run_dir / "report.html") as shown:
        page = shown.page
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(tmp_path / f"report-{width}.png"))
        assert shown.errors == []
        overflow = page.evaluate(
            "() => document.scrollingElement.scrollWidth - innerWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        last = page.evaluate(_LAST_COLUMN)
        assert last["visible"] or last["reachable"], last
        assert page.evaluate(_OVERLAPS, TEXT) == []
        assert_first_screen(page)
        # Each verdict line links to a part of the page that exists.
        for target in page.eval_on_selector_all(
            "ul.verdict a", "links => links.map(link => link.hash)"
        ):
            assert page.locator(target).count() == 1, target
        # Warnings open; every other finding folded under a one-line summary.
        findings = page.locator("section#findings")
        assert findings.locator("p.warning").count() >= 1
        assert findings.locator("details p.warning").count() == 0
        assert findings.locator("details:not([open])").count() >= 4
        summaries = findings.locator("details > summary").all_inner_texts()
        assert any(text.startswith("Strategies against none: ") for text in summaries)
        # Reliability diagrams, importance by ABCD group and Grad-CAM maps.
        assert page.locator("section#calibration img").count() == 1
        assert page.locator("section#explanations img").count() == 2
        # ... each also stated in the findings, in a sentence with its figure.
        stated = findings.text_content()
        assert re.search(r"Calibration of the best .* ECE 0\.\d{3}", stated)
        assert "nan" not in stated


@requires_chromium
@pytest.mark.parametrize(
    "viewport", VIEWPORTS, ids=lambda viewport: "x".join(map(str, viewport))
)
def test_one_family_first_screen(one_family_run, viewport):
    width, height = viewport
    with loaded(one_family_run / "report.html") as shown:
        page = shown.page
        page.set_viewport_size({"width": width, "height": height})
        assert shown.errors == []
        assert_first_screen(page)
        assert page.evaluate(_OVERLAPS, TEXT) == []
        lines = page.locator("ul.verdict li").all_inner_texts()
        assert "Not measured: add --external or a second --data" in lines[1]
        assert "not compared, this run has no CNN" in lines[2]
