"""How a family's inputs become a design matrix, and how it fits and scores.

Why one place: a run's trials, ``train``'s final fit and ``triage`` all read a
family's inputs, fit it or score with it; each supplies the inputs its own way
(an ``InputSource``) and this code combines them the same way for all three.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from benchmarks.core.errors import UserError
from benchmarks.grid.families._registry import family
from benchmarks.grid.families._spec import EMBEDDINGS, IMAGES, Family, FitContext


class InputSource(Protocol):
    """Where a family's inputs come from, one row per image; ``preprocessing``
    is the run's, which a family reads unless it names its own."""

    preprocessing: str

    def features(self, preprocessing: str) -> np.ndarray: ...

    def images(self, size: int, preprocessing: str) -> np.ndarray: ...

    def embeddings(self, model: str) -> np.ndarray: ...


def design_matrix(spec: Family, source: InputSource) -> np.ndarray:
    """The rows ``spec``'s estimator reads: its input blocks side by side."""
    preprocessing = spec.input_preprocessing(source.preprocessing)
    if IMAGES in spec.inputs:
        return source.images(spec.image_size, preprocessing)
    blocks: list[np.ndarray] = []
    for kind in spec.inputs:
        if kind == EMBEDDINGS:
            blocks.extend(np.asarray(source.embeddings(part)) for part in spec.parts)
        else:
            blocks.append(_features_of(spec, source, preprocessing))
    return blocks[0] if len(blocks) == 1 else np.hstack(blocks)


def _features_of(spec: Family, source: InputSource, preprocessing: str) -> np.ndarray:
    features = np.asarray(source.features(preprocessing))
    if spec.feature_columns is None:
        return features
    from features import feature_names

    return features[:, list(spec.feature_columns(feature_names()))]


def _weight_argument(
    spec: Family, context: FitContext, estimator: Any, accepted: Any
) -> str:
    """The fit argument that takes sample weights: ``sample_weight``, or for a
    scikit-learn Pipeline its last step's (the classifier's)."""
    if "sample_weight" in accepted:
        return "sample_weight"
    steps = getattr(estimator, "steps", None)
    if steps:
        last, classifier = steps[-1]
        if "sample_weight" in inspect.signature(classifier.fit).parameters:
            return f"{last}__sample_weight"
    raise UserError(
        f"{spec.name}:{context.strategy}: the family's fit takes no sample_weight; "
        "run it under another strategy"
    )


def fit_estimator(
    spec: Family,
    context: FitContext,
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    monitor: tuple[np.ndarray, np.ndarray] | None,
) -> Any:
    """A new estimator from ``spec``'s factory, fitted on (X, y).

    The weights go in only where a strategy made some, and the monitoring
    part only to an estimator whose ``fit`` takes ``validation_data`` (it
    draws learning curves; nothing is chosen by it), and of it only the rows
    of classes the estimator will know (``_known_rows``).
    """
    estimator = spec.make(context)
    accepted = inspect.signature(estimator.fit).parameters
    arguments: dict[str, Any] = {}
    if sample_weight is not None:
        arguments[_weight_argument(spec, context, estimator, accepted)] = sample_weight
    if monitor is not None and "validation_data" in accepted:
        known = _known_rows(monitor, y, estimator)
        if len(known[1]):
            arguments["validation_data"] = known
    return estimator.fit(X, y, **arguments)


def _known_rows(
    monitor: tuple[np.ndarray, np.ndarray], y: np.ndarray, estimator: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The monitoring rows whose class the estimator will know: its training
    labels' and those it was given (``classes``, as the networks are).

    Why: in a leave-source-out fold the held-out source may hold a class no
    training source has; a plug-in's fit that only knows its training labels
    would refuse the whole trial over a learning curve.
    """
    X, labels = monitor
    given = getattr(estimator, "classes", None)
    known = set(np.unique(y).tolist()) | set(() if given is None else given)
    keep = np.isin(labels, list(known))
    return monitor if keep.all() else (X[keep], labels[keep])


def class_probabilities(
    estimator: Any, X: np.ndarray, classes: tuple[str, ...]
) -> np.ndarray:
    """Scores in the run's class order, even if a class was missing in training."""
    proba = np.zeros((len(X), len(classes)))
    if not len(X):
        # A final fit of sources without a Test split scores no rows here, and
        # some estimators (XGBoost, scikit-learn's) refuse an empty array.
        return proba
    columns = [classes.index(str(label)) for label in estimator.classes_]
    proba[:, columns] = estimator.predict_proba(X)
    return proba


@dataclass
class FittedSource:
    """An input source whose embeddings come from fitted part estimators, as
    in ``train``'s final fit and in ``triage``."""

    base: Any
    estimators: dict[str, Any] = field(default_factory=dict)
    plugins: tuple[str, ...] = ()

    @property
    def preprocessing(self) -> str:
        return self.base.preprocessing

    def features(self, preprocessing: str) -> np.ndarray:
        return self.base.features(preprocessing)

    def images(self, size: int, preprocessing: str) -> np.ndarray:
        return self.base.images(size, preprocessing)

    def embeddings(self, model: str) -> np.ndarray:
        spec = family(model, self.plugins)
        return self.estimators[model].embed(design_matrix(spec, self))


def predict_proba(
    name: str,
    estimators: dict[str, Any],
    source: Any,
    classes: tuple[str, ...],
    plugins: Iterable[str] = (),
) -> np.ndarray:
    """Class probabilities of family ``name`` from its fitted estimators (its
    own and its parts'), combined as its trials combined them."""
    plugins = tuple(plugins)
    spec = family(name, plugins)
    if not spec.fits:
        return spec.combine(
            [
                predict_proba(part, estimators, source, classes, plugins)
                for part in spec.parts
            ]
        )
    fitted = FittedSource(source, estimators, plugins)
    return class_probabilities(estimators[name], design_matrix(spec, fitted), classes)
