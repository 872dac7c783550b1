"""Colour constancy inside the network: each image's colour cast removed."""

from __future__ import annotations

import math

import keras
from keras import layers, ops

#: Colour constancy methods a CNN can start with; 'none' leaves colours as shot.
COLOUR_CONSTANCY: tuple[str, ...] = ("none", "shades-of-gray")


@keras.saving.register_keras_serializable(package="melanoma_bench")
class ShadesOfGray(layers.Layer):
    """Divide each image by its Shades of Gray illuminant (Finlayson and
    Trezzi, 2004): the Minkowski ``power``-mean of each channel.

    Why: dermoscopes, lighting and archives give images different colour casts.
    isic9's Test images are bluish (mean RGB 149, 141, 153 for melanoma) where
    Train is reddish (184, 153, 138), and a network learns the cast of each
    class's source. Power 6 is the value Barata et al. (2015) found best for
    dermoscopy. As a layer, the saved model applies it to whatever it scores.
    Input and output are pixels in 0-1; a blank image stays blank.
    """

    def __init__(self, power: float = 6.0, **kwargs) -> None:
        super().__init__(**kwargs)
        if not power >= 1:
            raise ValueError(f"power={power!r}: choose a number >= 1, such as 6")
        self.power = float(power)

    def call(self, images):
        pixels = ops.maximum(images, 0.0)
        illuminant = ops.power(
            ops.mean(ops.power(pixels, self.power), axis=(1, 2), keepdims=True),
            1.0 / self.power,
        )
        # A white illuminant (1, 1, 1) / sqrt(3) leaves the image unchanged.
        length = ops.sqrt(ops.sum(ops.square(illuminant), axis=-1, keepdims=True))
        gain = length / (illuminant * math.sqrt(3.0) + 1e-6)
        return ops.clip(pixels * gain, 0.0, 1.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "power": self.power}
