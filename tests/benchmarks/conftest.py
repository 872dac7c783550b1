"""The speed benchmarks run only when asked for, with --benchmark-enable.

Each one times a whole stage (``run all``, an epoch, isic9's features) and
checks figures that belong to the machine it runs on, such as the dry run's
estimate from priors measured on the reference machine. The README's test
command skips them: CI's machines differ in speed by up to four times, and
the stages they time are covered by faster tests and by CI's regression runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items) -> None:
    if config.getoption("benchmark_enable"):
        return
    skip = pytest.mark.skip(reason="a speed benchmark: run it with --benchmark-enable")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)
