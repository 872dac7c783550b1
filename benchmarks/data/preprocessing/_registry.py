"""Name -> preprocessing: the built-ins, then entry-point plug-ins."""

from __future__ import annotations

import numpy as np

from benchmarks.core.errors import UserError
from benchmarks.core.plugins import PREPROCESSING_GROUP, load_group
from benchmarks.data.preprocessing._builtin import BUILTIN
from benchmarks.data.preprocessing._spec import Preprocessing

PREPROCESSING: dict[str, Preprocessing] = {entry.name: entry for entry in BUILTIN}


def installed() -> dict[str, Preprocessing]:
    """The built-ins, then every preprocessing installed through an entry point."""
    found = dict(PREPROCESSING)
    for name, entry in load_group(PREPROCESSING_GROUP, Preprocessing).items():
        if name in found:
            raise UserError(
                f"entry point {name} ({PREPROCESSING_GROUP}): a built-in "
                "preprocessing has that name; rename the plug-in's preprocessing"
            )
        found[name] = entry
    return found


def get(name: str) -> Preprocessing:
    """The preprocessing ``name``, built-in or installed.

    A name, never a ``module:factory`` path: it becomes part of record keys,
    cache files and model folders, which must read the same in every process.
    """
    found = installed()
    if name not in found:
        raise UserError(
            f"--preprocessing {name}: unknown; choose from {', '.join(found)}, or "
            f"install a plug-in through the entry-point group {PREPROCESSING_GROUP}"
        )
    return found[name]


def preprocess(name: str, images: np.ndarray) -> np.ndarray:
    """``images`` after the preprocessing ``name``; a plug-in that hands back
    anything but images of the shape and dtype it was given is refused."""
    result = get(name).apply(images)
    if (
        not isinstance(result, np.ndarray)
        or result.shape != images.shape
        or result.dtype != images.dtype
    ):
        got = (
            f"{result.dtype} {result.shape}"
            if isinstance(result, np.ndarray)
            else type(result).__name__
        )
        raise UserError(
            f"preprocessing {name}: returned {got} for {images.dtype} images "
            f"{images.shape}; a preprocessing returns images of the shape and "
            "dtype it is given (fix or uninstall the plug-in)"
        )
    return result
