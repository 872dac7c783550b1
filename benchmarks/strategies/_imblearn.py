"""Any imbalanced-learn over-, under- or combined sampler as a strategy, by name."""

from __future__ import annotations

import functools
import importlib
import inspect

import numpy as np

from benchmarks.errors import UserError
from benchmarks.strategies._builtin import synthetic_rows
from benchmarks.strategies._spec import Resampled, Strategy

PREFIX = "imblearn:"
_MODULES = ("over_sampling", "under_sampling", "combine")


def _sampler_class(name: str) -> type:
    from imblearn.base import BaseSampler

    for module in _MODULES:
        found = getattr(importlib.import_module(f"imblearn.{module}"), name, None)
        if inspect.isclass(found) and issubclass(found, BaseSampler):
            return found
    raise UserError(
        f"--strategies {PREFIX}{name}: imbalanced-learn has no sampler {name!r}; "
        "name a class of imblearn.over_sampling, under_sampling or combine, such "
        "as imblearn:ADASYN"
    )


def _resample_with(sampler_class: type, X: np.ndarray, y: np.ndarray, seed: int):
    """Fit the sampler on the flat training rows; every row it returns is traced
    back to the training row with the same values, or marked made (-1)."""
    sampler = sampler_class()
    if "random_state" in sampler.get_params():
        sampler.set_params(random_state=seed)
    flat = X.reshape(len(X), -1).astype(np.float32)
    resampled, y_resampled = sampler.fit_resample(flat, y)
    resampled = np.asarray(resampled, dtype=np.float32)
    source = {row.tobytes(): index for index, row in reversed(list(enumerate(flat)))}
    drawn = np.array([source.get(row.tobytes(), -1) for row in resampled], dtype=int)
    made = drawn < 0
    rows = X[np.maximum(drawn, 0)]
    if made.any():
        rows[made] = synthetic_rows(X, resampled[made])
    return Resampled(rows, np.asarray(y_resampled), None, drawn)


@functools.cache
def imblearn_strategy(name: str) -> Strategy:
    """The strategy ``imblearn:NAME``: the sampler with its defaults, seeded."""
    sampler_class = _sampler_class(name.removeprefix(PREFIX))
    summary = (inspect.getdoc(sampler_class) or sampler_class.__name__).splitlines()[0]
    return Strategy(
        name,
        f"imbalanced-learn {sampler_class.__name__}: {summary}",
        functools.partial(_resample_with, sampler_class),
    )
