"""What a result depends on beyond the config: library versions and the machine."""

from __future__ import annotations

import platform
from importlib import metadata

from models import available_cores

#: Distributions whose versions can change a benchmark's numbers.
LIBRARIES = (
    "melanoma-bench",
    "numpy",
    "pandas",
    "scikit-learn",
    "scikit-image",
    "opencv-python-headless",
    "xgboost",
    "imbalanced-learn",
    "tensorflow",
    "keras",
)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def machine() -> dict[str, str | int]:
    return {
        "cores": available_cores(),
        "system": platform.system(),
        "processor": platform.machine(),
    }
