"""A cache file damaged on disk but still readable is found, reported in one
line and rebuilt: never a silent wrong number."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd

from benchmarks.data.datasets import load_manifest
from benchmarks.data.feature_cache import load_features
from benchmarks.data.image_cache import load_images


def _garble(path, offset_from_end: int = 4096) -> None:
    """Flip bytes inside the file, past any header: it still loads."""
    data = bytearray(path.read_bytes())
    start = len(data) - offset_from_end
    data[start : start + 512] = bytes(255 - b for b in data[start : start + 512])
    path.write_bytes(bytes(data))


def test_a_garbled_image_cache_is_rebuilt_not_used(image_folder, tmp_path, caplog):
    cache = tmp_path / "cache"
    manifest = load_manifest(image_folder, cache=cache)
    manifest = manifest[manifest["readable"]].reset_index(drop=True)
    first = np.array(load_images(manifest, 32, cache=cache))
    (path,) = cache.glob("images-*.npy")
    _garble(path)
    assert not np.array_equal(np.load(path), first)  # readable, and wrong
    with caplog.at_level(logging.WARNING, logger="benchmarks"):
        again = np.array(load_images(manifest, 32, cache=cache))
    np.testing.assert_array_equal(again, first)
    assert f"cache entry {path.name} is damaged or has no digest; rebuilding it" in (
        caplog.text
    )


def test_a_cache_entry_without_its_digest_is_rebuilt_once(
    image_folder, tmp_path, caplog
):
    cache = tmp_path / "cache"
    manifest = load_manifest(image_folder, cache=cache)
    manifest = manifest[manifest["readable"]].reset_index(drop=True)
    first = load_features(manifest, size=48, cache=cache)
    (path,) = cache.glob("features-*.parquet")
    path.with_name(path.name + ".sha256").unlink()
    with caplog.at_level(logging.WARNING, logger="benchmarks"):
        again = load_features(manifest, size=48, cache=cache)
    pd.testing.assert_frame_equal(again, first)
    assert caplog.text.count("rebuilding it") == 1
    caplog.clear()
    load_features(manifest, size=48, cache=cache)
    assert "rebuilding" not in caplog.text


def test_a_damaged_file_hash_cache_is_computed_again(image_folder, tmp_path, caplog):
    """One byte of file-hashes-v1.json set to 0xFF stopped every run with a
    UnicodeDecodeError; now its facts are computed again and it is rewritten."""
    cache = tmp_path / "cache"
    first = load_manifest(image_folder, cache=cache)
    (path,) = cache.glob("file-hashes-*.json")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] = 0xFF
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="benchmarks"):
        again = load_manifest(image_folder, cache=cache)
    assert f"{path} is damaged; its facts are computed again" in caplog.text
    pd.testing.assert_frame_equal(again, first)
    assert json.loads(path.read_text("utf-8"))
