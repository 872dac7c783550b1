"""The built-in preprocessings: images as shot, Shades of Gray and lesion-crop.

Each takes and returns uint8 images (n, h, w, 3), one image at a time in
effect, so it cannot leak anything between images or across a split.
"""

from __future__ import annotations

import numpy as np

from benchmarks.data.preprocessing._spec import Preprocessing

#: Minkowski power of Shades of Gray: Barata et al. (2015) found 6 best for
#: dermoscopy.
SHADES_OF_GRAY_POWER = 6.0
#: Images transformed at a time, so memory stays flat on a large array.
_CHUNK = 256
#: The skin kept around the lesion by lesion-crop, as a share of the lesion's
#: longer side on each side: enough for the colours relative to the skin.
LESION_MARGIN = 0.25


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


def _crop_box(mask: np.ndarray, margin: float) -> tuple[int, int, int]:
    """(top, left, side) of the square around the mask's bounding box plus
    ``margin``, moved inside the image and no larger than it."""
    height, width = mask.shape
    rows, columns = np.nonzero(mask)
    top, bottom = rows.min(), rows.max() + 1
    left, right = columns.min(), columns.max() + 1
    side = round(max(bottom - top, right - left) * (1 + 2 * margin))
    side = min(max(side, 8), height, width)
    centre_row, centre_column = (top + bottom) / 2, (left + right) / 2
    top = int(np.clip(round(centre_row - side / 2), 0, height - side))
    left = int(np.clip(round(centre_column - side / 2), 0, width - side))
    return top, left, side


def lesion_crop(images: np.ndarray, margin: float = LESION_MARGIN) -> np.ndarray:
    """Crop each image to its segmented lesion plus a ring of skin, back at its
    own size.

    Why: the frame, vignette, rulers and the lesion's share of the picture say
    more about the dermoscope and the archive than about the lesion. Where
    segmentation finds nothing, the centred ellipse it falls back to is used.
    """
    import cv2

    from features import segment_lesion

    out = np.empty_like(images)
    for index, image in enumerate(images):
        mask, _ = segment_lesion(np.ascontiguousarray(image))
        top, left, side = _crop_box(mask, margin)
        crop = image[top : top + side, left : left + side]
        height, width = image.shape[:2]
        out[index] = cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)
    return out


BUILTIN: tuple[Preprocessing, ...] = (
    Preprocessing("none", "images as shot", _as_shot),
    Preprocessing(
        "shades-of-gray",
        "remove each image's colour cast (Shades of Gray colour constancy, "
        "power 6); for images from other cameras or archives",
        shades_of_gray,
    ),
    Preprocessing(
        "lesion-crop",
        "crop each image to its segmented lesion and a ring of skin, then "
        "resize: frame, vignette, rulers and scale go",
        lesion_crop,
    ),
)
