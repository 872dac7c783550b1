"""The grid a run config names: configurations (family x strategy) and their trials."""

from __future__ import annotations

from benchmarks.core.plugins import is_path
from benchmarks.grid import families, strategies
from benchmarks.grid.config import RunConfig
from benchmarks.grid.configuration import Configuration, Trial


def plugins(config: RunConfig) -> tuple[str, ...]:
    """The ``module:factory`` families the config names."""
    return tuple(name for name in config.models or () if is_path(name))


def configurations(config: RunConfig) -> list[Configuration]:
    """(family, strategy) pairs in leaderboard order.

    Without --strategies, reference families run under the first strategy
    only; with it, every family runs under every strategy named. Each further
    --preprocessing adds a family's variant ``NAME@PREPROCESSING`` right after
    it (not for a reference family, one reading images as shot, or a plug-in
    given as module:factory).
    """
    every = strategies.default_names()
    pairs = []
    for name in config.models or families.default_names():
        family = families.resolve(name)
        if config.strategies is not None:
            chosen = config.strategies
        else:
            chosen = every[:1] if family.reference else every
        pairs.extend(Configuration(family.name, strategy) for strategy in chosen)
        if family.reference or not family.preprocessed or is_path(name):
            continue
        for preprocessing in config.variants:
            variant = families.variant(family, preprocessing)
            pairs.extend(Configuration(variant.name, strategy) for strategy in chosen)
    return pairs


def trials(config: RunConfig, has_test: bool) -> list[Trial]:
    """Every trial of the grid by stage: the trials a family reads before it,
    the reference families last. Each configuration gets a final fit when the
    data has a Test split or the run scores external sets."""
    extra = plugins(config)
    parts: list[int | None] = list(range(config.n_folds))
    if has_test or config.external:
        parts.append(None)
    ordered: list[Trial] = []
    for configuration in configurations(config):
        for fold in parts:
            trial = Trial(configuration.model, configuration.strategy, fold)
            for name in families.with_parts([trial.model], extra):
                if (needed := trial.on(name)) not in ordered:
                    ordered.append(needed)
    return sorted(ordered, key=lambda trial: families.stage(trial, extra))
