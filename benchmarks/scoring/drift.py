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
#: What a channel is, in the words a warning uses (model.json keeps the names).
CHANNEL_WORDS = {
    "colour__skin_l": "the skin's lightness (CIELab L)",
    "colour__skin_a": "the skin's redness (CIELab a)",
    "colour__skin_b": "the skin's yellowness (CIELab b)",
    "R": "red",
    "G": "green",
    "B": "blue",
}
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
    """A clause saying how the scored images differ from the training images,
    or None when they look alike; what follows from it depends on the threshold
    in use, which the caller says."""
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
        f"({reference['what']}: {CHANNEL_WORDS.get(channel, channel)} differs by "
        f"{distance.max():.1f} training standard deviations on average; "
        f"{outliers:.0%} of images lie beyond {OUTLIER_SD:.0f})"
    )


#: Scored images whose median aspect (width / height) differs from the training
#: images' by more than this share are squashed differently to a square; so are
#: images whose median side differs by more than ``SIZE_FACTOR`` times.
ASPECT_TOLERANCE = 0.10
SIZE_FACTOR = 2.0


def size_statistics(widths: np.ndarray, heights: np.ndarray) -> dict:
    """What model.json keeps of the training images' sizes, as decoded files."""
    widths = np.asarray(widths, dtype=np.float64)
    heights = np.asarray(heights, dtype=np.float64)
    return {
        "n": len(widths),
        "median_width": float(np.median(widths)),
        "median_height": float(np.median(heights)),
        "median_aspect": float(np.median(widths / heights)),
    }


def size_shift(reference: dict, sizes: np.ndarray) -> str | None:
    """A clause when the scored files' shape or size is unlike the training
    images', or None. ``sizes`` holds (width, height) per image.

    Why: every image is squashed to a square before a model reads it, so a
    4:3 photo scored by a model trained on square crops reaches it stretched,
    and the shape features (asymmetry, border) change with it; a file of
    another size, resized to the model's input, shows its lesion at another
    scale. The clause names only what differs.
    """
    sizes = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    if not len(sizes):
        return None
    aspect = float(np.median(sizes[:, 0] / sizes[:, 1]))
    side = float(np.median(np.sqrt(sizes[:, 0] * sizes[:, 1])))
    trained = np.sqrt(reference["median_width"] * reference["median_height"])
    aspect_off = abs(aspect / reference["median_aspect"] - 1) > ASPECT_TOLERANCE
    size_off = max(side / trained, trained / side) > SIZE_FACTOR
    if not (aspect_off or size_off):
        return None
    width, height = np.median(sizes, axis=0)
    consequence = (
        "every image is squashed to a square before scoring, so the lesions' "
        "shapes reach the model stretched unlike its training images'"
        if aspect_off
        else "resized to the model's input, their lesions reach it at another "
        "scale than its training images'"
    )
    return (
        f"these {len(sizes)} images are typically {width:.0f}x{height:.0f} "
        f"(aspect {aspect:.2f}) where the model's training images were "
        f"{reference['median_width']:.0f}x{reference['median_height']:.0f} "
        f"(aspect {reference['median_aspect']:.2f}, medians); {consequence}"
    )
