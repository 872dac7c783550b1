"""Shades of Gray colour constancy: what it removes, what it keeps, how it saves."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from benchmarks.config import COLOUR_CONSTANCY as RUN_CHOICES  # noqa: E402
from benchmarks.datasets import generate_lesions  # noqa: E402
from models._cnn import build_cnn  # noqa: E402
from models._colour import COLOUR_CONSTANCY, ShadesOfGray  # noqa: E402
from models._keras_classifier import KerasImageClassifier  # noqa: E402

SIZE = 32


@pytest.fixture(scope="module")
def lesions() -> np.ndarray:
    """Pixels in 0-1, as the layer sees them after rescaling."""
    images = generate_lesions({"melanoma": 3, "nevus": 3}, size=SIZE, seed=0).images
    return images.astype(np.float32) / 255


def test_a_colour_cast_is_removed(lesions):
    """The same scene under a blue cast (R x0.8, B x1.2, as isic9's Test against
    its Train) comes out as it does under white light, up to brightness."""
    cast = lesions * np.array([0.8, 1.0, 1.2], np.float32)
    layer = ShadesOfGray()
    plain, corrected = np.asarray(layer(lesions)), np.asarray(layer(cast))
    brightness = corrected.sum(axis=(1, 2, 3)) / plain.sum(axis=(1, 2, 3))
    np.testing.assert_allclose(brightness, 1.0, atol=0.05)
    np.testing.assert_allclose(
        corrected, plain * brightness[:, None, None, None], atol=2e-3
    )
    assert np.abs(cast - lesions).max() > 0.1


def test_grey_images_are_unchanged_and_blank_ones_stay_blank():
    grey = np.linspace(0.1, 0.9, 2 * SIZE * SIZE, dtype=np.float32)
    grey = np.repeat(grey.reshape(2, SIZE, SIZE, 1), 3, axis=-1)
    np.testing.assert_allclose(np.asarray(ShadesOfGray()(grey)), grey, atol=1e-5)
    blank = np.zeros((1, SIZE, SIZE, 3), np.float32)
    np.testing.assert_array_equal(np.asarray(ShadesOfGray()(blank)), blank)


def test_output_stays_in_pixel_range(lesions):
    out = np.asarray(ShadesOfGray()(lesions * np.array([1.0, 0.2, 0.2], np.float32)))
    assert out.min() >= 0 and out.max() <= 1


def test_bad_power_and_method_raise_one_line():
    with pytest.raises(ValueError, match=r"power=0\.5: choose a number >= 1"):
        ShadesOfGray(power=0.5)
    with pytest.raises(ValueError, match="colour_constancy='grey-world': choose"):
        build_cnn((SIZE, SIZE, 3), 2, colour_constancy="grey-world")


def test_run_config_offers_the_model_choices():
    assert RUN_CHOICES == COLOUR_CONSTANCY


def test_cnn_with_colour_constancy_saves_and_loads(tmp_path):
    data = generate_lesions({"melanoma": 8, "nevus": 8}, size=SIZE, seed=1)
    fitted = KerasImageClassifier(
        image_size=SIZE,
        epochs=1,
        batch_size=8,
        width=4,
        validation_fraction=0.0,
        colour_constancy="shades-of-gray",
    ).fit(data.images, data.labels)
    assert isinstance(fitted.model_.get_layer("colour_constancy"), ShadesOfGray)
    loaded = KerasImageClassifier.load(fitted.save(tmp_path / "cnn.keras"))
    np.testing.assert_array_equal(
        loaded.predict_proba(data.images), fitted.predict_proba(data.images)
    )
    assert loaded.get_params()["colour_constancy"] == "shades-of-gray"
