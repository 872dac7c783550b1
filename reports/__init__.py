"""HTML comparison reports built from a run's results store."""

from reports._report import render, write_report

__all__ = ["render", "write_report"]
