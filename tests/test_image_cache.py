"""Decoding (every colour mode, EXIF orientation) and the on-disk image cache."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import benchmarks.data.image_cache as image_cache
from benchmarks.data.datasets import drop_unreadable, load_manifest
from benchmarks.data.image_cache import load_images
from benchmarks.data.images import UnreadableImage, decode_resized, open_rgb
from tests.conftest import write_image

RED = (200, 30, 40)


def saved(tmp_path, image: Image.Image, name: str, **options) -> bytes:
    path = tmp_path / name
    image.save(path, **options)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("mode", "fill", "name", "expected"),
    [
        ("L", 128, "grey.png", (128, 128, 128)),
        ("RGBA", (*RED, 255), "rgba.png", RED),
        ("RGBA", (*RED, 0), "clear.png", (255, 255, 255)),
        ("LA", (60, 255), "la.png", (60, 60, 60)),
        ("I;16", 0x8000, "sixteen.png", (128, 128, 128)),
        ("CMYK", (0, 0, 0, 0), "cmyk.jpg", (255, 255, 255)),
    ],
    ids=["grey", "rgba", "transparent", "grey-alpha", "16-bit", "cmyk"],
)
def test_every_mode_becomes_8bit_rgb(tmp_path, mode, fill, name, expected):
    data = saved(tmp_path, Image.new(mode, (10, 10), fill), name)
    pixels = np.asarray(open_rgb(data))
    assert pixels.dtype == np.uint8 and pixels.shape == (10, 10, 3)
    assert np.abs(pixels.astype(int) - expected).max() <= 2


def test_palette_image_keeps_its_colour(tmp_path):
    image = Image.new("RGB", (10, 10), RED).quantize(4)
    pixels = np.asarray(open_rgb(saved(tmp_path, image, "palette.gif")))
    assert np.abs(pixels.astype(int) - RED).max() <= 8


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 10, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    upright = np.asarray(open_rgb(saved(tmp_path, image, "r.jpg", exif=exif)))
    assert upright.shape == (40, 20, 3)
    assert upright[2, 10, 0] > 200 and upright[-3, 10, 2] > 200


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "zero-byte file"), (b"hello", "not an image")],
    ids=["empty", "text"],
)
def test_unreadable_data_says_why(data, reason):
    with pytest.raises(UnreadableImage, match=reason):
        open_rgb(data)


def test_decode_resized_squashes_to_a_square(tmp_path):
    path = write_image(tmp_path / "a.png", 1, size=60)
    image = Image.open(path).resize((90, 60))
    image.save(path)
    assert decode_resized(path, 32).shape == (32, 32, 3)


@pytest.fixture
def manifest(image_folder):
    return drop_unreadable(load_manifest(image_folder))


def test_cache_holds_the_decoded_images_in_manifest_order(manifest):
    images = load_images(manifest, 24)
    assert images.shape == (20, 24, 24, 3) and images.dtype == np.uint8
    for row in (0, 7, 19):
        assert np.array_equal(images[row], decode_resized(manifest["path"][row], 24))


def test_second_load_reads_the_cache_without_decoding(manifest, monkeypatch):
    first = np.array(load_images(manifest, 24))

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(image_cache, "decode_all", no_decoding)
    second = load_images(manifest, 24)
    assert isinstance(second, np.memmap) and not second.flags.writeable
    assert np.array_equal(first, second)
    with pytest.raises(AssertionError, match="decoded again"):
        load_images(manifest, 32)


def test_cache_key_follows_content_and_order(manifest):
    key = image_cache.cache_key(manifest["sha256"], 24)
    assert key == image_cache.cache_key(list(manifest["sha256"]), 24)
    assert key != image_cache.cache_key(manifest["sha256"][::-1], 24)
    assert key != image_cache.cache_key(manifest["sha256"], 32)


def test_unreadable_rows_must_be_dropped_first(image_folder):
    (image_folder / "Train" / "melanoma" / "empty.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match=r"1 unreadable row\(s\).*drop_unreadable"):
        load_images(load_manifest(image_folder), 24)


def test_cache_folder_comes_from_the_option(manifest, tmp_path):
    load_images(manifest, 16, cache=tmp_path / "mine")
    assert len(list((tmp_path / "mine").glob("images-*.npy"))) == 1


def test_preprocessed_images_are_computed_once_and_kept(manifest, monkeypatch):
    """The first call preprocesses and stores the array beside the decoded one;
    the next (another worker, a later run) reads it; none is the array itself."""
    import benchmarks.data.preprocessing as preprocessing

    plain = load_images(manifest, 24)
    expected = preprocessing.preprocess("shades-of-gray", np.asarray(plain))
    first = image_cache.preprocessed_images(plain.filename, "shades-of-gray")
    np.testing.assert_array_equal(first, expected)
    assert image_cache.preprocessed_path(plain.filename, "shades-of-gray").is_file()

    def no_preprocessing(*args, **kwargs):
        raise AssertionError("preprocessed again")

    monkeypatch.setattr(preprocessing, "preprocess", no_preprocessing)
    second = image_cache.preprocessed_images(plain.filename, "shades-of-gray")
    assert isinstance(second, np.memmap) and not second.flags.writeable
    np.testing.assert_array_equal(second, expected)
    np.testing.assert_array_equal(
        image_cache.preprocessed_images(plain.filename, "none"), plain
    )
    with pytest.raises(AssertionError, match="preprocessed again"):
        image_cache.preprocessed_images(plain.filename, "lesion-crop")
