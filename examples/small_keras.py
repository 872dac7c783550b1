"""A plug-in model family: a small Keras network of one's own on 32x32 images. From
the repository root: python -m benchmarks run cnn,examples.small_keras:family
"""

import math

from benchmarks.grid.families import IMAGES, Budget, Family, FitContext


def network(input_shape, n_classes, *, seed, learning_rate=1e-3):
    """Two convolutions and a linear head, logits out; Keras loads at the first fit."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(8, 3, activation="relu")(layers.Rescaling(1 / 255)(inputs))
    x = layers.Conv2D(16, 3, activation="relu")(layers.MaxPooling2D(2)(x))
    x = layers.GlobalAveragePooling2D(name="embedding")(x)
    model = keras.Model(inputs, layers.Dense(n_classes, name="logits")(x))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(keras.optimizers.Adam(learning_rate), loss, metrics=["accuracy"])
    return model


#: Fixed epochs on every training image (no early stopping), as the built-in cnn.
SETTINGS = {"architecture": network, "patience": None, "validation_fraction": 0.0}


def make(context: FitContext):
    from models import KerasImageClassifier

    epochs, threads = context.profile.cnn_epochs, context.n_threads
    return KerasImageClassifier(
        image_size=32, epochs=epochs, seed=context.seed, n_threads=threads, **SETTINGS
    )


def budget(profile, n_train: int) -> Budget:
    """What one fit trains, for the run's time estimate: the profile's epochs
    at the default batch, with no floor of steps (unlike the built-in cnn)."""
    from models import default_batch_size

    batch = default_batch_size(n_train)
    return Budget(steps=profile.cnn_epochs * math.ceil(n_train / batch), batch=batch)


def family() -> Family:
    about = "a small Keras network of one's own at 32x32"
    return Family(
        "small-keras",
        about,
        inputs=(IMAGES,),
        image_size=32,
        make=make,
        budget=budget,
    )
