"""What an input preprocessing is: the frozen spec every registry entry fills in."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: A name becomes part of record keys (``cnn@NAME__none__fold0``), cache file
#: names and model folders, so it holds no '@', ':', '.' or '__'.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_VERSION = re.compile(r"^[a-z0-9.]*$")


@dataclass(frozen=True)
class Preprocessing:
    """One named image transform, applied wherever a family reads images (its
    trials, ``train``'s final fit and ``triage``).

    ``apply`` takes uint8 images (n, h, w, 3) and returns images of the same
    shape and dtype, each made from its own image alone, so that nothing
    leaks between images or across a split.

    ``version`` is a plug-in's own: change it when ``apply`` changes, and the
    images and features cached from the old ``apply`` are not read again (the
    caches know a preprocessing by its name and version, not by its code).
    """

    name: str
    description: str
    apply: Callable[[np.ndarray], np.ndarray]
    version: str = ""

    @property
    def cache_name(self) -> str:
        """What the caches file its outputs under: the name, and the version
        where one is given (built-ins have none, so their caches keep their
        keys)."""
        return f"{self.name}-v{self.version}" if self.version else self.name

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or "__" in self.name:
            raise ValueError(
                f"preprocessing {self.name!r}: a name is lower-case letters, "
                "digits, '-' and '_' (no '__'), such as 'shades-of-gray'"
            )
        if not _VERSION.match(self.version):
            raise ValueError(
                f"preprocessing {self.name!r}: version {self.version!r} is "
                "lower-case letters, digits and '.', such as '2' or '1.1'"
            )
        if not callable(self.apply):
            raise ValueError(f"preprocessing {self.name!r}: apply is not callable")
