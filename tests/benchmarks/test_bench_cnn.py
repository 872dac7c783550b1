"""Speed of the Keras family: a training epoch, prediction, and the seed CNN's input
pipeline against ours (run with --benchmark-enable; rounds are few, steps short)."""

from __future__ import annotations

import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from benchmarks.data.datasets import (  # noqa: E402
    DEFAULT_TRAIN_COUNTS,
    drop_unreadable,
    generate_lesions,
    load_manifest,
    write_synthetic,
)
from benchmarks.data.image_cache import load_images  # noqa: E402
from models import available_cores  # noqa: E402
from models._cnn import DEFAULT_IMAGE_SIZES, build_cnn, build_seed_cnn  # noqa: E402
from models._keras_classifier import KerasImageClassifier  # noqa: E402
from models._keras_data import training_dataset  # noqa: E402

SEED = 0
CNN_SIZE = DEFAULT_IMAGE_SIZES["cnn"]
TRAIN_BATCH = 64
SEED_CNN_SIZE = DEFAULT_IMAGE_SIZES["seed-cnn"]
SEED_CNN_BATCH = 32
SEED_CNN_STEPS = 4
# Four classes of 32 images: four batches of the course's 32 at 180x180.
SEED_CNN_COUNTS = dict.fromkeys(list(DEFAULT_TRAIN_COUNTS)[:4], 32)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lesions():
    """The default synthetic training set (561 images, isic9's class mix) at the
    cnn's input size."""
    return generate_lesions(DEFAULT_TRAIN_COUNTS, size=CNN_SIZE, seed=SEED)


def record(benchmark, images: int, size: int, **extra) -> float:
    """Put images/s (from the median round) in extra_info."""
    per_second = images / benchmark.stats.stats.median
    benchmark.extra_info.update(
        images=images,
        image_size=size,
        cores=available_cores(),
        images_per_second=per_second,
        **extra,
    )
    return per_second


@pytest.mark.benchmark(group="cnn-train")
def test_cnn_training_epoch(benchmark, lesions):
    classes, encoded = np.unique(lesions.labels, return_inverse=True)
    targets = np.eye(len(classes), dtype=np.float32)[encoded]
    dataset, steps = training_dataset(
        lesions.images, targets, batch_size=TRAIN_BATCH, seed=SEED, augment="dihedral"
    )
    model = build_cnn((CNN_SIZE, CNN_SIZE, 3), len(classes), seed=SEED)
    model.fit(dataset, steps_per_epoch=1, shuffle=False, verbose=0)  # trace once
    history = benchmark.pedantic(
        model.fit,
        args=(dataset,),
        kwargs={"steps_per_epoch": steps, "shuffle": False, "verbose": 0},
        rounds=3,
        iterations=1,
    )
    assert math.isfinite(history.history["loss"][0])
    record(benchmark, steps * TRAIN_BATCH, CNN_SIZE, augment="dihedral")


@pytest.mark.benchmark(group="cnn-predict")
def test_cnn_prediction(benchmark, lesions):
    classifier = KerasImageClassifier(epochs=1, seed=SEED)
    classifier.fit(lesions.images, lesions.labels)
    classifier.predict_proba(lesions.images[:64])  # trace once
    probabilities = benchmark.pedantic(
        classifier.predict_proba, args=(lesions.images,), rounds=3, iterations=1
    )
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    per_second = record(benchmark, len(lesions.images), CNN_SIZE)
    benchmark.extra_info["milliseconds_per_image"] = 1000 / per_second


@pytest.fixture(scope="module")
def lesion_folder(tmp_path_factory):
    """A small isic9-style folder of 180x180 JPEGs, as the course reads them."""
    root = tmp_path_factory.mktemp("seed-cnn") / "lesions"
    return write_synthetic(
        root,
        train_counts=SEED_CNN_COUNTS,
        test_counts=dict.fromkeys(SEED_CNN_COUNTS, 0),
        size=SEED_CNN_SIZE,
        seed=SEED,
    )


def course_dataset(folder):
    """The course's pipeline: decode and resize every JPEG again each epoch."""
    return keras.utils.image_dataset_from_directory(
        folder / "Train",
        image_size=(SEED_CNN_SIZE, SEED_CNN_SIZE),
        batch_size=SEED_CNN_BATCH,
        seed=SEED,
        verbose=False,
    )


def our_dataset(folder, cache):
    """Ours: the image cache decodes once; batches are gathered from memory."""
    manifest = drop_unreadable(load_manifest(folder, cache=cache))
    train = manifest[manifest["split"] == "train"].reset_index(drop=True)
    images = load_images(train, SEED_CNN_SIZE, cache=cache)
    _, targets = np.unique(train["label"], return_inverse=True)
    dataset, _ = training_dataset(
        images,
        targets.astype(np.int32),
        batch_size=SEED_CNN_BATCH,
        seed=SEED,
        augment="none",
    )
    return dataset


@pytest.fixture(scope="module")
def pipelines(lesion_folder, tmp_path_factory):
    return {
        "course": course_dataset(lesion_folder).take(SEED_CNN_STEPS),
        "ours": our_dataset(lesion_folder, tmp_path_factory.mktemp("cache")).take(
            SEED_CNN_STEPS
        ),
    }


@pytest.mark.benchmark(group="seed-cnn-input")
@pytest.mark.parametrize("pipeline", ["course", "ours"])
def test_seed_cnn_input_only(benchmark, pipelines, pipeline):
    dataset = pipelines[pipeline]

    def read_all() -> int:
        return sum(int(images.shape[0]) for images, *_ in dataset)

    read_all()
    images = benchmark.pedantic(read_all, rounds=3, iterations=1)
    assert images == SEED_CNN_BATCH * SEED_CNN_STEPS
    record(benchmark, images, SEED_CNN_SIZE, pipeline=pipeline)


@pytest.mark.benchmark(group="seed-cnn-train")
@pytest.mark.parametrize("pipeline", ["course", "ours"])
def test_seed_cnn_training(benchmark, pipelines, pipeline):
    dataset = pipelines[pipeline]
    model = build_seed_cnn(
        (SEED_CNN_SIZE, SEED_CNN_SIZE, 3), len(SEED_CNN_COUNTS), seed=SEED
    )
    model.fit(dataset.take(1), shuffle=False, verbose=0)  # trace once
    history = benchmark.pedantic(
        model.fit,
        args=(dataset,),
        kwargs={"shuffle": False, "verbose": 0},
        rounds=2,
        iterations=1,
    )
    assert math.isfinite(history.history["loss"][0])
    record(benchmark, SEED_CNN_BATCH * SEED_CNN_STEPS, SEED_CNN_SIZE, pipeline=pipeline)
