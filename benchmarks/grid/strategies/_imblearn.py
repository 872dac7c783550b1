"""Any imbalanced-learn over-, under- or combined sampler as a strategy, by name.

Two ways a sampler can meet a fold it does not suit, told apart on purpose:
it *cannot run* on the fold's class sizes (SMOTE's five neighbours in a class
of two images), which ``check_fold_sizes`` refuses before any trial; or it has
*nothing to generate* for a class of this particular data (ADASYN finds no
other class near it), which leaves that class as it is and says so.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
from collections.abc import Mapping

import numpy as np

from benchmarks.core.errors import UserError
from benchmarks.grid.strategies._builtin import synthetic_rows
from benchmarks.grid.strategies._spec import Resampled, Strategy

logger = logging.getLogger(__name__)

PREFIX = "imblearn:"
MODULES = ("over_sampling", "under_sampling", "combine")
#: The fold-size check stands each class in with at most this many rows: a
#: sampler's default neighbourhoods are far smaller, and it keeps the check fast.
STAND_IN_ROWS = 50
STAND_IN_COLUMNS = 4


def sampler_names() -> list[str]:
    """Every sampler imbalanced-learn ships in its over-, under- and combined
    sampling modules, in their order."""
    from imblearn.base import BaseSampler

    names = []
    for module in MODULES:
        found = importlib.import_module(f"imblearn.{module}")
        names += [
            name
            for name in found.__all__
            if inspect.isclass(getattr(found, name))
            and issubclass(getattr(found, name), BaseSampler)
        ]
    return names


def _sampler_class(name: str) -> type:
    from imblearn.base import BaseSampler

    for module in MODULES:
        found = getattr(importlib.import_module(f"imblearn.{module}"), name, None)
        if inspect.isclass(found) and issubclass(found, BaseSampler):
            return found
    raise UserError(
        f"--strategies {PREFIX}{name}: imbalanced-learn has no sampler {name!r}; "
        "name a class of imblearn.over_sampling, under_sampling or combine, such "
        "as imblearn:ADASYN"
    )


def _alternative(sampler_class: type) -> str:
    """A sampler of the same kind that runs on any class size."""
    if sampler_class.__module__.startswith("imblearn.under_sampling"):
        return f"{PREFIX}RandomUnderSampler"
    return f"{PREFIX}RandomOverSampler or smote"


def _sampler(sampler_class: type, seed: int, targets: dict | None = None):
    sampler = sampler_class()
    if "random_state" in sampler.get_params():
        sampler.set_params(random_state=seed)
    if targets is not None:
        sampler.set_params(sampling_strategy=targets)
    return sampler


def _reason(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def _fit_resample(
    sampler_class: type, flat: np.ndarray, codes: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """The sampler's rows and label codes, and why it left a class as it is.

    An over-sampler that has nothing to generate for one class (ADASYN's "No
    samples will be generated") fails the whole fit; then each class is
    over-sampled on its own, and a class that fails alone stays as it is.
    """
    sampler = _sampler(sampler_class, seed)
    try:
        resampled, codes_resampled = sampler.fit_resample(flat, codes)
        return np.asarray(resampled, dtype=np.float32), codes_resampled, {}
    except (ValueError, RuntimeError):
        over_sampler = sampler_class.__module__.startswith("imblearn.over_sampling")
        if not over_sampler or not hasattr(sampler, "sampling_strategy_"):
            raise
    counts = np.bincount(codes)
    parts, part_codes, left = [flat], [codes], {}
    for code, n in sampler.sampling_strategy_.items():
        if n <= 0:
            continue
        alone = _sampler(sampler_class, seed, {code: int(counts[code] + n)})
        try:
            resampled, codes_resampled = alone.fit_resample(flat, codes)
        except (ValueError, RuntimeError) as error:
            left[int(code)] = _reason(error)
            continue
        parts.append(np.asarray(resampled[len(flat) :], dtype=np.float32))
        part_codes.append(np.asarray(codes_resampled[len(flat) :]))
    return np.concatenate(parts), np.concatenate(part_codes), left


def _resample_with(sampler_class: type, X: np.ndarray, y: np.ndarray, seed: int):
    """Fit the sampler on the flat training rows; every row it returns is traced
    back to the training row with the same values, or marked made (-1).

    Labels go in as integer codes: some samplers (NeighbourhoodCleaningRule,
    InstanceHardnessThreshold) fail on text labels.
    """
    classes, codes = np.unique(y, return_inverse=True)
    flat = X.reshape(len(X), -1).astype(np.float32)
    resampled, codes_resampled, left = _fit_resample(sampler_class, flat, codes, seed)
    name = sampler_class.__name__
    notes = [
        f"{name} had nothing to generate for class {classes[code]} ({reason}); "
        "left as it is"
        for code, reason in sorted(left.items())
    ]
    # A cleaning sampler can remove every image of a class that overlaps
    # others; no model can learn a class it never sees, so those stay.
    lost = np.setdiff1d(np.arange(len(classes)), codes_resampled)
    if len(lost):
        back = np.flatnonzero(np.isin(codes, lost))
        resampled = np.concatenate([resampled, flat[back]])
        codes_resampled = np.concatenate([codes_resampled, codes[back]])
        notes += [
            f"{name} removed every image of class {classes[code]}; kept them as "
            "they were"
            for code in lost
        ]
    for note in notes:
        logger.info("%s", note)
    source = {row.tobytes(): index for index, row in reversed(list(enumerate(flat)))}
    drawn = np.array([source.get(row.tobytes(), -1) for row in resampled], dtype=int)
    made = drawn < 0
    rows = X[np.maximum(drawn, 0)]
    if made.any():
        rows[made] = synthetic_rows(X, resampled[made])
    return Resampled(rows, classes[codes_resampled], None, drawn, tuple(notes))


def check_fold_sizes(name: str, parts: Mapping[str, Mapping[str, int]]) -> None:
    """Refuse ``imblearn:NAME`` when it cannot run on the class sizes of a
    training part (``parts``: part name -> class counts).

    Why stand-in rows: the check runs before any feature or image is made, and
    a sampler's size limits (its neighbourhoods, its inner folds) depend on the
    class counts alone. Each class gets overlapping random rows, so a sampler
    that needs classes to mix finds them mixed.
    """
    sampler_class = _sampler_class(name.removeprefix(PREFIX))
    rng = np.random.default_rng(0)
    for part, counts in parts.items():
        sizes = {label: min(n, STAND_IN_ROWS) for label, n in counts.items() if n}
        if len(sizes) < 2:
            continue
        codes = np.repeat(np.arange(len(sizes)), list(sizes.values()))
        rows = rng.normal(size=(len(codes), STAND_IN_COLUMNS)).astype(np.float32)
        # Every class asked for new rows: a size limit shows, while "nothing
        # to generate" (a question of the data, not the sizes) cannot.
        targets = None
        if getattr(sampler_class, "_sampling_type", "") == "over-sampling":
            targets = {code: 2 * STAND_IN_ROWS for code in range(len(sizes))}
        try:
            _sampler(sampler_class, 0, targets).fit_resample(rows, codes)
        except (ValueError, RuntimeError) as error:
            smallest = min(counts, key=lambda label: (counts[label], label))
            raise UserError(
                f"--strategies {name}: cannot run on {part}'s training part, whose "
                f"smallest class {smallest} has {counts[smallest]} image(s) "
                f"({_reason(error)}); choose {_alternative(sampler_class)}, which "
                "run on any class size"
            ) from None


@functools.cache
def imblearn_strategy(name: str) -> Strategy:
    """The strategy ``imblearn:NAME``: the sampler with its defaults, seeded."""
    sampler_class = _sampler_class(name.removeprefix(PREFIX))
    try:
        sampler_class()
    except TypeError as error:
        raise UserError(
            f"--strategies {name}: needs settings this suite does not pass "
            f"({_reason(error)}); choose a sampler that runs with its defaults, "
            f"such as {_alternative(sampler_class)}"
        ) from None
    summary = (inspect.getdoc(sampler_class) or sampler_class.__name__).splitlines()[0]
    return Strategy(
        name,
        f"imbalanced-learn {sampler_class.__name__}: {summary}",
        functools.partial(_resample_with, sampler_class),
    )
