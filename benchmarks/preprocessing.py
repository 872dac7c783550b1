"""Input preprocessing: named image transforms, applied the same way wherever a
family reads images (its trials, ``train``'s final fit and ``triage``).

Each takes and returns uint8 images (n, h, w, 3), one image at a time in
effect, so it cannot leak anything between images or across a split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.errors import UserError

#: Minkowski power of Shades of Gray: Barata et al. (2015) found 6 best for
#: dermoscopy.
SHADES_OF_GRAY_POWER = 6.0
#: Images transformed at a time, so memory stays flat on a large array.
_CHUNK = 256


@dataclass(frozen=True)
class Preprocessing:
    name: str
    description: str
    apply: Callable[[np.ndarray], np.ndarray]


def _as_shot(images: np.ndarray) -> np.ndarray:
    return images


def shades_of_gray(images: np.ndarray, power: float = SHADES_OF_GRAY_POWER):
    """Divide each image by its Shades of Gray illuminant (Finlayson and Trezzi,
    2004): the Minkowski ``power``-mean of each channel.

    Why: dermoscopes, lighting and archives give images different colour casts,
    and a model learns the cast of each class's source. A white illuminant
    leaves an image unchanged; a blank image stays blank.
    """
    out = np.empty_like(images)
    for start in range(0, len(images), _CHUNK):
        pixels = images[start : start + _CHUNK].astype(np.float32) / 255.0
        illuminant = np.mean(pixels**power, axis=(1, 2), keepdims=True) ** (1 / power)
        length = np.sqrt(np.sum(illuminant**2, axis=-1, keepdims=True))
        gain = length / (illuminant * np.sqrt(3.0) + 1e-6)
        balanced = np.clip(pixels * gain, 0.0, 1.0)
        out[start : start + _CHUNK] = np.rint(balanced * 255.0).astype(images.dtype)
    return out


PREPROCESSING: dict[str, Preprocessing] = {
    entry.name: entry
    for entry in (
        Preprocessing("none", "images as shot", _as_shot),
        Preprocessing(
            "shades-of-gray",
            "remove each image's colour cast (Shades of Gray colour constancy, "
            "power 6); for images from other cameras or archives",
            shades_of_gray,
        ),
    )
}


def get(name: str) -> Preprocessing:
    if name not in PREPROCESSING:
        raise UserError(
            f"--preprocessing {name}: unknown; choose from {', '.join(PREPROCESSING)}"
        )
    return PREPROCESSING[name]


def preprocess(name: str, images: np.ndarray) -> np.ndarray:
    """``images`` after the preprocessing ``name``."""
    return get(name).apply(images)
