"""D of ABCD: lesion size as scale-free lengths and areas relative to the frame."""

from __future__ import annotations

import numpy as np

from features._lesion import LesionView, safe_div

GROUP = "diameter"

DOCS: dict[str, str] = {
    "area_frac": "lesion area as a share of the image area",
    "equivalent_diameter_frac": "diameter of the circle with the lesion's area / side",
    "major_axis_frac": "major axis of the moment-equivalent ellipse / image side",
    "minor_axis_frac": "minor axis of the moment-equivalent ellipse / image side",
    "elongation": "minor / major axis (1 = round, towards 0 = elongated)",
    "feret_max_frac": "largest distance between two border points / image side",
    "extent": "lesion area / area of its bounding box",
    "frame_contact": "share of the image frame's edge pixels covered by the lesion",
}
NAMES: tuple[str, ...] = tuple(DOCS)


def compute(view: LesionView) -> dict[str, float]:
    """Diameter features from a shared :class:`LesionView`."""
    side = view.side
    major_var, minor_var, _ = view.principal_axes
    major = 4.0 * np.sqrt(major_var)
    minor = 4.0 * np.sqrt(minor_var)
    hull = view.hull.reshape(-1, 2).astype(np.float64)
    if len(hull) > 1:
        gaps = hull[:, None, :] - hull[None, :, :]
        feret = float(np.sqrt(np.einsum("ijk,ijk->ij", gaps, gaps).max())) + 1.0
    else:
        feret = 1.0
    rows = np.flatnonzero(view.mask.any(axis=1))
    cols = np.flatnonzero(view.mask.any(axis=0))
    box_area = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
    mask = view.mask
    edge = np.concatenate([mask[0], mask[-1], mask[1:-1, 0], mask[1:-1, -1]])
    return {
        "area_frac": view.area / float(mask.size),
        "equivalent_diameter_frac": np.sqrt(4.0 * view.area / np.pi) / side,
        "major_axis_frac": major / side,
        "minor_axis_frac": minor / side,
        "elongation": safe_div(minor, major, 1.0),
        "feret_max_frac": feret / side,
        "extent": safe_div(view.area, float(box_area), 1.0),
        "frame_contact": float(edge.mean()),
    }


def diameter_features(image: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Diameter features of one uint8 RGB image and its bool lesion mask."""
    return compute(LesionView(image, mask))
