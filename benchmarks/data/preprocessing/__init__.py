"""Input preprocessing: one registry of frozen specs, built-ins and plug-ins alike.

A preprocessing is applied the same way wherever a family reads images (its
trials, ``train``'s final fit and ``triage``) and before the handcrafted
features are computed; the image cache keeps its output on disk. Adding one
is a ``Preprocessing`` entry, built in or installed through the entry-point
group ``melanoma_bench.preprocessing``.
"""

from benchmarks.data.preprocessing._builtin import (
    LESION_MARGIN,
    SHADES_OF_GRAY_POWER,
    lesion_crop,
    shades_of_gray,
)
from benchmarks.data.preprocessing._registry import (
    PREPROCESSING,
    get,
    installed,
    preprocess,
)
from benchmarks.data.preprocessing._spec import Preprocessing

__all__ = [
    "LESION_MARGIN",
    "PREPROCESSING",
    "SHADES_OF_GRAY_POWER",
    "Preprocessing",
    "get",
    "installed",
    "lesion_crop",
    "preprocess",
    "shades_of_gray",
]
