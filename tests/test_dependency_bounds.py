"""The lower bounds in pyproject are pinned in constraints-min.txt, and the
deps-min tox env really installs them (so `tox -e deps-min` proves the bounds)."""

from __future__ import annotations

import os
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def lower_bounds() -> dict[str, Version]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        texts.extend(extra)
    bounds = {}
    for text in texts:
        requirement = Requirement(text)
        if canonicalize_name(requirement.name) == "melanoma-bench":
            continue
        lower = [
            spec.version for spec in requirement.specifier if spec.operator == ">="
        ]
        assert lower, f"pyproject: {text} has no >= lower bound"
        bounds[canonicalize_name(requirement.name)] = Version(lower[0])
    return bounds


def pins(path: Path) -> dict[str, Version]:
    pinned = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, pinned_version = line.partition("==")
            pinned[canonicalize_name(name)] = Version(pinned_version)
    return pinned


def test_constraints_pin_every_lower_bound():
    assert pins(ROOT / "constraints-min.txt") == lower_bounds()


@pytest.mark.skipif(
    "MELANOMA_BENCH_DEPS_MIN" not in os.environ,
    reason="only in the deps-min tox env (MELANOMA_BENCH_DEPS_MIN names the pins)",
)
def test_installed_versions_are_the_pinned_minimums():
    pinned = pins(Path(os.environ["MELANOMA_BENCH_DEPS_MIN"]))
    installed = {name: Version(version(name)) for name in pinned}
    assert installed == pinned
