"""What an imbalance strategy is, and what it hands back."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_NAME = re.compile(r"^[a-z0-9][A-Za-z0-9_:-]*$")


@dataclass(frozen=True)
class Resampled:
    """A training part after a strategy: the rows to fit, and where they came from.

    ``drawn`` is, for every row to fit, the index of the training row it copies,
    or -1 for a row a sampler made; the contract tests read it.
    """

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None
    drawn: np.ndarray
    #: What the strategy left undone and why, such as a class a sampler had
    #: nothing to generate for; the trial's record keeps them.
    notes: tuple[str, ...] = ()

    @property
    def n_synthetic(self) -> int:
        return int((self.drawn < 0).sum())


def class_counts(y: np.ndarray) -> dict[str, int]:
    labels, counts = np.unique(y, return_counts=True)
    return {str(label): int(count) for label, count in zip(labels, counts, strict=True)}


@dataclass(frozen=True)
class Strategy:
    """One imbalance strategy: ``resample(X, y, seed)`` sees a fold's training
    part only (features (n, d) or images (n, h, w, 3)) and returns the rows,
    labels and weights to fit."""

    name: str
    description: str
    resample: Callable[[np.ndarray, np.ndarray, int], Resampled]

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or "__" in self.name:
            raise ValueError(
                f"strategy {self.name!r}: a name is letters, digits, '-', '_' and "
                "':' (no '__'), such as 'undersample'"
            )
