"""HTML pages built from the suite's results: the run report and the triage worklist."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports._report import render, write_report
    from reports._worklist import write_worklist_html

__all__ = ["render", "write_report", "write_worklist_html"]


def __getattr__(name: str):
    # The report's matplotlib and seaborn take seconds to import; triage, which
    # only writes the worklist page, should not pay for them.
    if name in ("render", "write_report"):
        from reports import _report

        return getattr(_report, name)
    if name == "write_worklist_html":
        from reports._worklist import write_worklist_html

        return write_worklist_html
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
