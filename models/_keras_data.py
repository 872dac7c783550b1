"""tf.data input pipelines over decoded uint8 arrays, with seeded augmentation."""

from __future__ import annotations

import logging
import math

import numpy as np
import tensorflow as tf

from models.machine import available_cores

logger = logging.getLogger(__name__)

#: Training augmentation levels. 'dihedral': the 8 lossless symmetries of the
#: square (quarter turns x mirror); a lesion has no "up". 'full' adds any angle,
#: zoom and brightness / contrast / per-channel gain jitter, all mild because size
#: and colour (blue-grey, black) are diagnostic. On isic9 at 48 px, 'full' cost
#: about 0.02 validation balanced accuracy against 'dihedral'.
AUGMENTATIONS = ("none", "dihedral", "full")
ZOOM = 0.1
BRIGHTNESS = 0.1
CONTRAST = 0.1
CHANNEL_GAIN = 0.05


def configure_threads(n_threads: int | None = None) -> None:
    """Give TensorFlow ``n_threads`` intra-op threads (default: all cores).

    Inter-op parallelism is 2: on two cores it trained the default CNN ~1.3x
    faster than 1 (independent ops of a step run side by side). TensorFlow fixes
    both when its runtime starts; later calls that ask for something else only
    warn, since the process keeps its first setting.
    """
    intra = n_threads or available_cores()
    config = tf.config.threading
    if (
        config.get_intra_op_parallelism_threads() == intra
        and config.get_inter_op_parallelism_threads() == 2
    ):
        return
    try:
        config.set_intra_op_parallelism_threads(intra)
        config.set_inter_op_parallelism_threads(2)
    except RuntimeError:
        logger.warning(
            "TensorFlow already runs on %d intra-op threads, not %d: CNN figures "
            "can differ in the last digits from a fresh process's",
            config.get_intra_op_parallelism_threads(),
            intra,
        )


def augment_batch(images: tf.Tensor, seed: tf.Tensor, level: str) -> tf.Tensor:
    """Randomly turn and mirror a float batch (0-255); at level 'full' also
    rotate by any angle, zoom and jitter the colours.

    Why not keras' Random* layers: the geometry here is one projective warp per
    image instead of three, and stateless draws keyed by ``seed`` (a shape-[2]
    int tensor) make every batch reproducible even under a parallel ``map``.
    """
    full = level == "full"
    shape = tf.shape(images)
    n, height, width = shape[0], shape[1], shape[2]
    seeds = tf.random.experimental.stateless_split(seed, 6)

    def uniform(index: int, low: float, high: float, size=None) -> tf.Tensor:
        size = [n] if size is None else size
        return tf.random.stateless_uniform(size, seeds[index], low, high)

    if full:
        angle = uniform(0, -math.pi, math.pi)
        scale = 1.0 / uniform(2, 1.0 - ZOOM, 1.0 + ZOOM)
    else:
        angle = tf.floor(uniform(0, 0.0, 4.0)) * (math.pi / 2)
        scale = tf.ones_like(angle)
    mirror = tf.where(uniform(1, 0.0, 1.0) < 0.5, -1.0, 1.0)
    cos, sin = tf.cos(angle) * scale, tf.sin(angle) * scale
    # Output pixel (x, y) samples the input at A @ (x, y) + b, about the centre.
    a00, a01, a10, a11 = cos * mirror, -sin, sin * mirror, cos
    centre_x = (tf.cast(width, tf.float32) - 1.0) / 2.0
    centre_y = (tf.cast(height, tf.float32) - 1.0) / 2.0
    b0 = centre_x - a00 * centre_x - a01 * centre_y
    b1 = centre_y - a10 * centre_x - a11 * centre_y
    zeros = tf.zeros_like(angle)
    transforms = tf.stack([a00, a01, b0, a10, a11, b1, zeros, zeros], axis=1)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )
    if not full:
        return images
    brightness = uniform(3, -BRIGHTNESS, BRIGHTNESS, [n, 1, 1, 1]) * 255.0
    contrast = uniform(4, 1.0 - CONTRAST, 1.0 + CONTRAST, [n, 1, 1, 1])
    gain = uniform(5, 1.0 - CHANNEL_GAIN, 1.0 + CHANNEL_GAIN, [n, 1, 1, 3])
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    images = (images - mean) * contrast + mean + brightness
    return tf.clip_by_value(images * gain, 0.0, 255.0)


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    resized = tf.image.resize(images, (size, size), antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(resized, 0.0, 255.0)), tf.uint8).numpy()


def resize_images(images: np.ndarray, size: int, chunk: int = 512) -> np.ndarray:
    """``images`` (n, h, w, 3) uint8 at ``size`` x ``size``, chunk by chunk.

    Images already at that size are returned as they are (a memmap stays one).
    """
    if images.shape[1:3] == (size, size):
        return images
    logger.info(
        "resizing %d images from %dx%d to %dx%d; pass the image cache at this "
        "size to skip it",
        len(images),
        images.shape[1],
        images.shape[2],
        size,
        size,
    )
    resized = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for start in range(0, len(images), chunk):
        resized[start : start + chunk] = _resize(
            np.asarray(images[start : start + chunk]), size
        )
    return resized


def _options() -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = True
    options.threading.private_threadpool_size = available_cores()
    # The autotuner's thread made one fit in four stall ~5 s while its iterator
    # was torn down; without it training ran no slower (8 fits each way).
    options.autotune.enabled = False
    return options


def training_dataset(
    images: np.ndarray,
    targets: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    batch_size: int,
    seed: int,
    augment: str,
    epochs: int | None = None,
) -> tuple[tf.data.Dataset, int]:
    """A reshuffled-every-epoch stream of (image, target[, weight])
    batches, and the number of batches per epoch (``steps_per_epoch`` for fit).

    The decoded array is held once as a tensor and batches are gathered by
    index, so nothing is decoded or copied per epoch. ``augment`` is one of
    ``AUGMENTATIONS``; batch k of the whole run is augmented with the stateless
    seed (seed, k): same seed, same batches. Every
    batch is full (the remainder, a different one each epoch, waits for the next
    shuffle): a last batch of a few heavily weighted images made validation loss
    spike and early stopping fire too soon.
    ``sample_weight`` must come from the training fold (class weights included).
    ``epochs`` ends the stream after that many epochs (None: endless); fit
    passes it, since tearing down an endless stream's prefetching iterator
    after training stalled for ~9 s one run in two.
    """
    n_images = len(images)
    pixels = tf.constant(np.asarray(images))
    columns = [tf.constant(targets)]
    if sample_weight is not None:
        columns.append(tf.constant(sample_weight, dtype=tf.float32))

    def load(step: tf.Tensor, indices: tf.Tensor):
        batch = tf.cast(tf.gather(pixels, indices), tf.float32)
        if augment != "none":
            seeds = tf.stack([tf.constant(seed, tf.int64), step])
            batch = augment_batch(batch, seeds, augment)
        return (batch, *(tf.gather(column, indices) for column in columns))

    batch_size = min(batch_size, n_images)
    dataset = (
        tf.data.Dataset.range(n_images)
        .shuffle(n_images, seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .repeat(epochs)
        .enumerate()
        .map(load, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
        .with_options(_options())
    )
    return dataset, n_images // batch_size


def evaluation_dataset(
    images: np.ndarray, targets: np.ndarray, *, batch_size: int
) -> tf.data.Dataset:
    """(image, target) batches in order, unaugmented: validation data for fit."""
    pixels = tf.constant(np.asarray(images))
    labels = tf.constant(targets)

    def load(indices: tf.Tensor):
        return tf.cast(tf.gather(pixels, indices), tf.float32), tf.gather(
            labels, indices
        )

    return (
        tf.data.Dataset.range(len(images))
        .batch(batch_size)
        .map(load, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
        .with_options(_options())
    )


def batches(images: np.ndarray, size: int, batch_size: int):
    """Float32 batches of ``images`` at ``size``, read one chunk at a time.

    Memory stays flat however long ``images`` is (a memmap is read lazily).
    """
    for start in range(0, len(images), batch_size):
        chunk = np.asarray(images[start : start + batch_size])
        if chunk.shape[1:3] != (size, size):
            chunk = _resize(chunk, size)
        yield chunk.astype(np.float32)
