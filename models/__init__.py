"""Model families behind one interface: XGBoost on features, CNNs on images."""

from __future__ import annotations

from typing import TYPE_CHECKING

from models._batch import default_batch_size
from models._melanoma_head import MelanomaHeadClassifier
from models._xgboost import XGBoostClassifier
from models.machine import available_cores

if TYPE_CHECKING:
    from models._keras_classifier import KerasImageClassifier
    from models._keras_data import resize_images

__all__ = [
    "KerasImageClassifier",
    "MelanomaHeadClassifier",
    "XGBoostClassifier",
    "available_cores",
    "default_batch_size",
    "resize_images",
]


def __getattr__(name: str):
    # TensorFlow takes seconds to import; only CNN users pay for it.
    if name == "KerasImageClassifier":
        from models import _keras_classifier

        return getattr(_keras_classifier, name)
    if name == "resize_images":
        from models._keras_data import resize_images

        return resize_images
    raise AttributeError(f"module 'models' has no attribute {name!r}")
