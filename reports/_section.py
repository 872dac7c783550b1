"""What one part of the report is: a heading, its data and figures, its template.

A section is one module under ``reports/sections/`` with a ``SECTION`` and one
template under ``reports/templates/sections/``; the page (``reports._report``)
renders ``reports.sections.SECTIONS`` in order, so adding a part of the report
touches that module, its template and the list, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.grid.store import RunStore
from reports._tables import RunTables


@dataclass(frozen=True)
class Section:
    """One part of the report page.

    ``context`` gives what the template reads as ``data`` (its rows and its
    figures as PNG data URLs), or None where the run has nothing to show there
    and the page leaves the section out. The template reads ``section.id``
    (the page anchor) and ``section.title`` (its heading) too.
    """

    id: str
    title: str
    template: str
    context: Callable[[RunTables, RunStore], dict | None]
