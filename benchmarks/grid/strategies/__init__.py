"""Imbalance strategies: one registry, applied to the training part of a fold only.

Why one registry for both families: the benchmark compares XGBoost and the CNN
under *the same* strategies, so each strategy is written once and both families
take its output. Nothing here ever sees validation or test rows; the trial
hands it the training part, and ``resample`` checks that what comes back is
made from those rows alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from benchmarks.core.errors import UserError
from benchmarks.core.plugins import STRATEGIES_GROUP, load_group
from benchmarks.grid.strategies._builtin import BUILTIN
from benchmarks.grid.strategies._imblearn import (
    PREFIX,
    check_fold_sizes,
    imblearn_strategy,
    sampler_names,
)
from benchmarks.grid.strategies._spec import Resampled, Strategy, class_counts

__all__ = [
    "STRATEGIES",
    "Resampled",
    "Strategy",
    "check_parts",
    "class_counts",
    "default_names",
    "get",
    "installed",
    "resample",
    "sampler_names",
]

STRATEGIES: dict[str, Strategy] = {strategy.name: strategy for strategy in BUILTIN}


def installed() -> dict[str, Strategy]:
    """The built-ins, then every strategy installed through an entry point."""
    return {**load_group(STRATEGIES_GROUP, Strategy), **STRATEGIES}


def default_names() -> tuple[str, ...]:
    """The strategies a grid runs when none are named: the built-ins, in order."""
    return tuple(STRATEGIES)


def get(name: str) -> Strategy:
    """The strategy ``name``: installed, or ``imblearn:SAMPLER``."""
    if name.startswith(PREFIX):
        return imblearn_strategy(name)
    strategies = installed()
    if name not in strategies:
        raise UserError(
            f"--strategies {name}: unknown; choose from {', '.join(strategies)}, or "
            "any imbalanced-learn sampler as imblearn:NAME (such as imblearn:ADASYN)"
        )
    return strategies[name]


def check_parts(names: Iterable[str], parts: Mapping[str, Mapping[str, int]]) -> None:
    """Refuse, before any trial, a strategy that cannot run on the class sizes
    of a training part (``parts``: part name -> class counts)."""
    for name in dict.fromkeys(names):
        if name.startswith(PREFIX):
            check_fold_sizes(name, parts)


def resample(strategy: str, X: np.ndarray, y: np.ndarray, *, seed: int) -> Resampled:
    """The rows, labels and weights to fit under ``strategy``.

    ``X`` is a training part: features (n, d) or images (n, h, w, 3). Weights
    and new rows come from these rows alone.
    """
    y = np.asarray(y)
    result = get(strategy).resample(X, y, seed)
    n = len(result.y)
    if (
        len(result.X) != n
        or len(result.drawn) != n
        or (result.sample_weight is not None and len(result.sample_weight) != n)
    ):
        raise ValueError(
            f"strategy {strategy}: rows, labels and weights differ in length"
        )
    lost = sorted(set(y.tolist()) - set(np.asarray(result.y).tolist()))
    if lost:
        raise ValueError(
            f"strategy {strategy}: left no training rows of class {lost[0]!r}; "
            "choose another strategy for this data"
        )
    if ((result.drawn < -1) | (result.drawn >= len(X))).any():
        raise ValueError(f"strategy {strategy}: drew a row outside the training part")
    return result
