"""Write a triage worklist as one self-contained HTML page, thumbnails embedded."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from benchmarks.core.cache import atomic_write


def write_worklist_html(
    path: Path, rows: Iterable[dict[str, Any]], **facts: Any
) -> Path:
    """Render ``reports/worklist.html`` to ``path``, streaming.

    ``rows`` may be a generator: the page is written as it renders, so ten
    thousand embedded thumbnails are never all in memory at once. Every string
    is escaped (file names come from the user's folder).
    """
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(
        resources.files("reports").joinpath("worklist.html").read_text("utf-8")
    )

    def write(stream: Any) -> None:
        for part in template.generate(rows=rows, **facts):
            stream.write(part.encode("utf-8"))

    atomic_write(path, write)
    return path
