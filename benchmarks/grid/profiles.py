"""Run profiles: how much work a run does, which the config names and the
families read (below both, so neither imports the other)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """How much work a run does: folds and training budgets.

    Why budgets in optimiser steps as well as epochs: a 375-image synthetic fold
    has a tenth of isic9's steps per epoch, and a CNN given isic9's epochs there
    stays far from converged.
    """

    name: str
    folds: int
    cnn_epochs: int
    cnn_min_steps: int
    seed_cnn_epochs: int
    xgb_learning_rate: float
    xgb_max_rounds: int


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        folds=3,
        cnn_epochs=8,
        cnn_min_steps=80,
        seed_cnn_epochs=2,
        xgb_learning_rate=0.15,
        xgb_max_rounds=400,
    ),
    "full": Profile(
        name="full",
        folds=5,
        # 40 epochs at batch 32: on isic9 the class-weighted CNN reached 0.569
        # balanced accuracy (0.544 with 30; 0.592 with 45, but a trial then
        # took over issue 4's 2 minutes).
        cnn_epochs=40,
        cnn_min_steps=600,
        seed_cnn_epochs=20,
        xgb_learning_rate=0.05,
        xgb_max_rounds=2000,
    ),
}
