"""Model families: one registry of frozen specs, built-ins and plug-ins alike.

Everything that runs, trains, scores or reports a family asks this registry
what it reads, what it is made of and how to fit it; nothing else tests a
family's name. Adding a family is one ``Family`` entry plus its factory.
"""

from benchmarks.grid.families._fitting import (
    FittedSource,
    InputSource,
    class_probabilities,
    design_matrix,
    fit_estimator,
    predict_proba,
)
from benchmarks.grid.families._registry import (
    FAMILIES,
    default_names,
    embedded,
    family,
    installed,
    needs,
    resolve,
    stage,
    variant,
    with_parts,
)
from benchmarks.grid.families._spec import (
    EMBEDDINGS,
    FEATURES,
    IMAGES,
    Budget,
    Family,
    FitContext,
    mean_of,
)
from benchmarks.grid.families._variant import FamilyVariant

__all__ = [
    "EMBEDDINGS",
    "FAMILIES",
    "FEATURES",
    "IMAGES",
    "Budget",
    "Family",
    "FamilyVariant",
    "FitContext",
    "FittedSource",
    "InputSource",
    "class_probabilities",
    "default_names",
    "design_matrix",
    "embedded",
    "family",
    "fit_estimator",
    "installed",
    "mean_of",
    "needs",
    "predict_proba",
    "resolve",
    "stage",
    "variant",
    "with_parts",
]
