"""What a model family is: the frozen spec every registry entry fills in."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks.grid.families._variant import FamilyVariant

if TYPE_CHECKING:
    from benchmarks.grid.profiles import Profile

#: Inputs a family may read, one block of columns each, in the order named.
FEATURES = "features"  # the handcrafted ABCD/colour/texture features
IMAGES = "images"  # decoded images at the family's ``image_size``
EMBEDDINGS = "embeddings"  # its parts' penultimate-layer outputs
INPUTS = (FEATURES, IMAGES, EMBEDDINGS)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class FitContext:
    """What a family's factory may read to build the estimator of one fit.

    ``n_train`` counts the training rows before the strategy, ``n_fit`` after
    it (oversampling can double a fold); ``options`` are the family's
    ``--model-option`` settings. ``classes`` are every class of the run: a
    training part may lack some (a source without dermatofibromas) that its
    evaluation part holds, and a network given them all scores those images
    rather than refusing them.
    """

    model: str
    strategy: str
    fold: int | None
    profile: Profile
    seed: int
    n_threads: int
    n_train: int
    n_fit: int
    options: dict[str, str] = field(default_factory=dict)
    precision: str = "float32"
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Budget:
    """How much training one fit of a family does, as the family declares it.

    Why declared: the cost model (benchmarks.grid.estimate) prices a trial from
    it, so a plug-in's estimate follows its own training, not a built-in's.
    A network (a family reading images) does ``steps`` optimiser steps of
    ``batch`` images at its ``image_size``; any other fitting family does
    ``rounds`` passes (boosting rounds, iterations) over its training rows.
    """

    steps: int = 0
    batch: int = 0
    rounds: int = 0


def default_budget(spec: Family, profile: Profile, n_train: int) -> Budget:
    """The budget of a family declaring none: a network trains as the built-in
    cnn (the profile's epochs at the default batch, with its step floor); any
    other family as XGBoost (the profile's ``xgb_max_rounds``)."""
    if spec.image_size is None:
        return Budget(rounds=profile.xgb_max_rounds)
    return network_budget(profile, n_train)


def network_budget(profile: Profile, n_train: int) -> Budget:
    """The built-in networks' budget: the profile's epochs over ``n_train``
    images at the default batch, at least its floor of steps."""
    from models import default_batch_size

    batch = default_batch_size(n_train)
    per_epoch = max(1, n_train // batch)
    return Budget(
        steps=network_epochs(profile, n_train, n_train, batch) * per_epoch, batch=batch
    )


def network_epochs(profile: Profile, n_train: int, n_fit: int, batch: int) -> int:
    """Epochs giving every strategy the same image budget as 'none'.

    Oversampling can double a fold (``n_fit`` rows from ``n_train``); counting
    epochs over the resampled rows would give those strategies twice the
    training (and time). The profile's step floor keeps small data sets from
    stopping unconverged.
    """
    epochs = max(1, round(profile.cnn_epochs * n_train / n_fit))
    return max(epochs, math.ceil(profile.cnn_min_steps / max(1, n_fit // batch)))


def mean_of(probabilities: Sequence[np.ndarray]) -> np.ndarray:
    """Late fusion: the mean of the parts' class probabilities, row by row."""
    return np.mean(probabilities, axis=0)


@dataclass(frozen=True)
class Family:
    """One model family of the grid.

    A family either fits an estimator (``make``) on its ``inputs``, or, with
    ``make`` None, combines its ``parts``' scores (``combine``). ``make``
    returns an unfitted scikit-learn-style classifier: ``fit(X, y,
    sample_weight=...)`` (and ``validation_data=`` if it takes it, for
    learning curves), ``predict_proba``, ``classes_``; ``embed`` if another
    family reads its embeddings. A family reading ``EMBEDDINGS`` or combining
    scores reads its parts' trials of the same strategy and fold.

    ``reference`` marks a reference row (by default under the first strategy
    only, run last); ``default`` puts it in ``run all``; ``preprocessed``
    False keeps its images as shot whatever ``--preprocessing`` says;
    ``colour`` is its index in the report's colour-blind palette (None: the
    next free one). ``feature_columns`` picks the handcrafted features it reads
    from their names (None: all); ``acquisition_invariant`` says its inputs do
    not describe the camera, which the leaderboard's rule for "best" reads when
    the shortcut audit flags the data. ``preprocessing`` is set on a grid
    variant, ``NAME@PREPROCESSING``, which reads its images and features (and
    its parts theirs) preprocessed so; None reads the run's --preprocessing.
    ``budget(profile, n_train)`` declares how much one fit on ``n_train`` rows
    trains (``Budget``), which the run's time estimate prices; None: the
    ``default_budget`` (a network as the cnn, any other family as XGBoost).
    """

    name: str
    description: str
    inputs: tuple[str, ...] = ()
    make: Callable[[FitContext], Any] | None = None
    image_size: int | None = None
    parts: tuple[str, ...] = ()
    combine: Callable[[Sequence[np.ndarray]], np.ndarray] | None = None
    reference: bool = False
    default: bool = False
    preprocessed: bool = True
    colour: int | None = None
    feature_columns: Callable[[Sequence[str]], Sequence[int]] | None = None
    acquisition_invariant: bool = False
    preprocessing: str | None = None
    budget: Callable[[Profile, int], Budget] | None = None

    def __post_init__(self) -> None:
        where = f"model family {self.name!r}"
        parsed = FamilyVariant.parse(self.name)
        if parsed.preprocessing and parsed.preprocessing != self.preprocessing:
            raise ValueError(
                f"{where}: a variant NAME@X reads inputs preprocessed by X"
            )
        if not _NAME.match(parsed.family) or "__" in self.name:
            raise ValueError(
                f"{where}: a name is lower-case letters, digits, '-' and '_' "
                "(no '__'), such as 'logreg'"
            )
        unknown = [kind for kind in self.inputs if kind not in INPUTS]
        if unknown:
            raise ValueError(
                f"{where}: input {unknown[0]!r} unknown; choose from "
                f"{', '.join(INPUTS)}"
            )
        if (self.make is None) == (self.combine is None):
            raise ValueError(f"{where}: give either make or combine, not both")
        if self.make is not None and not self.inputs:
            raise ValueError(f"{where}: name the inputs its estimator reads")
        if IMAGES in self.inputs and (
            len(self.inputs) > 1 or not isinstance(self.image_size, int)
        ):
            raise ValueError(
                f"{where}: images are read alone and at an image_size (pixels)"
            )
        if (EMBEDDINGS in self.inputs or self.combine is not None) and not self.parts:
            raise ValueError(f"{where}: name the parts whose output it reads")
        if self.name in self.parts:
            raise ValueError(f"{where}: cannot be its own part")

    @property
    def fits(self) -> bool:
        """Whether it fits an estimator (else it combines its parts' scores)."""
        return self.make is not None

    def training_budget(self, profile: Profile, n_train: int) -> Budget:
        """What one fit on ``n_train`` rows trains: the declared budget, else
        the default one."""
        if self.budget is not None:
            return self.budget(profile, n_train)
        return default_budget(self, profile, n_train)

    @property
    def reads_features(self) -> bool:
        return FEATURES in self.inputs

    def input_preprocessing(self, default: str) -> str:
        """The preprocessing its inputs get, given the run's ``default``."""
        if not self.preprocessed:
            return "none"
        return self.preprocessing or default

    @property
    def reads_embeddings(self) -> bool:
        return EMBEDDINGS in self.inputs
