"""Why this score? What a fitted model leaned on to raise the melanoma score.

Three kinds of answer, each cheap enough to run after every fold trial and on
every URGENT image of a triage:

- the ABCD group of each handcrafted feature column (``feature_groups``), so
  that 224 columns read as six rows: A asymmetry, B border, C colour,
  D diameter, texture and the 7-point checklist's structures;
- per-feature contributions to the melanoma margin (``contributions``):
  XGBoost's own TreeSHAP (``pred_contribs=True``) for boosted trees, and for a
  linear model (a scaler and a logistic regression) the exact terms
  coefficient x standardised value. Both sum, with a bias, to the model's
  melanoma margin (log-odds, before the softmax); ``importance`` averages
  their magnitudes over images and adds each tree column's share of the
  split gain;
- Grad-CAM heat maps of a Keras network (``grad_cam``): the last
  convolutional layer's activations weighted by the gradient of the melanoma
  logit, one small uint8 map per image at that layer's resolution.

Nothing here tests a family's name: what a model is comes from its estimator
(boosted trees, a linear pipeline, a Keras network) and what its columns are
from its family spec (``column_names``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Feature-name prefix -> the group shown to readers, in ABCD order.
GROUP_LABELS: dict[str, str] = {
    "asymmetry": "A asymmetry",
    "border": "B border",
    "colour": "C colour",
    "diameter": "D diameter",
    "texture": "texture",
    "structures": "7-point structures",
}
#: The group of a column that is no handcrafted feature (a hybrid's CNN
#: embeddings).
EMBEDDING_GROUP = "CNN embedding"
#: Prefix of the embedding columns' names in ``column_names``.
EMBEDDING_PREFIX = "embedding"
#: Groups a worklist row names.
TOP_GROUPS = 3
#: Evaluation rows a fold trial's importance is averaged over, spread evenly
#: over the part. Why not all: XGBoost's exact TreeSHAP walks every class's
#: trees for every row, about 75 predictions' work; on isic9 all ~750 rows of
#: a fold took 10-20% of an xgb trial, 64 rows 1-2% (20-40 ms; 2-4.5% of an
#: xgb-invariant trial, which takes under a second). Their mean |SHAP| ranks
#: the features as all rows do (Spearman 0.997, top 12 the same for xgb and
#: 11 of 12 for xgb-invariant; group sums within 7%).
IMPORTANCE_ROWS = 64


def feature_group(name: str) -> str:
    """The group label of one column name (``colour__lesion_mean_r`` -> 'C colour')."""
    prefix = name.split("__", 1)[0]
    if prefix in GROUP_LABELS:
        return GROUP_LABELS[prefix]
    if prefix == EMBEDDING_PREFIX:
        return EMBEDDING_GROUP
    raise ValueError(
        f"feature {name!r}: no group; names start with "
        f"{', '.join(p + '__' for p in (*GROUP_LABELS, EMBEDDING_PREFIX))}"
    )


def feature_groups(names: Sequence[str]) -> list[str]:
    """The group label of every column, in column order."""
    return [feature_group(name) for name in names]


def group_order(groups: Sequence[str]) -> list[str]:
    """The distinct groups of ``groups`` in reading order: ABCD, texture, CNN."""
    order = [*GROUP_LABELS.values(), EMBEDDING_GROUP]
    present = set(groups)
    return [group for group in order if group in present]


def column_names(spec: Any, n_columns: int | None = None) -> list[str] | None:
    """The names of the columns ``spec``'s design matrix has, or None where
    they are not handcrafted features and embeddings (images).

    The handcrafted block is ``features.feature_names()`` narrowed by the
    family's ``feature_columns``, as ``families.design_matrix`` narrows it;
    embedding columns are ``embedding__PART_i``. A family reading several
    parts' embeddings needs ``n_columns`` only if their widths differ from an
    even split.
    """
    from benchmarks.grid.families import EMBEDDINGS, FEATURES

    if not spec.fits or FEATURES not in spec.inputs:
        return None
    from features import feature_names

    handcrafted = feature_names()
    if spec.feature_columns is not None:
        handcrafted = [handcrafted[i] for i in spec.feature_columns(handcrafted)]
    if EMBEDDINGS not in spec.inputs:
        return handcrafted
    if n_columns is None:
        raise ValueError(f"{spec.name}: give n_columns to name its embedding columns")
    n_embedded = n_columns - len(handcrafted)
    width = n_embedded // max(1, len(spec.parts))
    embedded = [
        f"{EMBEDDING_PREFIX}__{part}_{i}"
        for index, part in enumerate(spec.parts)
        for i in range(
            width if index < len(spec.parts) - 1 else n_embedded - width * index
        )
    ]
    names: list[str] = []
    for kind in spec.inputs:
        names.extend(embedded if kind == EMBEDDINGS else handcrafted)
    return names


def _trees(estimator: Any) -> Any | None:
    """The XGBoost booster of an ``XGBoostClassifier``, cut to the rounds it
    predicts with; None for any other estimator."""
    from models import XGBoostClassifier

    fitted = getattr(estimator, "booster_", None)
    if not isinstance(estimator, XGBoostClassifier) or fitted is None:
        return None
    booster = fitted.get_booster()
    if booster.num_boosted_rounds() > estimator.n_rounds_:
        booster = booster[: estimator.n_rounds_]
    return booster


def _linear(estimator: Any) -> tuple[Any, Any] | None:
    """(the transforms before it, the linear classifier) of a scikit-learn
    pipeline ending in one with ``coef_`` or with ``margin_terms`` (exact
    terms of a margin built from linear models, models.MelanomaHeadClassifier);
    None otherwise."""
    steps = getattr(estimator, "steps", None)
    if not steps or not any(
        hasattr(steps[-1][1], name) for name in ("coef_", "margin_terms")
    ):
        return None
    return estimator[:-1], steps[-1][1]


def _calibrated_parts(estimator: Any) -> list[Any]:
    """The fitted models inside a ``CalibratedClassifierCV`` (``run
    --calibration``), whose averaged calibrated probabilities it gives; [] for
    any other estimator. Their contributions are averaged: what the models
    lean on, before the calibrators rescale it."""
    return [
        part.estimator for part in getattr(estimator, "calibrated_classifiers_", [])
    ]


def _class_column(estimator: Any, positive: str) -> int | None:
    classes = [str(label) for label in estimator.classes_]
    return classes.index(positive) if positive in classes else None


def contributions(
    estimator: Any, X: np.ndarray, positive: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """(per-column contributions (n, columns), bias (n,)) to the melanoma
    margin of each row of ``X``; they sum to that margin. None when the
    estimator is neither boosted trees nor a linear pipeline (nor a
    calibration of them: the mean of its models'), or never saw class
    ``positive``.

    Trees: XGBoost's TreeSHAP; multi-class output is (n, classes, columns + 1)
    with the bias last, binary output (n, columns + 1) for the second class
    (negated for the first). Linear: coefficient x transformed value, the
    intercept as bias; with two classes the one coefficient row is the second
    class's margin (again negated for the first). A classifier with
    ``margin_terms`` gives its own exact terms, with a bias per row.
    """
    column = _class_column(estimator, positive)
    if column is None:
        return None
    parts = _calibrated_parts(estimator)
    if parts:
        found = [contributions(part, X, positive) for part in parts]
        if any(item is None for item in found):
            return None
        return (
            np.mean([values for values, _ in found], axis=0),
            np.mean([bias for _, bias in found], axis=0),
        )
    booster = _trees(estimator)
    if booster is not None:
        import xgboost

        # float32, as XGBoostClassifier predicts: the same splits taken.
        matrix = xgboost.DMatrix(np.asarray(X, dtype=np.float32))
        values = booster.predict(matrix, pred_contribs=True)
        if values.ndim == 3:
            values = values[:, column, :]
        elif column == 0:
            values = -values
        return values[:, :-1].astype(np.float64), values[:, -1].astype(np.float64)
    linear = _linear(estimator)
    if linear is None:
        return None
    transform, classifier = linear
    Z = np.asarray(transform.transform(X), dtype=np.float64)
    if Z.shape != np.shape(X):
        return None  # the columns were mixed (PCA, say): no term per column
    if hasattr(classifier, "margin_terms"):
        terms = classifier.margin_terms(Z, positive)
        if terms is not None:
            return terms
        classifier = classifier.estimator_
    coef = np.asarray(classifier.coef_, dtype=np.float64)
    intercept = np.asarray(classifier.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:
        sign = 1.0 if column == 1 else -1.0
        weights, bias = sign * coef[0], sign * intercept[0]
    else:
        weights, bias = coef[column], intercept[column]
    return Z * weights, np.full(len(Z), bias)


def margin(estimator: Any, X: np.ndarray, positive: str) -> np.ndarray:
    """The estimator's own melanoma margin (what ``contributions`` sums to)."""
    column = _class_column(estimator, positive)
    booster = _trees(estimator)
    if booster is not None:
        import xgboost

        values = booster.predict(
            xgboost.DMatrix(np.asarray(X, dtype=np.float32)), output_margin=True
        )
        return (
            values[:, column]
            if values.ndim == 2
            else values * (1 if column == 1 else -1)
        )
    values = estimator.decision_function(X)
    return (
        values[:, column] if values.ndim == 2 else values * (1 if column == 1 else -1)
    )


def gain_shares(estimator: Any, n_columns: int) -> np.ndarray | None:
    """Each column's share of the trees' total split gain (over every class's
    trees; zero for a column no split uses); None for other estimators."""
    parts = _calibrated_parts(estimator)
    if parts:
        shares = [gain_shares(part, n_columns) for part in parts]
        return None if any(s is None for s in shares) else np.mean(shares, axis=0)
    booster = _trees(estimator)
    if booster is None:
        return None
    gains = np.zeros(n_columns)
    for key, value in booster.get_score(importance_type="total_gain").items():
        gains[int(key.removeprefix("f"))] = value
    total = gains.sum()
    return gains / total if total > 0 else gains


def group_matrix(groups: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """(one-hot columns x groups, group labels): ``values @ matrix`` sums
    per-column values into their groups."""
    labels = group_order(groups)
    matrix = np.zeros((len(groups), len(labels)))
    matrix[np.arange(len(groups)), [labels.index(g) for g in groups]] = 1.0
    return matrix, labels


def importance(
    estimator: Any, X: np.ndarray, names: Sequence[str], positive: str
) -> dict[str, dict[str, float]] | None:
    """Per column: ``shap``, the mean |contribution| to the melanoma margin
    over the rows of ``X``, and for trees ``gain``, its share of the split
    gain. None when the estimator gives no contributions."""
    found = contributions(estimator, X, positive)
    if found is None or len(X) == 0:
        return None
    mean_abs = np.abs(found[0]).mean(axis=0)
    gains = gain_shares(estimator, len(names))
    result: dict[str, dict[str, float]] = {}
    for index, name in enumerate(names):
        entry = {"shap": round(float(mean_abs[index]), 6)}
        if gains is not None:
            entry["gain"] = round(float(gains[index]), 6)
        result[name] = entry
    return result


def group_importance(
    table: dict[str, dict[str, float]],
) -> dict[str, dict[str, float]]:
    """``importance``'s per-column figures summed into groups."""
    sums: dict[str, dict[str, float]] = {}
    for name, figures in table.items():
        group = sums.setdefault(feature_group(name), {})
        for kind, value in figures.items():
            group[kind] = group.get(kind, 0.0) + value
    return {group: sums[group] for group in group_order(list(sums))}


def top_groups(
    values: np.ndarray, names: Sequence[str], k: int = TOP_GROUPS
) -> list[list[tuple[str, float]]]:
    """Per row of contributions ``values``, the ``k`` groups whose summed
    contributions raised the melanoma margin most, as (group, sum), largest
    first (a negative sum lowered it)."""
    matrix, labels = group_matrix(feature_groups(names))
    sums = np.asarray(values, dtype=np.float64) @ matrix
    order = np.argsort(-sums, axis=1, kind="stable")[:, :k]
    return [
        [(labels[g], float(sums[row, g])) for g in order[row]]
        for row in range(len(sums))
    ]


# --- Grad-CAM -------------------------------------------------------------

_POOLING = ("Pooling", "Flatten", "Dropout")
#: Up to this many images Grad-CAM runs eagerly (no graph to trace).
EAGER_IMAGES = 32
#: Images per Grad-CAM step, so memory stays flat at any image size.
_CAM_BATCH = 64


def last_conv_layer(model: Any) -> str | None:
    """The name of the last top-level layer of ``model`` with a 4-D output
    (batch, height, width, channels) that is not a pooling layer: the last
    convolutional block's activations. None when there is none (a backbone
    nested as one layer, as in ``transfer``, pools inside itself)."""
    found = None
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = getattr(shape, "shape", None)
        if (
            shape is not None
            and len(shape) == 4
            and not any(word in type(layer).__name__ for word in _POOLING)
            and type(layer).__name__ != "InputLayer"
        ):
            found = layer.name
    return found


def grad_cam(
    estimator: Any, images: np.ndarray, positive: str, layer: str | None = None
) -> np.ndarray | None:
    """Grad-CAM maps (n, h, w) uint8 of a ``KerasImageClassifier`` for the
    melanoma logit, at ``layer``'s resolution (default: ``last_conv_layer``).

    Each map is ReLU(sum over channels of activation x channel's mean
    gradient), scaled so that its maximum is 255 (all zero where nothing
    raised the logit). None when the network has no such layer or never saw
    class ``positive``. One forward and one backward pass per 64 images.
    """
    column = _class_column(estimator, positive)
    model = getattr(estimator, "model_", None)
    if column is None or model is None:
        return None
    layer = layer or last_conv_layer(model)
    if layer is None:
        return None
    import keras
    import tensorflow as tf

    from models import resize_images

    images = resize_images(np.asarray(images, dtype=np.uint8), estimator.image_size_)
    cache = estimator.__dict__.setdefault("_grad_cam", {})
    if (layer, column) not in cache:
        both = keras.Model(
            model.inputs, [model.get_layer(layer).output, model.outputs[0]]
        )

        def maps(inputs):
            with tf.GradientTape() as tape:
                activations, logits = both(inputs, training=False)
                target = logits[:, column]
            gradients = tape.gradient(target, activations)
            weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
            return tf.nn.relu(tf.reduce_sum(activations * weights, axis=-1))

        size = estimator.image_size_
        signature = [tf.TensorSpec((None, size, size, 3), tf.float32)]
        cache[layer, column] = (maps, tf.function(maps, input_signature=signature))
    eager, traced = cache[layer, column]
    # A graph is traced once (about a second) and then runs several times
    # faster than eager steps: worth it for triage's batches, not for a trial's
    # eight images.
    run = traced if len(images) > EAGER_IMAGES else eager
    parts = [
        run(tf.convert_to_tensor(images[start : start + _CAM_BATCH], tf.float32))
        for start in range(0, len(images), _CAM_BATCH)
    ]
    cam = np.concatenate([part.numpy() for part in parts])
    peak = cam.max(axis=(1, 2), keepdims=True)
    scaled = np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)
    return np.round(255 * scaled).astype(np.uint8)


def spread(n_rows: int, count: int = IMPORTANCE_ROWS) -> np.ndarray:
    """Up to ``count`` row positions spread evenly over ``n_rows`` (all of
    them when there are no more): deterministic, and over a part in the
    manifest's order it takes every class in proportion."""
    if n_rows <= count:
        return np.arange(n_rows)
    return np.unique(np.linspace(0, n_rows - 1, count).round().astype(np.int64))


def explained_sample(
    labels: np.ndarray, predicted: np.ndarray, positive: str, per_kind: int = 4
) -> np.ndarray:
    """Positions of up to ``per_kind`` melanomas predicted melanoma (found)
    and up to ``per_kind`` predicted otherwise (missed), found first, each in
    row order: deterministic, so reruns draw the same images."""
    melanoma = np.asarray(labels) == positive
    hit = np.asarray(predicted) == positive
    found = np.flatnonzero(melanoma & hit)[:per_kind]
    missed = np.flatnonzero(melanoma & ~hit)[:per_kind]
    return np.concatenate([found, missed]).astype(np.int64)


def _colour_table() -> np.ndarray:
    anchors = np.array(
        [[0, 0, 80], [0, 90, 200], [0, 200, 120], [240, 200, 0], [220, 20, 20]],
        dtype=np.float64,
    )
    positions = np.linspace(0, 255, len(anchors))
    return np.stack(
        [np.interp(np.arange(256), positions, anchors[:, c]) for c in range(3)],
        axis=-1,
    ).astype(np.uint8)


#: uint8 level -> RGB: dark blue, blue, green, yellow, red.
_COLOURS = _colour_table()


def heat_colours(maps: np.ndarray) -> np.ndarray:
    """uint8 maps (..., h, w) -> RGB (..., h, w, 3) on a dark-blue to green
    to red scale, without matplotlib (triage does not import it)."""
    return _COLOURS[np.asarray(maps, dtype=np.uint8)]


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """``image`` (h, w, 3) uint8 with the uint8 map ``heat`` (any size)
    stretched over it, coloured, blended in proportion to its strength."""
    from PIL import Image

    height, width = image.shape[:2]
    stretched = np.asarray(
        Image.fromarray(np.asarray(heat, dtype=np.uint8)).resize(
            (width, height), Image.Resampling.BILINEAR
        )
    )
    weight = (alpha / 255.0) * stretched[..., None].astype(np.float32)
    blended = image + weight * (heat_colours(stretched) - image.astype(np.float32))
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)


def trial_explanations(
    estimator: Any,
    spec: Any,
    X: np.ndarray,
    labels: np.ndarray,
    proba: np.ndarray,
    classes: Sequence[str],
    positive: str,
    rows: np.ndarray | None = None,
) -> tuple[dict | None, dict[str, np.ndarray]]:
    """What a fold trial records of why it scored its evaluation part so.

    Returns (importance per column or None, arrays for the scores file):
    boosted trees and linear pipelines on named columns give ``importance``;
    a Keras network gives ``explained_rows`` (``rows``' entries, the run's
    manifest rows, of up to four found melanomas then up to four missed ones
    at the argmax decision; positions in ``X`` without ``rows``) and
    ``explained_maps`` (their Grad-CAM maps, uint8).
    """
    names = column_names(spec, X.shape[1] if X.ndim == 2 else None)
    if names is not None and X.ndim == 2 and len(names) == X.shape[1]:
        return importance(estimator, X[spread(len(X))], names, positive), {}
    if X.ndim != 4 or type(estimator).__name__ != "KerasImageClassifier":
        return None, {}
    predicted = np.asarray(classes)[np.asarray(proba).argmax(axis=1)]
    chosen = explained_sample(labels, predicted, positive)
    if len(chosen) == 0:
        return None, {}
    maps = grad_cam(estimator, np.asarray(X[chosen]), positive)
    if maps is None:
        return None, {}
    if rows is not None:
        chosen = np.asarray(rows)[chosen]
    return None, {"explained_rows": chosen.astype(np.int64), "explained_maps": maps}
