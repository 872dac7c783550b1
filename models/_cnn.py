"""Keras network factories: the course's seed CNN, our small CNN, a transfer model."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import keras
from keras import layers

logger = logging.getLogger(__name__)

#: Each family's default square input side in pixels (see build_cnn for why 48).
DEFAULT_IMAGE_SIZES: dict[str, int] = {"seed-cnn": 180, "cnn": 48, "transfer": 96}
#: Each family's default training augmentation (``models._keras_data``); the
#: seed CNN trains on plain images, as the course did.
DEFAULT_AUGMENTATIONS: dict[str, str] = {
    "seed-cnn": "none",
    "cnn": "dihedral",
    "transfer": "dihedral",
}

#: Name of the layer whose output ``KerasImageClassifier.embed`` returns.
EMBEDDING_LAYER = "embedding"

_BACKBONES: dict[str, Callable[..., keras.Model]] = {
    "MobileNetV3Small": keras.applications.MobileNetV3Small,
    "MobileNetV3Large": keras.applications.MobileNetV3Large,
    "EfficientNetB0": keras.applications.EfficientNetB0,
}
_MIN_TRANSFER_SIDE = 32


def build_seed_cnn(
    input_shape: tuple[int, int, int] = (180, 180, 3),
    n_classes: int = 9,
    *,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> keras.Model:
    """The melanoma-detection course's network, layer for layer.

    Why: it is the reference row of the benchmark, the model that overfits
    (train accuracy ~0.85 against ~0.55 on validation), so it stays exactly as
    taught: no augmentation, no batch norm, no dropout, Adam at 1e-3.
    """
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    for block, n_filters in enumerate((16, 32, 64), start=1):
        x = layers.Conv2D(
            n_filters, 3, padding="same", activation="relu", name=f"block{block}_conv"
        )(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name=EMBEDDING_LAYER)(x)
    outputs = layers.Dense(n_classes, name="logits", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name="seed_cnn")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _conv_block(x, n_filters: int, *, n_convs: int, separable: bool, name: str):
    """``n_convs`` x (convolution, batch norm, ReLU), then 2x2 max pooling."""
    convolution = layers.SeparableConv2D if separable else layers.Conv2D
    for index in range(1, n_convs + 1):
        x = convolution(
            n_filters, 3, padding="same", use_bias=False, name=f"{name}_conv{index}"
        )(x)
        # Momentum 0.9, not 0.99: with ~30 steps an epoch the moving statistics
        # must settle within an epoch or two, or validation loss is meaningless.
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_norm{index}")(x)
        x = layers.ReLU(name=f"{name}_relu{index}")(x)
    return layers.MaxPooling2D(2, name=f"{name}_pool")(x)


def _compile(
    model: keras.Model,
    *,
    learning_rate: float,
    decay_steps: int | None,
    weight_decay: float,
    label_smoothing: float,
) -> keras.Model:
    """AdamW on a cosine schedule; one-hot targets so label smoothing works."""
    schedule = (
        keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.05)
        if decay_steps
        else learning_rate
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay),
        loss=keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=label_smoothing
        ),
        metrics=["accuracy"],
    )
    return model


def build_cnn(
    input_shape: tuple[int, int, int] = (48, 48, 3),
    n_classes: int = 9,
    *,
    width: int = 24,
    n_blocks: int = 4,
    deep_convs: int = 1,
    separable: bool = False,
    dropout: float = 0.3,
    label_smoothing: float = 0.1,
    learning_rate: float = 3e-3,
    weight_decay: float = 1e-3,
    decay_steps: int | None = None,
    seed: int = 0,
) -> keras.Model:
    """Our default CNN, sized to generalise from ~2,000 dermoscopic images.

    Why each part: batch norm and global average pooling keep the parameter count
    near 200k (the seed CNN has 10M, mostly in its Dense layer, and memorises);
    dropout, label smoothing and AdamW's weight decay regularise the head; a
    cosine learning-rate schedule converges in a fixed number of epochs. At 48x48
    pixels and ``width`` 24 it trains at several hundred images/s on two cores,
    and on isic9 it matched 64x64 nets at less cost. Augmentation lives in the
    training ``tf.data`` pipeline (``models._keras_data``), so this model is
    exactly what predicts. Outputs are logits.

    ``width`` is the first block's filter count, doubled in each later block;
    ``deep_convs`` convolutions run in each block of the deeper half and
    ``separable`` makes all but the first block depthwise-separable (fewer
    multiply-adds, but no faster on two CPU cores at these widths).
    ``decay_steps`` is the number of optimiser steps over which the learning rate
    decays (epochs x batches per epoch); None keeps it constant.
    Colour constancy, where a run asks for it, is done to the images before
    they reach the network (``benchmarks.data.preprocessing``).
    """
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    for block in range(n_blocks):
        x = _conv_block(
            x,
            width * 2**block,
            n_convs=deep_convs if block >= n_blocks // 2 else 1,
            separable=separable and block > 0,
            name=f"block{block + 1}",
        )
    x = layers.GlobalAveragePooling2D(name=EMBEDDING_LAYER)(x)
    x = layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = layers.Dense(n_classes, name="logits", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name="cnn")
    return _compile(
        model,
        learning_rate=learning_rate,
        decay_steps=decay_steps,
        weight_decay=weight_decay,
        label_smoothing=label_smoothing,
    )


def _imagenet_backbone(factory: Callable[..., keras.Model], name: str, **options):
    """The backbone with ImageNet weights, or a one-line error when offline."""
    try:
        return factory(weights="imagenet", **options)
    except Exception as error:  # keras.utils.get_file raises a bare Exception
        failed = re.match(r"URL fetch failure on (\S+):", str(error))
        if failed is None:
            raise
        raise ValueError(
            f"weights='imagenet': cannot download the {name} weights (offline?); "
            f"fetch {failed.group(1)} on a connected machine and pass "
            "weights='/path/to/that.h5'"
        ) from None


def build_transfer(
    input_shape: tuple[int, int, int] = (96, 96, 3),
    n_classes: int = 9,
    *,
    backbone: str = "MobileNetV3Small",
    weights: str | Path | None = None,
    dropout: float = 0.2,
    label_smoothing: float = 0.1,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-4,
    decay_steps: int | None = None,
    seed: int = 0,
) -> keras.Model:
    """A ``keras.applications`` backbone with a fresh classification head.

    ``weights`` is 'imagenet' (downloads; fails with a clear message offline),
    the path of a local weights file for the backbone, or None (random start).
    The backbones listed take raw 0-255 pixels: their preprocessing is built in.
    Outputs are logits.
    """
    if backbone not in _BACKBONES:
        choices = ", ".join(_BACKBONES)
        raise ValueError(f"backbone={backbone!r}: unknown; choose from {choices}")
    if min(input_shape[:2]) < _MIN_TRANSFER_SIDE:
        raise ValueError(
            f"input_shape={input_shape}: {backbone} needs at least "
            f"{_MIN_TRANSFER_SIDE}x{_MIN_TRANSFER_SIDE} pixels"
        )
    if weights not in (None, "imagenet") and not Path(weights).is_file():
        raise ValueError(
            f"weights={str(weights)!r}: no such file; pass None, 'imagenet' or the "
            "path of a weights file"
        )
    keras.utils.set_random_seed(seed)
    options = {"include_top": False, "input_shape": input_shape, "pooling": "avg"}
    factory = _BACKBONES[backbone]
    if weights == "imagenet":
        base = _imagenet_backbone(factory, backbone, **options)
    else:
        base = factory(weights=None if weights is None else str(weights), **options)
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Identity(name=EMBEDDING_LAYER)(base(inputs))
    x = layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = layers.Dense(n_classes, name="logits", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name=f"transfer_{backbone}")
    return _compile(
        model,
        learning_rate=learning_rate,
        decay_steps=decay_steps,
        weight_decay=weight_decay,
        label_smoothing=label_smoothing,
    )


#: Architecture name -> factory; ``KerasImageClassifier(architecture=...)`` reads it.
CNN_FACTORIES: dict[str, Callable[..., keras.Model]] = {
    "seed-cnn": build_seed_cnn,
    "cnn": build_cnn,
    "transfer": build_transfer,
}
