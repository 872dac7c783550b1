"""Headless Chromium for the HTML tests (report, worklist): a page that records
console errors and dialogs, so a test can check that nothing from the data ran."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def chromium() -> str | None:
    return os.environ.get("MELANOMA_BENCH_CHROMIUM") or shutil.which("chromium")


requires_chromium = pytest.mark.skipif(
    chromium() is None,
    reason="no Chromium found (install Debian's chromium, or set "
    "MELANOMA_BENCH_CHROMIUM to its executable)",
)


@dataclass
class LoadedPage:
    page: Any
    errors: list[str]
    dialogs: list[str]


@contextmanager
def loaded(path: Path) -> Iterator[LoadedPage]:
    """The file loaded in headless Chromium, offline."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=chromium(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            loaded_page = LoadedPage(page, [], [])
            page.on(
                "console",
                lambda message: (
                    loaded_page.errors.append(message.text)
                    if message.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda error: loaded_page.errors.append(str(error)))
            page.on(
                "dialog",
                lambda dialog: (
                    loaded_page.dialogs.append(dialog.message) or dialog.dismiss()
                ),
            )
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            yield loaded_page
        finally:
            browser.close()
