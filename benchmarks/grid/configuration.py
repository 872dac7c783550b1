"""The values a grid is made of: a configuration and a trial.

Why a module of its own, importing nothing: the registries, the store and the
harness above them all speak of trials and configurations.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Configuration:
    """A (model family, imbalance strategy) pair: one leaderboard row.

    Printed everywhere as ``MODEL:STRATEGY``, the form ``train --config`` takes.
    """

    model: str
    strategy: str

    def __str__(self) -> str:
        return f"{self.model}:{self.strategy}"

    @classmethod
    def parse(cls, text: str) -> Configuration:
        """``MODEL:STRATEGY``; also the ``MODEL/STRATEGY`` of older baselines.

        Split at the first colon: a model name has none, a strategy may
        (``imblearn:ADASYN``).
        """
        separator = ":" if ":" in text else "/"
        model, _, strategy = text.partition(separator)
        if not model or not strategy:
            raise ValueError(f"{text!r}: not a configuration; write MODEL:STRATEGY")
        return cls(model.strip(), strategy.strip())


@dataclass(frozen=True)
class Trial:
    """A configuration on one fold; fold None is the final fit on all
    training images, evaluated on the Test split."""

    model: str
    strategy: str
    fold: int | None

    @property
    def configuration(self) -> Configuration:
        return Configuration(self.model, self.strategy)

    @property
    def key(self) -> str:
        """The trial's file name in the run folder."""
        part = "final" if self.fold is None else f"fold{self.fold}"
        return f"{self.model}__{self.strategy}__{part}"

    def on(self, model: str) -> Trial:
        """The trial of ``model`` under the same strategy and fold."""
        return Trial(model, self.strategy, self.fold)
