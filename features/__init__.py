"""Handcrafted dermoscopy features (ABCD, colour, texture, the 7-point checklist's
structures) as sklearn transformers."""

from features._asymmetry import asymmetry_features
from features._border import border_features
from features._colour import DERMOSCOPIC_COLOURS, colour_features
from features._diameter import diameter_features
from features._docs import FEATURE_DOCS, feature_table_markdown
from features._hair import HairRemover, hair_mask, remove_hair
from features._handcrafted import (
    ABCD_GROUPS,
    ALL_GROUPS,
    EXTRACTOR_VERSION,
    HandcraftedFeatures,
    camera_independent,
    dermoscopy_columns,
    extract_features,
    feature_names,
    lesion_mask,
)
from features._segmentation import fallback_mask, mask_unreliable, segment_lesion
from features._structures import structure_features
from features._texture import texture_features

__all__ = [
    "ABCD_GROUPS",
    "ALL_GROUPS",
    "DERMOSCOPIC_COLOURS",
    "EXTRACTOR_VERSION",
    "FEATURE_DOCS",
    "HairRemover",
    "HandcraftedFeatures",
    "asymmetry_features",
    "border_features",
    "camera_independent",
    "colour_features",
    "dermoscopy_columns",
    "diameter_features",
    "extract_features",
    "fallback_mask",
    "feature_names",
    "feature_table_markdown",
    "hair_mask",
    "lesion_mask",
    "mask_unreliable",
    "remove_hair",
    "segment_lesion",
    "structure_features",
    "texture_features",
]
