"""What an input preprocessing is: the frozen spec every registry entry fills in."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: A name becomes part of record keys (``cnn@NAME__none__fold0``), cache file
#: names and model folders, so it holds no '@', ':', '.' or '__'.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Preprocessing:
    """One named image transform, applied wherever a family reads images (its
    trials, ``train``'s final fit and ``triage``).

    ``apply`` takes uint8 images (n, h, w, 3) and returns images of the same
    shape and dtype, each made from its own image alone, so that nothing
    leaks between images or across a split.
    """

    name: str
    description: str
    apply: Callable[[np.ndarray], np.ndarray]

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or "__" in self.name:
            raise ValueError(
                f"preprocessing {self.name!r}: a name is lower-case letters, "
                "digits, '-' and '_' (no '__'), such as 'shades-of-gray'"
            )
        if not callable(self.apply):
            raise ValueError(f"preprocessing {self.name!r}: apply is not callable")
