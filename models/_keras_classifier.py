"""scikit-learn style estimator around the Keras image networks of models._cnn."""

from __future__ import annotations

import inspect
import json
import logging
import numbers
import time
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted

from models._batch import default_batch_size
from models._cnn import (
    CNN_FACTORIES,
    DEFAULT_AUGMENTATIONS,
    DEFAULT_IMAGE_SIZES,
    EMBEDDING_LAYER,
)
from models._keras_data import (
    AUGMENTATIONS,
    batches,
    configure_threads,
    evaluation_dataset,
    resize_images,
    training_dataset,
)
from models._xgboost import inner_split

logger = logging.getLogger(__name__)

# Factory arguments the estimator fills itself; everything else is an option.
_MANAGED = ("input_shape", "n_classes", "seed", "learning_rate", "decay_steps")
_METADATA = "melanoma_bench.json"
_PREDICT_BATCH = 256
#: Compute precisions a network can train in (Keras dtype policies).
PRECISIONS = ("float32", "mixed_bfloat16")
_HISTORY_KEYS = {
    "loss": "train_loss",
    "val_loss": "validation_loss",
    "accuracy": "train_accuracy",
    "val_accuracy": "validation_accuracy",
}


def _factory(architecture: str | Callable[..., keras.Model]) -> Callable:
    return architecture if callable(architecture) else CNN_FACTORIES[architecture]


def _factory_options(architecture: str | Callable[..., keras.Model]) -> list[str]:
    signature = inspect.signature(_factory(architecture))
    return [name for name in signature.parameters if name not in _MANAGED]


def _architecture_name(architecture: str | Callable[..., keras.Model]) -> str:
    """What a saved file records of the architecture: its name, or the
    ``module:name`` of a caller's own factory (the network itself is in the
    file; loading it needs no factory)."""
    if callable(architecture):
        return f"{architecture.__module__}:{architecture.__qualname__}"
    return architecture


def _shown(value: object) -> str:
    """repr of a label without numpy's wrapper (np.str_('a') -> 'a')."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _is_int(value: object, low: int) -> bool:
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and value >= low
    )


class _Timer(keras.callbacks.Callback):
    """Seconds spent on training batches (validation passes excluded) and a log
    line per epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.train_seconds = 0.0
        self.epochs = 0
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_test_begin(self, logs: dict | None = None) -> None:
        self.train_seconds += time.perf_counter() - self._started

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if "val_loss" not in (logs or {}):
            self.train_seconds += time.perf_counter() - self._started
        self.epochs += 1
        shown = ", ".join(f"{key} {value:.4f}" for key, value in (logs or {}).items())
        logger.info("epoch %d: %s", epoch + 1, shown)


class KerasImageClassifier(ClassifierMixin, BaseEstimator):
    """A Keras image network behind fit / predict_proba / embed / save / load.

    Why: the benchmark runs every model family through one interface, so the
    CNN takes decoded uint8 images and class labels like any scikit-learn
    classifier, trains deterministically from ``seed`` and records its learning
    curves for the overfitting report.

    Parameters
    ----------
    architecture : {'seed-cnn', 'cnn', 'transfer'} or callable
        Which factory of ``models._cnn.CNN_FACTORIES`` builds the network, or
        one's own: ``factory(input_shape, n_classes, *, seed, **options)``
        returning a compiled Functional model with logits out (and a layer
        named 'embedding' for ``embed``); ``image_size`` is then required.
    image_size : int or None
        Square input side; None uses the family default (``DEFAULT_IMAGE_SIZES``).
        Images of another size are resized inside; passing the image cache at
        this size avoids that work.
    epochs : int
        Upper bound on epochs; early stopping on the validation loss picks the
        best epoch and its weights are restored.
    batch_size : int or None
        Images per training step; None uses 32, or fewer so that an epoch has at
        least 10 steps (on the 561-image synthetic set, 4 steps an epoch left the
        network far from converged after 30 epochs).
    patience : int or None
        Epochs without a lower validation loss before stopping; None trains all
        ``epochs`` and keeps the last weights (the course's flat 20 epochs).
    learning_rate : float or None
        Peak learning rate; None uses the factory default. The factories that
        take ``decay_steps`` decay it over the whole run (cosine).
    augment : {'none', 'dihedral', 'full'} or None
        Training augmentation (``models._keras_data.AUGMENTATIONS``); None uses
        the family default: 'dihedral' (quarter turns and mirror), 'none' for
        the seed CNN, which stays as the course taught it.
    validation_fraction : float
        Without ``validation_data``, this share of the training images (per
        class, copies kept together) is held out for early stopping; 0 trains
        on every image for all ``epochs`` (no early stopping).
    n_threads : int or None
        TensorFlow intra-op threads; None uses every core this process may use.
        TensorFlow keeps the first value set in a process.
    precision : {'float32', 'mixed_bfloat16'}
        The network's compute precision ('mixed_bfloat16': bfloat16 maths,
        float32 weights and logits). Faster only on hardware with bfloat16
        units (AVX512-BF16 or AMX CPUs, recent GPUs); see docs/speed.md.
    seed : int
        Seeds weights, shuffling, augmentation and dropout: same seed and data,
        same weights on CPU.
    classes : sequence or None
        Labels the network gives an output besides those of ``y`` (None: only
        ``y``'s). Why: a training part may lack a class its validation part
        holds (a source without dermatofibromas); given every class, the
        network scores those images in its learning curves instead of refusing
        them, and predicts the class with a probability near 0.
    verbose : int
        Keras progress output (0 silent, 1 bar, 2 one line per epoch).
    **options
        Architecture options, e.g. ``width``, ``dropout``, ``label_smoothing`` for
        'cnn' or ``backbone``, ``weights`` for 'transfer'.

    Attributes
    ----------
    classes_ : ndarray
        Sorted class labels; probability columns follow this order.
    model_ : keras.Model
        The trained network (logits out).
    history_ : dict of str to list of float
        Per-epoch ``train_loss``, ``validation_loss``, ``train_accuracy`` and
        ``validation_accuracy`` (training figures are on augmented batches).
    best_epoch_ : int
        Zero-based epoch whose weights were kept.
    image_size_, batch_size_ : int
        The input side and training batch size actually used.
    fit_seconds_, images_per_second_ : float
        Wall time of fit, and training images per second of training time.
    """

    def __init__(
        self,
        *,
        architecture: str = "cnn",
        image_size: int | None = None,
        epochs: int = 40,
        batch_size: int | None = None,
        patience: int | None = 8,
        learning_rate: float | None = None,
        augment: str | None = None,
        validation_fraction: float = 0.15,
        n_threads: int | None = None,
        precision: str = "float32",
        seed: int = 0,
        classes: Sequence | None = None,
        verbose: int = 0,
        **options: Any,
    ) -> None:
        self.architecture = architecture
        self.image_size = image_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.learning_rate = learning_rate
        self.augment = augment
        self.validation_fraction = validation_fraction
        self.n_threads = n_threads
        self.precision = precision
        self.seed = seed
        self.classes = classes
        self.verbose = verbose
        self._option_names = tuple(options)
        for name, value in options.items():
            setattr(self, name, value)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep=deep)
        params.update({name: getattr(self, name) for name in self._option_names})
        return params

    def _validate_params(self) -> None:
        if not callable(self.architecture) and self.architecture not in CNN_FACTORIES:
            choices = ", ".join(CNN_FACTORIES)
            raise ValueError(
                f"architecture={self.architecture!r}: unknown; choose from {choices}, "
                "or pass a factory (input_shape, n_classes, *, seed) -> keras.Model"
            )
        if callable(self.architecture) and self.image_size is None:
            raise ValueError(
                "image_size=None: give the input side of your own architecture"
            )
        if not _is_int(self.epochs, 1):
            raise ValueError(f"epochs={self.epochs!r}: use an integer >= 1")
        if self.batch_size is not None and not _is_int(self.batch_size, 1):
            raise ValueError(
                f"batch_size={self.batch_size!r}: use None or an integer >= 1"
            )
        if self.patience is not None and not _is_int(self.patience, 1):
            raise ValueError(
                f"patience={self.patience!r}: use None (no early stopping) or an "
                "integer >= 1"
            )
        if self.image_size is not None and not (
            _is_int(self.image_size, 8) and self.image_size <= 2048
        ):
            raise ValueError(
                f"image_size={self.image_size!r}: use None or an integer 8 to 2048"
            )
        if self.learning_rate is not None and not (
            isinstance(self.learning_rate, numbers.Real) and self.learning_rate > 0
        ):
            raise ValueError(
                f"learning_rate={self.learning_rate!r}: use None or a number > 0"
            )
        if not (
            isinstance(self.validation_fraction, numbers.Real)
            and 0 <= self.validation_fraction < 0.5
        ):
            raise ValueError(
                f"validation_fraction={self.validation_fraction!r}: use a number "
                "in [0, 0.5)"
            )
        if self.augment is not None and self.augment not in AUGMENTATIONS:
            raise ValueError(
                f"augment={self.augment!r}: choose None (the family default) or "
                f"one of {', '.join(AUGMENTATIONS)}"
            )
        if self.n_threads is not None and not _is_int(self.n_threads, 1):
            raise ValueError(f"n_threads={self.n_threads!r}: use None or an int >= 1")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision={self.precision!r}: choose from {', '.join(PRECISIONS)}"
            )
        if not _is_int(self.seed, 0):
            raise ValueError(f"seed={self.seed!r}: use an integer >= 0")
        allowed = _factory_options(self.architecture)
        unknown = [name for name in self._option_names if name not in allowed]
        if unknown:
            raise ValueError(
                f"{unknown[0]}: not an option of architecture "
                f"{self.architecture!r}; choose from {', '.join(allowed)}"
            )

    def _check_images(self, X: np.ndarray, name: str = "X") -> np.ndarray:
        if not (
            isinstance(X, np.ndarray)
            and X.dtype == np.uint8
            and X.ndim == 4
            and X.shape[3] == 3
        ):
            raise ValueError(
                f"{name}: expected a uint8 array of shape (n, height, width, 3), got "
                f"{getattr(X, 'dtype', type(X).__name__)} {np.shape(X)}; use "
                "benchmarks.data.image_cache.load_images"
            )
        return X

    def _targets(self, y: np.ndarray, name: str) -> np.ndarray:
        """Labels -> class indices (or one-hot rows when the loss wants them)."""
        y = np.asarray(y).reshape(-1)
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(
                f"{name}: label {_shown(unknown[0])} was not in the training labels"
            )
        encoded = np.searchsorted(self.classes_, y).astype(np.int32)
        if isinstance(self.model_.loss, keras.losses.SparseCategoricalCrossentropy):
            return encoded
        return np.eye(len(self.classes_), dtype=np.float32)[encoded]

    def _weights(
        self, y: np.ndarray, sample_weight: np.ndarray | None, class_weight
    ) -> np.ndarray | None:
        """Per-image weights from the training labels only."""
        if sample_weight is None and class_weight is None:
            return None
        weights = np.ones(len(y))
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if not (
                weights.shape == (len(y),)
                and np.all(np.isfinite(weights) & (weights >= 0))
                and weights.sum() > 0
            ):
                raise ValueError(
                    f"sample_weight: expected {len(y)} finite values >= 0 with a "
                    f"positive sum, got shape {np.shape(sample_weight)}"
                )
        if class_weight is not None:
            present = np.unique(y)
            if isinstance(class_weight, str):
                if class_weight != "balanced":
                    raise ValueError(
                        f"class_weight={class_weight!r}: use 'balanced', a dict "
                        "label -> weight, or None"
                    )
                per_class = compute_class_weight("balanced", classes=present, y=y)
            else:
                missing = [c for c in present if c not in class_weight]
                if missing:
                    raise ValueError(
                        f"class_weight: no weight for class {_shown(missing[0])}; "
                        "give one per class or 'balanced'"
                    )
                per_class = np.array([class_weight[c] for c in present], float)
            weights = weights * per_class[np.searchsorted(present, y)]
        return weights.astype(np.float32)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        sample_weight: np.ndarray | None = None,
        class_weight: dict | str | None = None,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> KerasImageClassifier:
        """Train on uint8 images ``X`` (n, h, w, 3) with labels ``y``.

        ``class_weight`` ('balanced' or label -> weight) and ``sample_weight``
        multiply; both must describe the training data only. Early stopping
        watches ``validation_data`` when given, else a held-out part of ``X``.
        """
        started = time.perf_counter()
        self._validate_params()
        X = self._check_images(X)
        y = np.asarray(y).reshape(-1)
        if len(y) != len(X):
            raise ValueError(f"y: {len(y)} labels for {len(X)} images")
        present = np.unique(y)
        if len(present) < 2:
            raise ValueError(f"y: only one class ({_shown(present[0])}); need two")
        self.classes_ = present
        if self.classes is not None and len(self.classes):
            self.classes_ = np.union1d(present, list(self.classes))
        weights = self._weights(y, sample_weight, class_weight)
        self.image_size_ = self.image_size or DEFAULT_IMAGE_SIZES[self.architecture]
        configure_threads(self.n_threads)
        tf.config.experimental.enable_op_determinism()
        keras.utils.set_random_seed(self.seed)

        X = resize_images(X, self.image_size_)
        if validation_data is None and self.validation_fraction == 0:
            validation = None
        elif validation_data is None:
            train, held_out = inner_split(
                X.reshape(len(X), -1),
                y,
                self.validation_fraction,
                np.random.RandomState(self.seed),
            )
            validation = (X[held_out], y[held_out]) if len(held_out) else None
            X, y = X[train], y[train]
            weights = None if weights is None else weights[train]
        else:
            images = self._check_images(validation_data[0], "validation_data")
            validation = (resize_images(images, self.image_size_), validation_data[1])

        self.batch_size_ = min(self.batch_size or default_batch_size(len(X)), len(X))
        steps_per_epoch = len(X) // self.batch_size_  # full batches only
        self.model_ = self._build(n_steps=self.epochs * steps_per_epoch)
        timer = _Timer()
        stopper = self._train(X, y, weights, validation, timer)
        self.best_epoch_ = timer.epochs - 1 if stopper is None else stopper.best_epoch
        trained = steps_per_epoch * self.batch_size_ * timer.epochs
        self.images_per_second_ = trained / max(timer.train_seconds, 1e-9)
        self.fit_seconds_ = time.perf_counter() - started
        self._embedder = None
        return self

    def _build(self, n_steps: int) -> keras.Model:
        """The compiled network; the learning rate decays over ``n_steps``."""
        factory = _factory(self.architecture)
        arguments = {name: getattr(self, name) for name in self._option_names}
        if self.learning_rate is not None:
            arguments["learning_rate"] = self.learning_rate
        if "decay_steps" in inspect.signature(factory).parameters:
            arguments["decay_steps"] = n_steps
        shape = (self.image_size_, self.image_size_, 3)
        if self.precision == "float32":
            return factory(shape, len(self.classes_), seed=self.seed, **arguments)
        # Keras reads the policy when each layer is made; set only for this build,
        # since a worker process goes on to build other networks.
        before = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.precision)
        try:
            return factory(shape, len(self.classes_), seed=self.seed, **arguments)
        finally:
            keras.config.set_dtype_policy(before)

    def _train(
        self,
        X: np.ndarray,
        y: np.ndarray,
        weights: np.ndarray | None,
        validation: tuple[np.ndarray, np.ndarray] | None,
        timer: _Timer,
    ) -> keras.callbacks.EarlyStopping | None:
        """Run Keras' fit, fill ``history_``; returns the early stopper, if any."""
        augment = self.augment or DEFAULT_AUGMENTATIONS.get(
            _architecture_name(self.architecture), "dihedral"
        )
        dataset, steps = training_dataset(
            X,
            self._targets(y, "y"),
            weights,
            batch_size=self.batch_size_,
            seed=self.seed,
            augment=augment,
            epochs=self.epochs,
        )
        callbacks: list[keras.callbacks.Callback] = [timer]
        stopper = validation_dataset = None
        if validation is None:
            if self.validation_fraction > 0:
                logger.warning(
                    "%d images are too few for an inner validation split; "
                    "training %d epochs without early stopping",
                    len(X),
                    self.epochs,
                )
        else:
            # Scored every epoch for the learning curves, so in prediction-sized
            # batches: fewer, larger steps cost less than training-sized ones.
            validation_dataset = evaluation_dataset(
                validation[0],
                self._targets(validation[1], "validation_data"),
                batch_size=_PREDICT_BATCH,
            )
            if self.patience is not None:
                # The first third runs at a high learning rate, where validation
                # loss jumps about; watching it there stopped runs far too soon.
                stopper = keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=self.patience,
                    restore_best_weights=True,
                    start_from_epoch=self.epochs // 3,
                )
                callbacks.append(stopper)
        history = self.model_.fit(
            dataset,
            steps_per_epoch=steps,
            epochs=self.epochs,
            validation_data=validation_dataset,
            callbacks=callbacks,
            shuffle=False,  # the dataset reshuffles itself, seeded
            verbose=self.verbose,
        ).history
        self.history_ = {
            ours: [float(value) for value in history.get(theirs, [])]
            for theirs, ours in _HISTORY_KEYS.items()
        }
        return stopper

    def _logits(self, model: keras.Model, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = self._check_images(X)
        parts = []
        for batch in batches(X, self.image_size_, _PREDICT_BATCH):
            # Every call gets a full batch: each new shape retraces the graph
            # (~0.4 s, and a TensorFlow warning) for a handful of images.
            padding = _PREDICT_BATCH - len(batch)
            padded = np.pad(batch, ((0, padding), (0, 0), (0, 0), (0, 0)))
            parts.append(np.asarray(model.predict_on_batch(padded))[: len(batch)])
        return (
            np.concatenate(parts) if parts else np.empty((0, *model.output_shape[1:]))
        )

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (softmax of the logits), columns in ``classes_``
        order; read in batches, so memory does not grow with ``len(X)``."""
        logits = self._logits(self.model_, X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class label per image."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def embed(self, X: np.ndarray) -> np.ndarray:
        """Penultimate-layer features per image (the hybrid model's CNN input)."""
        check_is_fitted(self, "model_")
        if getattr(self, "_embedder", None) is None:
            self._embedder = keras.Model(
                self.model_.inputs, self.model_.get_layer(EMBEDDING_LAYER).output
            )
        return self._logits(self._embedder, X).astype(np.float32)

    def save(self, path: str | Path) -> Path:
        """Write one ``.keras`` file: the network plus our metadata as JSON.

        No pickles: ``load`` reads it back with Keras' safe mode on.
        """
        check_is_fitted(self, "model_")
        path = Path(path)
        if path.suffix != ".keras":
            raise ValueError(f"path={str(path)!r}: use a file name ending in .keras")
        params = {
            name: str(value) if isinstance(value, Path) else value
            for name, value in self.get_params().items()
        }
        params["architecture"] = _architecture_name(self.architecture)
        metadata = {
            "params": params,
            "classes": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str,
            "image_size": self.image_size_,
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "fit_seconds": self.fit_seconds_,
            "images_per_second": self.images_per_second_,
        }
        with warnings.catch_warnings():
            # Keras 3.15 saving TF variables under NumPy 2 warns once per variable.
            warnings.filterwarnings(
                "ignore", "__array__ implementation doesn't accept a copy keyword"
            )
            self.model_.save(path)
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(_METADATA, json.dumps(metadata))
        return path

    @classmethod
    def load(cls, path: str | Path) -> KerasImageClassifier:
        """A fitted classifier from a file written by ``save`` (ready to predict,
        not to continue training)."""
        path = Path(path)
        try:
            with zipfile.ZipFile(path) as archive:
                metadata = json.loads(archive.read(_METADATA))
        except (OSError, KeyError, zipfile.BadZipFile) as error:
            raise ValueError(
                f"{path}: not a model saved by KerasImageClassifier.save ({error})"
            ) from None
        estimator = cls(**metadata["params"])
        estimator.model_ = keras.saving.load_model(path, safe_mode=True, compile=False)
        estimator.classes_ = np.array(
            metadata["classes"], dtype=np.dtype(metadata["classes_dtype"])
        )
        estimator.image_size_ = metadata["image_size"]
        estimator.history_ = metadata["history"]
        estimator.best_epoch_ = metadata["best_epoch"]
        estimator.fit_seconds_ = metadata["fit_seconds"]
        estimator.images_per_second_ = metadata["images_per_second"]
        estimator._embedder = None
        return estimator
