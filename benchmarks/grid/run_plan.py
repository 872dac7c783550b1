"""A run's plan: what its grid runs and reads, worked out once.

Why one object: ``prepare`` writes the inputs, ``--dry-run`` describes them,
the ETA prices the trials and the executors run them; each reads this plan, so
none can disagree with another about the trials, their order, the inputs a
resolved preprocessing needs or what a trial costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from benchmarks.grid import estimate, families
from benchmarks.grid import plan as grid
from benchmarks.grid.config import RunConfig
from benchmarks.grid.configuration import Configuration, Trial


@dataclass(frozen=True)
class RunPlan:
    """A run config's grid on its data.

    ``trials`` are in run order (a family's parts before it, reference
    families last). ``features`` names each resolved preprocessing whose
    handcrafted features some family reads; ``images`` the (side, resolved
    preprocessing) pairs the networks read. ``run_id`` is None while the data's
    fingerprint is not known (a dry run whose audit policies or external sets
    would change it). ``works`` is each trial's cost from its family's
    declared training budget, on the data's fold sizes.
    """

    config: RunConfig
    plugins: tuple[str, ...]
    configurations: tuple[Configuration, ...]
    trials: tuple[Trial, ...]
    features: tuple[str, ...]
    images: tuple[tuple[int, str], ...]
    external: tuple[tuple[str, str], ...]
    run_id: str | None
    works: Mapping[Trial, estimate.Work]

    @property
    def strategies(self) -> tuple[str, ...]:
        """Every strategy of the grid, each once, in grid order."""
        return tuple(dict.fromkeys(item.strategy for item in self.configurations))

    @property
    def image_sizes(self) -> tuple[int, ...]:
        return tuple(sorted({size for size, _ in self.images}))

    def todo(self, done: Iterable[str]) -> list[Trial]:
        """The trials, in run order, whose key is not in ``done``."""
        finished = set(done)
        return [trial for trial in self.trials if trial.key not in finished]


def plan_run(
    config: RunConfig,
    *,
    has_test: bool,
    sizes: estimate.Sizes,
    fingerprint: str | None,
) -> RunPlan:
    """The plan of ``config`` on data with (``has_test``) or without Test
    images, of ``sizes`` rows per fold, whose fingerprint (with the external
    sets') is ``fingerprint`` (None: not known yet)."""
    plugins = grid.plugins(config)
    trials = tuple(grid.trials(config, has_test))
    specs = [
        families.family(name, plugins)
        for name in dict.fromkeys(trial.model for trial in trials)
    ]
    return RunPlan(
        config=config,
        plugins=plugins,
        configurations=tuple(grid.configurations(config)),
        trials=trials,
        features=tuple(
            sorted(
                {
                    spec.input_preprocessing(config.preprocessing)
                    for spec in specs
                    if spec.reads_features
                }
            )
        ),
        images=tuple(_image_inputs(specs, config.preprocessing)),
        external=config.external,
        run_id=None if fingerprint is None else config.run_id(fingerprint),
        works=estimate.work_of(trials, config.settings, sizes, plugins),
    )


def _image_inputs(
    specs: Iterable[families.Family], preprocessing: str
) -> list[tuple[int, str]]:
    """The (image size, preprocessing) pairs the networks of a grid read."""
    return sorted(
        {
            (spec.image_size, spec.input_preprocessing(preprocessing))
            for spec in specs
            if spec.image_size is not None
        }
    )
