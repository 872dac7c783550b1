"""The combined extractor: hair removal and segmentation once, then every group."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import MappingProxyType

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from features import _asymmetry, _border, _colour, _diameter, _structures, _texture
from features._hair import remove_hair as _remove_hair
from features._lesion import LesionView
from features._segmentation import LesionMasks, segment_lesion_masks
from features._validation import check_images

logger = logging.getLogger(__name__)

#: Bump whenever any feature's value or the column order changes (cache key).
EXTRACTOR_VERSION = "1.2"
ABCD_GROUPS: tuple[str, ...] = ("asymmetry", "border", "colour", "diameter")
ALL_GROUPS: tuple[str, ...] = (*ABCD_GROUPS, "texture", "structures")

_MODULES = (_asymmetry, _border, _colour, _diameter, _texture, _structures)
#: Group name -> function computing that group's features from a LesionView.
GROUP_EXTRACTORS: MappingProxyType[str, Callable[[LesionView], dict[str, float]]] = (
    MappingProxyType({module.GROUP: module.compute for module in _MODULES})
)
#: Group name -> its feature names, without the "group__" prefix.
GROUP_NAMES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {module.GROUP: module.NAMES for module in _MODULES}
)
#: Images per parallel task: large enough to amortise process overhead.
CHUNK_SIZE = 64


def feature_names(groups: Sequence[str] = ALL_GROUPS) -> list[str]:
    """Column names ``group__feature`` of the given groups, in output order."""
    return [f"{group}__{name}" for group in groups for name in GROUP_NAMES[group]]


#: Colour features that compare the lesion with its own surroundings or count the
#: dermoscopic colours in it, rather than measure absolute colour.
_RELATIVE_COLOUR = ("contrast_", "core_rim_", "share_", "has_", "n_colours")


def camera_independent(names: Sequence[str]) -> list[int]:
    """Positions of the features a camera or archive barely changes: the
    lesion's asymmetry and border, its colours relative to the surrounding
    skin, and the dermoscopic colours it holds.

    Why: absolute colour, frame and texture statistics also describe the
    device, and on data where the classes come from different archives a model
    learns the archive from them (docs/generalization.md).
    """
    return [
        index
        for index, name in enumerate(names)
        if name.startswith(("asymmetry__", "border__"))
        or (
            name.startswith("colour__")
            and name.removeprefix("colour__").startswith(_RELATIVE_COLOUR)
        )
    ]


def dermoscopy_columns(names: Sequence[str]) -> list[int]:
    """Positions of the camera-independent features plus the dermoscopic
    structures: the lesion as a dermatologist reads it (the ABCD rule and the
    7-point checklist), without the frame and absolute-colour statistics."""
    independent = set(camera_independent(names))
    return [
        index
        for index, name in enumerate(names)
        if index in independent or name.startswith("structures__")
    ]


def lesion_mask(
    image: np.ndarray, *, remove_hair: bool = True
) -> tuple[np.ndarray, np.ndarray, bool]:
    """(image the features read, its bool lesion mask, whether segmentation fell
    back) of one uint8 RGB image: the one path to the mask features, ``segment``
    and the audit share."""
    image, masks = _lesion_masks(image, remove_hair)
    return image, masks.outline, masks.used_fallback


def _lesion_masks(
    image: np.ndarray, remove_hair: bool
) -> tuple[np.ndarray, LesionMasks]:
    if remove_hair:
        image = _remove_hair(image)
    return image, segment_lesion_masks(image)


def extract_features(
    image: np.ndarray,
    *,
    remove_hair: bool = True,
    groups: Sequence[str] = ALL_GROUPS,
) -> tuple[np.ndarray, bool]:
    """Feature row (float64) of one uint8 RGB image and whether segmentation fell back.

    Hair removal and segmentation run once and every group shares the result:
    the structures read the lesion's core, the rest its whole outline.
    """
    image, masks = _lesion_masks(image, remove_hair)
    view = LesionView(image, masks.outline)
    core = view if masks.core is masks.outline else view.with_mask(masks.core)
    values: list[float] = []
    for group in groups:
        features = GROUP_EXTRACTORS[group](core if group == "structures" else view)
        values.extend(features[name] for name in GROUP_NAMES[group])
    return np.asarray(values, dtype=np.float64), masks.used_fallback


def _extract_chunk(
    images: np.ndarray, remove_hair: bool, groups: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Features of a batch in one process."""
    from models.machine import single_threaded_opencv

    with single_threaded_opencv():
        rows = [
            extract_features(image, remove_hair=remove_hair, groups=groups)
            for image in images
        ]
    features = np.stack([row for row, _ in rows])
    fallbacks = np.array([used for _, used in rows], dtype=bool)
    return features, fallbacks


class HandcraftedFeatures(TransformerMixin, BaseEstimator):
    """Handcrafted ABCD, colour, texture and dermoscopic-structure features.

    Each image is hair-cleaned and segmented once; the mask is shared by every
    feature group. The transformer is stateless: ``fit`` only checks parameters.

    Parameters
    ----------
    remove_hair : bool
        Inpaint hair before segmentation and measurement.
    groups : tuple of str
        Feature groups, any of "asymmetry", "border", "colour", "diameter",
        "texture" and "structures"; columns come in this order.
    n_jobs : int or None
        Worker processes; None means all cores, as in joblib's -1.

    Attributes
    ----------
    segmentation_fallback_rate_ : float
        Share of images of the last ``transform`` whose segmentation failed and
        used the centred-ellipse fallback.
    segmentation_fallbacks_ : ndarray of bool
        Which images of the last ``transform`` used the fallback.
    """

    def __init__(
        self,
        *,
        remove_hair: bool = True,
        groups: tuple[str, ...] = ALL_GROUPS,
        n_jobs: int | None = None,
    ) -> None:
        self.remove_hair = remove_hair
        self.groups = groups
        self.n_jobs = n_jobs

    def _validated_groups(self) -> tuple[str, ...]:
        groups = (self.groups,) if isinstance(self.groups, str) else self.groups
        groups = tuple(groups)
        allowed = ", ".join(ALL_GROUPS)
        unknown = [group for group in groups if group not in GROUP_EXTRACTORS]
        if unknown:
            raise ValueError(f"groups: unknown {unknown[0]!r}; choose from {allowed}")
        if not groups or len(set(groups)) != len(groups):
            raise ValueError(
                f"groups: {groups!r}; give one or more distinct names from {allowed}"
            )
        if not isinstance(self.n_jobs, int | None) or self.n_jobs == 0:
            raise ValueError(
                f"n_jobs: {self.n_jobs!r}; use None (all cores), a positive count "
                "or a negative joblib count"
            )
        return groups

    def fit(self, X: np.ndarray, y: object = None) -> HandcraftedFeatures:
        """Check the parameters and input; nothing is learnt."""
        self._validated_groups()
        check_images(X)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return a float32 (n_images, n_features) array, never NaN or inf."""
        groups = self._validated_groups()
        images = check_images(X)
        width = len(feature_names(groups))
        if len(images) == 0:
            self.segmentation_fallbacks_ = np.zeros(0, dtype=bool)
            self.segmentation_fallback_rate_ = 0.0
            return np.zeros((0, width), dtype=np.float32)
        from models.machine import map_chunks

        results = map_chunks(
            _extract_chunk,
            (images,),
            n_jobs=self.n_jobs,
            extra=(bool(self.remove_hair), groups),
            max_chunk=CHUNK_SIZE,
        )
        rows = np.concatenate([part for part, _ in results]).reshape(-1, width)
        features = rows.astype(np.float32)
        fallbacks = np.concatenate([used for _, used in results])
        # A guard, not a mechanism: every extractor returns finite values on
        # degenerate masks (the tests prove it), so this should never fire.
        bad = ~np.isfinite(features)
        if bad.any():
            logger.warning(
                "handcrafted features: replaced %d non-finite values with 0 in "
                "columns %s",
                int(bad.sum()),
                sorted({feature_names(groups)[k] for k in np.nonzero(bad)[1]}),
            )
            features[bad] = 0.0
        self.segmentation_fallbacks_ = fallbacks
        self.segmentation_fallback_rate_ = float(fallbacks.mean())
        return features

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names ``group__feature`` of the output columns."""
        return np.asarray(feature_names(self._validated_groups()), dtype=object)

    def __sklearn_is_fitted__(self) -> bool:
        """Stateless: usable without fit, like FunctionTransformer."""
        return True
