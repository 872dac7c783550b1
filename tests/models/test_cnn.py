"""The Keras family: factories, input pipeline and KerasImageClassifier contracts."""

from __future__ import annotations

import urllib.error

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from benchmarks.data.datasets import generate_lesions  # noqa: E402
from models._cnn import (  # noqa: E402
    CNN_FACTORIES,
    DEFAULT_IMAGE_SIZES,
    EMBEDDING_LAYER,
    build_cnn,
    build_seed_cnn,
    build_transfer,
)
from models._keras_classifier import KerasImageClassifier  # noqa: E402
from models._keras_data import augment_batch, training_dataset  # noqa: E402

SEED = 0
SIZE = 32
CLASSES = ("melanoma", "nevus", "vascular lesion")
# Small and quick: three classes, 32x32 pixels, a narrow net, two epochs.
TINY = {"image_size": SIZE, "epochs": 2, "batch_size": 8, "width": 4, "seed": SEED}
FITTED = {**TINY, "epochs": 3, "patience": 3, "learning_rate": 0.05}


@pytest.fixture(scope="module")
def lesions():
    """(train images, labels, validation images, labels): 10 + 4 per class."""
    train = generate_lesions(dict.fromkeys(CLASSES, 10), size=SIZE, seed=SEED)
    validation = generate_lesions(dict.fromkeys(CLASSES, 4), size=SIZE, seed=SEED + 1)
    return train.images, train.labels, validation.images, validation.labels


@pytest.fixture(scope="module")
def fitted(lesions):
    images, labels, validation_images, validation_labels = lesions
    return KerasImageClassifier(**FITTED).fit(
        images,
        labels,
        class_weight="balanced",
        validation_data=(validation_images, validation_labels),
    )


@pytest.mark.parametrize("architecture", sorted(CNN_FACTORIES))
def test_factories_give_logits_per_class_and_an_embedding(architecture):
    model = CNN_FACTORIES[architecture]((SIZE, SIZE, 3), 5)
    assert model.output_shape == (None, 5)
    assert model.get_layer(EMBEDDING_LAYER).output.shape[0] is None
    assert model.layers[-1].get_config()["activation"] == "linear"
    assert set(DEFAULT_IMAGE_SIZES) == set(CNN_FACTORIES)


def test_seed_cnn_is_the_course_network():
    model = build_seed_cnn()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "InputLayer",
        "Rescaling",
        *["Conv2D", "MaxPooling2D"] * 3,
        "Flatten",
        "Dense",
        "Dense",
    ]
    convolutions = [
        layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
    ]
    assert [layer.filters for layer in convolutions] == [16, 32, 64]
    assert all(
        layer.kernel_size == (3, 3)
        and layer.padding == "same"
        and layer.activation is keras.activations.relu
        for layer in convolutions
    )
    assert model.get_layer(EMBEDDING_LAYER).units == 128
    assert model.input_shape == (None, 180, 180, 3)
    assert model.output_shape == (None, 9)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.loss.get_config()["from_logits"] is True


def test_cnn_is_small_and_regularised():
    model = build_cnn()
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"BatchNormalization", "GlobalAveragePooling2D", "Dropout"} <= kinds
    assert "Flatten" not in kinds
    assert model.count_params() < 300_000
    assert isinstance(model.optimizer, keras.optimizers.AdamW)


@pytest.mark.parametrize("level", ["dihedral", "full"])
def test_augmentation_is_seeded_and_keeps_pixel_range(level):
    images = tf.constant(
        generate_lesions({"melanoma": 4}, size=SIZE).images, dtype=tf.float32
    )
    first = augment_batch(images, tf.constant([SEED, 1], tf.int64), level)
    again = augment_batch(images, tf.constant([SEED, 1], tf.int64), level)
    other = augment_batch(images, tf.constant([SEED, 2], tf.int64), level)
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert not np.allclose(first.numpy(), other.numpy())
    assert first.shape == images.shape
    assert 0.0 <= float(tf.reduce_min(first)) <= float(tf.reduce_max(first)) <= 255.0


def test_dihedral_augmentation_only_moves_pixels():
    images = tf.constant(
        generate_lesions({"nevus": 4}, size=SIZE).images, dtype=tf.float32
    )
    turned = augment_batch(images, tf.constant([SEED, 3], tf.int64), "dihedral")
    for before, after in zip(images.numpy(), turned.numpy(), strict=True):
        np.testing.assert_allclose(
            np.sort(after.reshape(-1, 3), axis=0),
            np.sort(before.reshape(-1, 3), axis=0),
            atol=1e-2,
        )


def test_training_dataset_reshuffles_every_epoch_and_covers_every_image():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1).repeat(3, axis=3)
    targets = np.arange(10, dtype=np.int32)
    dataset, steps = training_dataset(
        images, targets, batch_size=5, seed=SEED, augment="none"
    )
    assert steps == 2
    epochs = [
        np.concatenate([batch[1].numpy() for batch in dataset.skip(k * 2).take(2)])
        for k in range(2)
    ]
    assert all(sorted(epoch) == list(range(10)) for epoch in epochs)
    assert not np.array_equal(*epochs)


def test_history_and_timings(fitted):
    history = fitted.history_
    assert set(history) == {
        "train_loss",
        "validation_loss",
        "train_accuracy",
        "validation_accuracy",
    }
    assert {len(values) for values in history.values()} == {FITTED["epochs"]}
    assert 0 <= fitted.best_epoch_ < FITTED["epochs"]
    assert fitted.fit_seconds_ > 0 and fitted.images_per_second_ > 0
    assert list(fitted.classes_) == list(CLASSES)


def test_probabilities_sum_to_one_and_predict_is_repeatable(fitted, lesions):
    images = lesions[2]
    first = fitted.predict_proba(images)
    assert first.shape == (len(images), len(CLASSES))
    np.testing.assert_allclose(first.sum(axis=1), 1.0, atol=1e-9)
    # Augmentation and dropout are training-only: inference is a pure function.
    np.testing.assert_array_equal(first, fitted.predict_proba(images))
    assert set(fitted.predict(images)) <= set(CLASSES)
    assert fitted.embed(images).shape == (len(images), 4 * 2**3)


def test_other_image_sizes_are_resized(fitted, lesions):
    bigger = tf.image.resize(lesions[2], (48, 48)).numpy().astype(np.uint8)
    assert fitted.predict_proba(bigger).shape == (len(bigger), len(CLASSES))


def test_save_and_load_round_trip(fitted, lesions, tmp_path):
    path = fitted.save(tmp_path / "cnn.keras")
    loaded = KerasImageClassifier.load(path)
    np.testing.assert_array_equal(
        loaded.predict_proba(lesions[2]), fitted.predict_proba(lesions[2])
    )
    assert list(loaded.classes_) == list(fitted.classes_)
    assert loaded.history_ == fitted.history_
    assert loaded.get_params() == fitted.get_params()


def test_load_rejects_other_files(tmp_path):
    other = tmp_path / "other.keras"
    other.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a model saved by"):
        KerasImageClassifier.load(other)


def test_same_seed_gives_the_same_weights(fitted, lesions):
    images, labels, validation_images, validation_labels = lesions
    again = KerasImageClassifier(**FITTED).fit(
        images,
        labels,
        class_weight="balanced",
        validation_data=(validation_images, validation_labels),
    )
    for first, second in zip(fitted.model_.weights, again.model_.weights, strict=True):
        np.testing.assert_allclose(first.numpy(), second.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        fitted.predict_proba(images), again.predict_proba(images), rtol=0, atol=1e-6
    )


def test_early_stopping_keeps_the_best_epoch(fitted, lesions):
    losses = fitted.history_["validation_loss"]
    assert fitted.best_epoch_ == int(np.argmin(losses))
    targets = np.eye(len(CLASSES))[np.searchsorted(fitted.classes_, lesions[3])]
    restored = fitted.model_.evaluate(
        lesions[2].astype(np.float32), targets, verbose=0
    )[0]
    assert restored == pytest.approx(min(losses), rel=1e-4)


def test_mixed_bfloat16_computes_in_bfloat16_and_scores_in_float32(lesions, tmp_path):
    """The layers compute in bfloat16, keep float32 weights and give float32
    logits; the process's policy is left as it was for the next network."""
    images, labels, validation_images, _ = lesions
    mixed = KerasImageClassifier(**TINY, precision="mixed_bfloat16").fit(
        images, labels, validation_data=lesions[2:]
    )
    layers = {layer.name: layer for layer in mixed.model_.layers}
    assert layers["embedding"].compute_dtype == "bfloat16"
    assert all(weight.dtype == "float32" for weight in mixed.model_.weights)
    assert layers["logits"].compute_dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"
    probabilities = mixed.predict_proba(validation_images)
    assert probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    loaded = KerasImageClassifier.load(mixed.save(tmp_path / "mixed.keras"))
    np.testing.assert_array_equal(
        loaded.predict_proba(validation_images), probabilities
    )
    plain = KerasImageClassifier(**TINY).fit(
        images, labels, validation_data=lesions[2:]
    )
    assert not np.array_equal(probabilities, plain.predict_proba(validation_images))


def test_without_validation_data_an_inner_split_stops_early(lesions):
    classifier = KerasImageClassifier(**{**TINY, "epochs": 1}).fit(*lesions[:2])
    assert len(classifier.history_["validation_loss"]) == 1


def test_clone_keeps_architecture_options():
    from sklearn.base import clone

    copy = clone(KerasImageClassifier(architecture="cnn", width=8, dropout=0.1))
    assert copy.get_params()["width"] == 8 and copy.get_params()["dropout"] == 0.1


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"architecture": "resnet"}, "architecture='resnet'.*seed-cnn, cnn, transfer"),
        ({"epochs": 0}, "epochs=0: use an integer >= 1"),
        ({"batch_size": 2.5}, "batch_size=2.5"),
        ({"patience": 0}, "patience=0"),
        ({"image_size": 4}, "image_size=4"),
        ({"learning_rate": -1.0}, "learning_rate=-1.0"),
        ({"validation_fraction": 0.9}, "validation_fraction=0.9"),
        ({"augment": True}, "augment=True: choose None"),
        ({"architecture": "seed-cnn", "width": 8}, "width: not an option of"),
        ({"precision": "float16"}, "precision='float16': choose from float32, mixed"),
    ],
    ids=[
        "architecture",
        "epochs",
        "batch-size",
        "patience",
        "image-size",
        "learning-rate",
        "validation-fraction",
        "augment",
        "option",
        "precision",
    ],
)
def test_bad_parameters_raise_one_line(lesions, params, match):
    with pytest.raises(ValueError, match=match) as raised:
        KerasImageClassifier(**params).fit(*lesions[:2])
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("images", "labels", "kwargs", "match"),
    [
        (np.zeros((4, 8, 8, 3), np.float32), ["a", "b"] * 2, {}, "X: expected a uint8"),
        (np.zeros((4, 8, 8, 3), np.uint8), ["a", "b"], {}, "y: 2 labels for 4"),
        (np.zeros((4, 8, 8, 3), np.uint8), ["a"] * 4, {}, "only one class"),
        (
            np.zeros((4, 8, 8, 3), np.uint8),
            ["a", "b"] * 2,
            {"class_weight": {"a": 1.0}},
            "class_weight: no weight for class 'b'",
        ),
        (
            np.zeros((4, 8, 8, 3), np.uint8),
            ["a", "b"] * 2,
            {"class_weight": "auto"},
            "class_weight='auto': use 'balanced'",
        ),
        (
            np.zeros((4, 8, 8, 3), np.uint8),
            ["a", "b"] * 2,
            {"sample_weight": np.ones(3)},
            "sample_weight: expected 4 finite values",
        ),
    ],
    ids=[
        "float-images",
        "short-labels",
        "one-class",
        "class-weight-missing",
        "class-weight-name",
        "sample-weight-length",
    ],
)
def test_bad_data_raises(images, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        KerasImageClassifier(**TINY).fit(images, np.array(labels), **kwargs)


@pytest.mark.filterwarnings("ignore:`input_shape` is undefined")
def test_imagenet_weights_offline_fail_in_one_line(monkeypatch, tmp_path):
    """No download is attempted for real: the fetch is made to fail as offline."""
    from keras.src.backend import config
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(config, "keras_home", lambda: str(tmp_path))
    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    with pytest.raises(ValueError, match=r"weights='imagenet'.*pass weights=") as error:
        build_transfer((SIZE, SIZE, 3), 3, weights="imagenet")
    assert "\n" not in str(error.value)


@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept")
def test_transfer_loads_a_local_weights_file(tmp_path):
    source = keras.applications.MobileNetV3Small(
        input_shape=(SIZE, SIZE, 3), include_top=False, weights=None, pooling="avg"
    )
    for variable in source.weights:
        variable.assign(tf.fill(variable.shape, 0.01))
    path = tmp_path / "backbone.weights.h5"
    source.save_weights(path)
    model = build_transfer((SIZE, SIZE, 3), 3, weights=path)
    backbone = model.get_layer("MobileNetV3Small")
    for loaded, saved in zip(backbone.weights, source.weights, strict=True):
        np.testing.assert_array_equal(loaded.numpy(), saved.numpy())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backbone": "VGG99"}, "backbone='VGG99': unknown; choose from"),
        ({"weights": "/no/such/file.h5"}, "no such file"),
        ({"input_shape": (16, 16, 3)}, "needs at least 32x32"),
    ],
    ids=["backbone", "weights-file", "input-size"],
)
def test_transfer_bad_arguments(kwargs, match):
    arguments = {"input_shape": (SIZE, SIZE, 3), "n_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_transfer(**arguments)
