"""Model families behind one interface: XGBoost on features, CNNs on images."""

from __future__ import annotations

from typing import TYPE_CHECKING

from models._machine import available_cores
from models._xgboost import XGBoostClassifier

if TYPE_CHECKING:
    from models._keras_classifier import KerasImageClassifier

__all__ = ["KerasImageClassifier", "XGBoostClassifier", "available_cores"]


def __getattr__(name: str):
    # TensorFlow takes seconds to import; only CNN users pay for it.
    if name == "KerasImageClassifier":
        from models._keras_classifier import KerasImageClassifier

        return KerasImageClassifier
    raise AttributeError(f"module 'models' has no attribute {name!r}")
