"""Are the images triage scores like the ones the model was trained on?

A model's threshold and figures hold for images like its training images. A
folder from another dermoscope or clinic can differ in ways a score does not
show, so ``train`` records what the training images looked like and
``triage`` compares the folder with it and says so when they differ.
"""

from __future__ import annotations

import numpy as np

#: Colour of the skin around the lesion (Lab): it describes the camera and the
#: light more than the lesion.
SKIN_FEATURES = ("colour__skin_l", "colour__skin_a", "colour__skin_b")
#: A folder whose mean lies further than this many training standard
#: deviations from the training mean, in any channel, is unlike the training
#: images; so is one where more than ``OUTLIER_SHARE`` of images lie beyond
#: ``OUTLIER_SD`` deviations.
SHIFT_SD = 1.0
OUTLIER_SD = 3.0
OUTLIER_SHARE = 0.25


def skin_columns(names: list[str]) -> list[int]:
    return [names.index(name) for name in SKIN_FEATURES]


def mean_colour(images: np.ndarray) -> np.ndarray:
    """Each image's mean R, G, B."""
    return np.asarray(images, dtype=np.float64).mean(axis=(1, 2))


def statistics(values: np.ndarray, what: str, channels: list[str]) -> dict:
    """What model.json keeps of the training images: per channel mean and std."""
    values = np.asarray(values, dtype=np.float64)
    return {
        "what": what,
        "channels": channels,
        "n": len(values),
        "mean": values.mean(axis=0).tolist(),
        "std": values.std(axis=0).tolist(),
    }


def shift(reference: dict, values: np.ndarray) -> str | None:
    """A sentence saying how the scored images differ from the training images,
    or None when they look alike."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return None
    mean, std = np.asarray(reference["mean"]), np.asarray(reference["std"])
    std = np.where(std > 0, std, 1.0)
    distance = np.abs(values.mean(axis=0) - mean) / std
    outliers = float((np.abs(values - mean) / std > OUTLIER_SD).any(axis=1).mean())
    if distance.max() <= SHIFT_SD and outliers <= OUTLIER_SHARE:
        return None
    channel = reference["channels"][int(distance.argmax())]
    return (
        f"these {len(values)} images are unlike the model's training images "
        f"({reference['what']}: {channel} differs by {distance.max():.1f} training "
        f"standard deviations on average; {outliers:.0%} of images lie beyond "
        f"{OUTLIER_SD:.0f}); its threshold and figures may not hold for them"
    )
