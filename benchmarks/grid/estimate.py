"""What a grid will cost in wall time: a per-family model calibrated on this machine.

Why a model and not just the mean of the trials so far: before the first trial
ends there is nothing to average, and a seed-cnn trial costs ten cnn trials, so
a mean over families is wrong for most of a run. The model counts a trial's
work in units that scale with what dominates it (images seen times pixels for a
network; rows times boosting rounds for trees), turns units into seconds with a
rate per family, and takes that rate from trials timed on this machine before
(a small history in the user cache) or, with none, from a prior. A trial of
about the same work as recent timings of its family and strategy (the same data
and profile run again) takes their median instead: no overhead or rate is
guessed then. Timings are filed as if the trial had run alone, and the
estimate slows each trial by the ones running beside it (``contention``). As
trials finish, ``Estimate`` blends their measured times into the rest of the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import platform
import statistics
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.grid.configuration import Trial
    from benchmarks.grid.families import Family
    from benchmarks.grid.profiles import Profile

HISTORY_FILE = "timings.json"
#: Bumped whenever the work units change meaning (old timings then read as none);
#: 3: each timing says how many trials ran side by side.
HISTORY_VERSION = 3
#: Timings kept per (machine, family, strategy): room for a few data sets and
#: profiles (a full run times 6 of each), few enough that old ones leave.
HISTORY_KEEP = 40
#: A trial is estimated from the latest NEAR_RECENT timings of its own
#: (family, strategy) whose work was within NEAR_RATIO of its own, when there
#: are any (a fold's and a final fit's work differ by 1.25x or more): the
#: same data and profile, so no overhead or rate is guessed, and
#: the latest run's conditions (a faster library, a quieter machine) win.
NEAR_RATIO = 1.2
NEAR_RECENT = 6
#: Threads a trial of each kind keeps busy (the CNN families' fixed 2
#: TensorFlow threads; XGBoost 1): how much side-by-side trials slow each other.
THREADS = {"images": 2, "table": 1, "combine": 1, "step": 1}
#: Seconds per work unit with no history, by kind, alone on an idle 2-core
#: AMD EPYC (docs/speed.md, 2026-11-30): isic9 full-profile folds of cnn (82 s
#: alone, 2,350 units), seed-cnn (300 s, 9,200 units) and xgb (10.5 s, 9.4
#: units). With OVERHEAD they put a fresh machine's first estimate within 30%
#: of the synthetic and the isic9 quick `run all` (the figures there); the
#: history and the run's own trials correct the rest.
PRIOR_RATES = {"images": 0.0335, "table": 1.0, "combine": 0.5, "step": 1.0}
#: Seconds a trial of each kind costs whatever its size (a network's graph
#: built and traced, a process warmed up): what dominates on tiny data. The
#: two isic9 networks alone would say 7 s for images; 3 s also fits the
#: synthetic grid's 375-image folds (its `run all` took 180 s).
OVERHEAD = {"images": 3.0, "table": 0.5, "combine": 0.0, "step": 0.0}
#: Trials a family's own measurements need to outweigh the model's guess
#: (shrinkage: weight n / (n + PRIOR_STRENGTH)).
PRIOR_STRENGTH = 1.0
#: The unit of a network's work: one optimiser step of UNIT_BATCH images at
#: UNIT_SIDE x UNIT_SIDE pixels (the cnn's full step; what PRIOR_RATES and the
#: timing history are in). A family's own batch and side scale it.
UNIT_SIDE = 48
UNIT_BATCH = 32
#: A prediction pass costs about this share of a training step per image.
PREDICT_SHARE = 0.3
#: Share of a reference step (a full batch at 48x48) that does not depend on
#: the batch's pixels: on two cores a step of 3 images and one of 32 cost
#: about the same (synthetic quick grid), so half is a fair prior.
STEP_FIXED = 0.5
#: Seconds per image of steps done once per run when not cached, and fixed
#: costs, as priors (same machine and data as PRIOR_RATES).
STEP_PRIORS = {
    "features": 0.04,  # per image at 180 px, all cores
    "decode": 0.002,  # per image and size
    "preprocess": 0.01,  # per image: lesion-crop at 48 px (shades-of-gray 0.001)
    "audit": 0.004,  # per image, hashes and probes
    "report": 10.0,  # per run
}


def machine_key() -> str:
    """This machine, as timings are filed: host, system, processor and cores."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    text = f"{platform.node()}|{platform.system()}|{platform.machine()}|{cores}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def contention(kind: str, jobs: int, cores: int | None = None) -> float:
    """How much longer a trial of ``kind`` takes with ``jobs`` trials side by
    side than alone: the threads asked for over the cores there are, at least 1.

    On 2 cores this says two CNN trials together take twice as long each (no
    gain; measured 1.15x) and two XGBoost trials no longer (measured 1.7-1.9x
    gain): a little pessimistic, never optimistic.
    """
    if cores is None:
        from models.machine import available_cores

        cores = available_cores()
    return max(1.0, max(1, jobs) * THREADS.get(kind, 1) / max(1, cores))


def base_family(name: str) -> str:
    """A variant's family (``cnn@shades-of-gray`` -> ``cnn``): same cost."""
    from benchmarks.grid.families import FamilyVariant

    return FamilyVariant.parse(name).family


# -- the cost of one trial --------------------------------------------------
@dataclass(frozen=True)
class Work:
    """A trial's work in the units of its kind."""

    kind: str
    units: float


def trial_work(family: Family, profile: Profile, n_train: int, n_scored: int) -> Work:
    """The work of one fit of ``family`` on ``n_train`` rows, scoring ``n_scored``,
    from the training budget the family declares (``Family.training_budget``).

    Networks (families reading images): the budget's optimiser steps, each
    weighted by its pixels against a unit step (a fixed share of a step costs
    the same whatever the batch), plus a prediction pass over ``n_scored``.
    Others that fit: rows times the budget's rounds, in units of 400 rounds x
    1000 rows. Families that only combine their parts' scores: one unit.
    """
    n_train = max(1, n_train)
    if not family.fits:
        return Work("combine", 1.0)
    budget = family.training_budget(profile, n_train)
    if family.image_size is not None:
        pixels = (family.image_size / UNIT_SIDE) ** 2
        step = STEP_FIXED + (1 - STEP_FIXED) * pixels * budget.batch / UNIT_BATCH
        predict = PREDICT_SHARE * n_scored / UNIT_BATCH * pixels
        return Work("images", budget.steps * step + predict)
    return Work("table", n_train * budget.rounds / 400 / 1000)


# -- the timing history -----------------------------------------------------
def history_path(cache: str | Path | None = None) -> Path:
    from benchmarks.core.cache import cache_dir

    return cache_dir(cache) / HISTORY_FILE


def read_history(cache: str | Path | None = None) -> list[dict]:
    """This file's timings (every machine's); a missing or damaged file is
    empty: it is only ever a hint."""
    try:
        data = json.loads(history_path(cache).read_text("utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict) or data.get("version") != HISTORY_VERSION:
        return []
    entries = data.get("timings", [])
    return [entry for entry in entries if isinstance(entry, dict)]


def record_timings(entries: Iterable[dict], cache: str | Path | None = None) -> None:
    """Add timings (dicts with kind, family, strategy, units, seconds) for this
    machine, keeping the latest HISTORY_KEEP per family and strategy."""
    from benchmarks.core.cache import atomic_write_json

    new = [
        {**entry, "machine": machine_key(), "when": round(time.time())}
        for entry in entries
        if entry.get("units", 0) > 0 and entry.get("seconds", -1) >= 0
    ]
    if not new:
        return
    kept: dict[tuple, list[dict]] = {}
    for entry in read_history(cache) + new:
        group = (entry.get("machine"), entry.get("family"), entry.get("strategy"))
        kept.setdefault(group, []).append(entry)
    timings = [entry for group in kept.values() for entry in group[-HISTORY_KEEP:]]
    # A read-only cache loses the hint, not the run.
    with contextlib.suppress(OSError):
        atomic_write_json(
            history_path(cache), {"version": HISTORY_VERSION, "timings": timings}
        )


@dataclass
class Rates:
    """Seconds per work unit: by (family, strategy), by family, by kind; and
    each (family, strategy)'s timings as (units, seconds alone), oldest first.

    Timings are filed as the seconds the trial would have taken alone (divided
    by its ``contention``), so a history taken with --jobs 2 serves --jobs 1.
    """

    by_pair: dict[tuple[str, str], float] = field(default_factory=dict)
    by_family: dict[str, float] = field(default_factory=dict)
    by_kind: dict[str, float] = field(default_factory=dict)
    timed: dict[tuple[str, str], list[tuple[float, float]]] = field(
        default_factory=dict
    )

    @classmethod
    def of(cls, history: Iterable[Mapping[str, Any]]) -> Rates:
        """Medians of this machine's recorded timings."""
        here = machine_key()
        pairs: dict[tuple[str, str], list[float]] = {}
        families: dict[str, list[float]] = {}
        kinds: dict[str, list[float]] = {}
        timed: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for entry in history:
            if entry.get("machine") != here:
                continue
            try:
                family, kind = str(entry["family"]), str(entry["kind"])
                units = float(entry["units"])
                alone = float(entry["seconds"]) / contention(
                    kind, int(entry.get("jobs", 1))
                )
                rate = max(alone - OVERHEAD.get(kind, 0.0), 0.0) / units
            except (KeyError, TypeError, ValueError, ZeroDivisionError):
                continue
            if not math.isfinite(rate) or rate < 0:
                continue
            pair = (family, str(entry.get("strategy")))
            pairs.setdefault(pair, []).append(rate)
            families.setdefault(family, []).append(rate)
            kinds.setdefault(kind, []).append(rate)
            timed.setdefault(pair, []).append((units, alone))

        def median(groups: dict) -> dict:
            return {key: statistics.median(values) for key, values in groups.items()}

        return cls(median(pairs), median(families), median(kinds), timed)

    def seconds(self, family: str, strategy: str, work: Work) -> float:
        """Seconds a trial of ``work`` takes alone: the recent timings of the
        same family and strategy at about the same work, else the rate model."""
        pair = (base_family(family), strategy)
        near = [
            alone
            for units, alone in self.timed.get(pair, [])
            if 1 / NEAR_RATIO <= units / work.units <= NEAR_RATIO
        ]
        if near:
            return statistics.median(near[-NEAR_RECENT:])
        return OVERHEAD[work.kind] + work.units * self.rate(family, strategy, work.kind)

    def rate(self, family: str, strategy: str, kind: str) -> float:
        family = base_family(family)
        for table, key in (
            (self.by_pair, (family, strategy)),
            (self.by_family, family),
            (self.by_kind, kind),
        ):
            if key in table:
                return table[key]
        return PRIOR_RATES[kind]

    def step(self, name: str) -> float:
        """Seconds per unit of a once-per-run step (features, decode, audit, report)."""
        return self.by_family.get(f"step:{name}", STEP_PRIORS[name])


# -- a run's estimate -------------------------------------------------------
class Estimate:
    """Predicted seconds per trial, corrected by the trials that finish.

    A finished trial's measured/predicted ratio corrects the rest of its
    family (and, less, every other family: a busy machine slows all). The
    correction is shrunk towards 1 while few trials were measured, so that
    one slow first trial does not triple the ETA.
    """

    def __init__(self, predicted: Mapping[Trial, float]) -> None:
        self.predicted = dict(predicted)
        self._measured: dict[str, list[tuple[float, float]]] = {}

    def observe(self, trial: Trial, seconds: float) -> None:
        guess = self.predicted.get(trial)
        if guess is None or guess <= 0:
            return
        family = base_family(trial.model)
        self._measured.setdefault(family, []).append((guess, float(seconds)))

    def ratio(self, family: str) -> float:
        """Measured over predicted seconds for ``family``'s trials, shrunk."""
        pairs = [pair for values in self._measured.values() for pair in values]
        if not pairs:
            return 1.0
        every = sum(seconds for _, seconds in pairs) / sum(guess for guess, _ in pairs)
        weight = len(pairs) / (len(pairs) + PRIOR_STRENGTH)
        overall = weight * every + (1 - weight) * 1.0
        own = self._measured.get(base_family(family), [])
        if not own:
            return overall
        mine = sum(seconds for _, seconds in own) / sum(guess for guess, _ in own)
        weight = len(own) / (len(own) + PRIOR_STRENGTH)
        return weight * mine + (1 - weight) * overall

    def seconds(self, trial: Trial) -> float:
        return self.predicted.get(trial, 0.0) * self.ratio(trial.model)

    def remaining(
        self, trials: Iterable[Trial], in_flight: float = 0.0, *, jobs: int = 1
    ) -> float:
        """Seconds until ``trials`` are done, ``in_flight`` seconds into the
        first ``jobs`` of them (which are running)."""
        trials = list(trials)
        jobs = max(1, jobs)
        running = trials[:jobs]
        left = sum(self.seconds(trial) for trial in trials[jobs:])
        left += sum(max(0.0, self.seconds(trial) - in_flight) for trial in running)
        return left / min(jobs, max(1, len(trials)))

    def total(self, *, jobs: int = 1) -> float:
        return self.remaining(list(self.predicted), jobs=jobs)


@dataclass(frozen=True)
class Sizes:
    """Rows of the data a grid runs on: per fold's training part, the rows a
    trial scores, and the final fit's."""

    train: Mapping[int | None, int]
    scored: Mapping[int | None, int]


def sizes_of_folds(folds: Any, test_rows: int) -> Sizes:
    """Training and scored rows per fold from a fold column (-1: not in CV)."""
    import numpy as np

    folds = np.asarray(folds)
    in_cv = int((folds >= 0).sum())
    train: dict[int | None, int] = {}
    scored: dict[int | None, int] = {}
    for fold in sorted(set(folds[folds >= 0].tolist())):
        held = int((folds == fold).sum())
        train[fold] = in_cv - held
        scored[fold] = in_cv
    train[None] = in_cv
    scored[None] = in_cv + test_rows
    return Sizes(train, scored)


def sizes_of_counts(n_cv: int, n_test: int, n_folds: int) -> Sizes:
    """Sizes before folds exist (``run --dry-run``): equal folds."""
    held = n_cv / max(1, n_folds)
    train: dict[int | None, int] = dict.fromkeys(range(n_folds), round(n_cv - held))
    scored: dict[int | None, int] = dict.fromkeys(range(n_folds), n_cv)
    train[None] = n_cv
    scored[None] = n_cv + n_test
    return Sizes(train, scored)


def work_of(
    trials: Iterable[Trial], profile: Profile, sizes: Sizes, plugins: tuple = ()
) -> dict[Trial, Work]:
    from benchmarks.grid import families

    works = {}
    for trial in trials:
        spec = families.family(trial.model, plugins)
        n_train = sizes.train.get(trial.fold, 0)
        n_scored = sizes.scored.get(trial.fold, n_train)
        works[trial] = trial_work(spec, profile, n_train, n_scored)
    return works


def estimate_grid(
    works: Mapping[Trial, Work], rates: Rates | None = None, *, jobs: int = 1
) -> Estimate:
    """The run's Estimate from each trial's work and this machine's rates, each
    trial slowed by the ``jobs`` - 1 running beside it."""
    rates = rates or Rates()
    return Estimate(
        {
            trial: rates.seconds(trial.model, trial.strategy, work)
            * contention(work.kind, jobs)
            for trial, work in works.items()
        }
    )


def timing_entry(trial: Trial, work: Work, seconds: float, jobs: int = 1) -> dict:
    """One history entry for a finished trial, run with ``jobs`` side by side."""
    return {
        "kind": work.kind,
        "family": base_family(trial.model),
        "strategy": trial.strategy,
        "units": work.units,
        "seconds": seconds,
        "jobs": jobs,
    }


def step_entry(name: str, units: float, seconds: float) -> dict:
    """One history entry for a once-per-run step (units: images, or 1 run)."""
    return {
        "kind": "step",
        "family": f"step:{name}",
        "strategy": "",
        "units": units,
        "seconds": seconds,
    }
