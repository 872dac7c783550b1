"""Speed of decoding + resizing into the image cache (run with --benchmark-enable)."""

from __future__ import annotations

import os

import pytest

from benchmarks.data.datasets import drop_unreadable, load_manifest
from benchmarks.data.image_cache import decode_all
from tests.conftest import ISIC9, requires_isic9

SIZE = 128


def bench_decode(benchmark, paths: list[str]) -> None:
    images = benchmark.pedantic(
        decode_all, args=(paths, SIZE), rounds=3, iterations=1, warmup_rounds=1
    )
    assert images.shape == (len(paths), SIZE, SIZE, 3)
    assert images.std() > 10, "decoded images should not be flat"
    per_second = len(paths) / benchmark.stats.stats.median
    benchmark.extra_info.update(
        images=len(paths),
        size=SIZE,
        cores=os.cpu_count(),
        images_per_second=per_second,
    )


@pytest.mark.benchmark(group="image-cache")
def test_decode_synthetic_folder(benchmark, tmp_path):
    manifest = drop_unreadable(load_manifest("synthetic"))
    bench_decode(benchmark, list(manifest["path"]))


@pytest.mark.isic9
@pytest.mark.benchmark(group="image-cache")
@requires_isic9
def test_decode_isic9(benchmark, isic9_cache):
    manifest = drop_unreadable(load_manifest(ISIC9, cache=isic9_cache))
    bench_decode(benchmark, list(manifest["path"]))
