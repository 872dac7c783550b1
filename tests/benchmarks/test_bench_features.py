"""Speed of handcrafted feature extraction (run with --benchmark-enable)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from benchmarks.data.datasets import drop_unreadable, generate_lesions, load_manifest
from benchmarks.data.image_cache import load_images
from features import HandcraftedFeatures, extract_features
from tests.conftest import ISIC9, SEED, requires_isic9

SIZE = 180


@pytest.mark.benchmark(group="features")
def test_features_per_image(benchmark):
    image = generate_lesions({"melanoma": 1}, size=SIZE, seed=SEED).images[0]
    row, _ = benchmark(extract_features, image)
    assert np.isfinite(row).all() and row.size > 100


@pytest.mark.isic9
@pytest.mark.benchmark(group="features")
@requires_isic9
def test_features_isic9_end_to_end(benchmark, isic9_cache):
    manifest = drop_unreadable(load_manifest(ISIC9, cache=isic9_cache))
    images = np.asarray(load_images(manifest, SIZE, cache=isic9_cache))
    extractor = HandcraftedFeatures()
    table = benchmark.pedantic(
        extractor.fit_transform, args=(images,), rounds=1, iterations=1
    )
    assert table.shape[0] == len(images) and np.isfinite(table).all()
    benchmark.extra_info.update(
        images=len(images),
        cores=os.cpu_count(),
        images_per_second=len(images) / benchmark.stats.stats.median,
    )
