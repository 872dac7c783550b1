"""The feature documentation covers every column and stays in sync with the code."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from features import FEATURE_DOCS, feature_names, feature_table_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def test_every_feature_column_has_a_meaning():
    patterns = [pattern.replace("{i}", "*") for pattern in FEATURE_DOCS]
    undocumented = [
        name
        for name in feature_names()
        if not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
    ]
    assert undocumented == []


def test_docs_page_shows_the_current_table():
    assert DOCS.read_text("utf-8").endswith(feature_table_markdown())
