"""A family's name in the grid: the family, and the preprocessing of a variant.

``cnn@lesion-crop`` is the family ``cnn`` reading inputs preprocessed by
``lesion-crop``; ``cnn`` alone reads the run's own --preprocessing. Record
keys, baselines and model folders carry this spelling, so it is written and
read here only.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Joins a family and a preprocessing: ``cnn@lesion-crop``.
SEPARATOR = "@"


@dataclass(frozen=True)
class FamilyVariant:
    """``family`` read on ``preprocessing`` (None: the run's own)."""

    family: str
    preprocessing: str | None = None

    @classmethod
    def parse(cls, name: str) -> FamilyVariant:
        """``cnn@lesion-crop`` -> (cnn, lesion-crop); ``cnn`` -> (cnn, None)."""
        family, separator, preprocessing = name.partition(SEPARATOR)
        return cls(family, preprocessing if separator else None)

    def __str__(self) -> str:
        if self.preprocessing is None:
            return self.family
        return f"{self.family}{SEPARATOR}{self.preprocessing}"
