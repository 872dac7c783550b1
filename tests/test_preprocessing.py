"""Input preprocessing: Shades of Gray removes a colour cast and keeps the rest;
lesion-crop frames the lesion and leaves the frame out."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.core.errors import UserError
from benchmarks.data.datasets import generate_lesions
from benchmarks.data.preprocessing import (
    PREPROCESSING,
    lesion_crop,
    preprocess,
    shades_of_gray,
)

SIZE = 32


@pytest.fixture(scope="module")
def lesions() -> np.ndarray:
    return generate_lesions({"melanoma": 3, "nevus": 3}, size=SIZE, seed=0).images


def test_a_colour_cast_is_removed(lesions):
    """The same scene under a blue cast (R x0.8, B x1.2, as isic9's Test against
    its Train) comes out as it does under white light, up to brightness."""
    cast = np.clip(np.rint(lesions * np.array([0.8, 1.0, 1.2])), 0, 255)
    cast = cast.astype(np.uint8)
    plain = shades_of_gray(lesions).astype(float)
    corrected = shades_of_gray(cast).astype(float)
    brightness = corrected.sum(axis=(1, 2, 3)) / plain.sum(axis=(1, 2, 3))
    np.testing.assert_allclose(brightness, 1.0, atol=0.05)
    scaled = plain * brightness[:, None, None, None]
    assert np.abs(corrected - scaled).mean() < 1.5  # grey levels, of 255
    assert np.abs(cast.astype(float) - lesions).max() > 25


def test_grey_images_are_unchanged_and_blank_ones_stay_blank():
    grey = np.linspace(25, 230, 2 * SIZE * SIZE).round().astype(np.uint8)
    grey = np.repeat(grey.reshape(2, SIZE, SIZE, 1), 3, axis=-1)
    np.testing.assert_array_equal(shades_of_gray(grey), grey)
    blank = np.zeros((1, SIZE, SIZE, 3), np.uint8)
    np.testing.assert_array_equal(shades_of_gray(blank), blank)


def test_each_image_is_corrected_on_its_own(lesions):
    """No statistic crosses images: one image alone gives what it gives in a batch."""
    together = shades_of_gray(lesions)
    for index in range(len(lesions)):
        alone = shades_of_gray(lesions[index : index + 1])
        np.testing.assert_array_equal(alone[0], together[index])


def test_none_leaves_images_as_shot_and_unknown_names_are_one_line(lesions):
    assert preprocess("none", lesions) is lesions
    assert set(PREPROCESSING) == {"none", "shades-of-gray", "lesion-crop"}
    with pytest.raises(UserError, match="--preprocessing grey: unknown; choose"):
        preprocess("grey", lesions)


def _small_lesion_in_a_dark_frame(size: int = 64) -> np.ndarray:
    """Skin, a dark lesion of a fifth of the side off centre, black corners."""
    image = np.full((size, size, 3), (205, 160, 140), np.uint8)
    rows, columns = np.mgrid[:size, :size]
    lesion = (rows - 24) ** 2 + (columns - 38) ** 2 <= (size // 10) ** 2
    image[lesion] = (90, 55, 40)
    corner = (rows - size / 2) ** 2 + (columns - size / 2) ** 2 > (0.55 * size) ** 2
    image[corner] = 0
    return image[None]


def test_lesion_crop_fills_the_picture_with_the_lesion_and_drops_the_frame():
    image = _small_lesion_in_a_dark_frame()
    cropped = lesion_crop(image)
    assert cropped.shape == image.shape and cropped.dtype == np.uint8

    def share(picture: np.ndarray, lesion: bool) -> float:
        brightest = picture[0].max(axis=-1)
        found = (brightest > 20) & (brightest < 150) if lesion else brightest <= 20
        return float(found.mean())

    # The lesion grows from 3% of the picture to a third; the black corners go.
    assert share(image, lesion=True) < 0.05 and share(image, lesion=False) > 0.1
    assert 0.2 < share(cropped, lesion=True) < 0.6
    assert share(cropped, lesion=False) == 0


def test_lesion_crop_works_image_by_image(lesions):
    together = lesion_crop(lesions)
    for index in range(len(lesions)):
        np.testing.assert_array_equal(
            lesion_crop(lesions[index : index + 1])[0], together[index]
        )
