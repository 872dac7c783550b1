"""C of ABCD: lesion colour statistics, skin contrast, the six dermoscopic colours."""

from __future__ import annotations

import cv2
import numpy as np

from features._lesion import LesionView

GROUP = "colour"

#: Reference sRGB values of the six colours of the dermoscopic ABCD rule.
DERMOSCOPIC_COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (222, 214, 218),
    "red": (190, 50, 60),
    "light_brown": (165, 110, 72),
    "dark_brown": (85, 50, 35),
    "blue_grey": (100, 115, 140),
    "black": (32, 26, 28),
}
#: A colour counts as present when it covers at least this share of the lesion.
PRESENCE_SHARE = 0.05
#: Lesion pixels sampled (evenly strided) for percentiles, shares and histograms.
MAX_PIXELS = 8192
#: Bins of the saturation-weighted hue histogram.
HUE_BINS = 12

_CHANNELS = {
    "rgb": ("r", "g", "b"),
    "hsv": ("s", "v"),
    "lab": ("l", "a", "b"),
}


def _docs() -> dict[str, str]:
    docs: dict[str, str] = {}
    for space, channels in _CHANNELS.items():
        for channel in channels:
            docs[f"{space}_{channel}_mean"] = (
                f"mean {space.upper()} {channel} in lesion"
            )
            docs[f"{space}_{channel}_std"] = (
                f"standard deviation of {space.upper()} {channel} in lesion"
            )
    for channel in _CHANNELS["lab"]:
        docs[f"lab_{channel}_p10"] = f"10th percentile of CIELab {channel} in lesion"
        docs[f"lab_{channel}_p90"] = f"90th percentile of CIELab {channel} in lesion"
    docs.update(
        {
            "hsv_h_cos": "mean cosine of the hue angle in lesion (circular mean)",
            "hsv_h_sin": "mean sine of the hue angle in lesion (circular mean)",
            "hsv_h_spread": "1 - length of the mean hue vector (0 = one hue)",
            "lab_chroma_mean": "mean CIELab chroma sqrt(a^2 + b^2) in lesion",
            "lab_hue_angle": "hue angle atan2(b, a) of the mean lesion colour (rad)",
            "lab_spread": "mean CIELab distance of lesion pixels from their mean",
            "skin_l": "mean CIELab L of the surrounding skin",
            "skin_a": "mean CIELab a of the surrounding skin",
            "skin_b": "mean CIELab b of the surrounding skin",
            "contrast_l": "lesion minus skin mean CIELab L",
            "contrast_a": "lesion minus skin mean CIELab a",
            "contrast_b": "lesion minus skin mean CIELab b",
            "contrast_e": "CIELab distance between lesion and skin mean colours",
        }
    )
    for colour in DERMOSCOPIC_COLOURS:
        docs[f"share_{colour}"] = (
            f"share of lesion pixels nearest to dermoscopic {colour.replace('_', '-')}"
        )
    for colour in DERMOSCOPIC_COLOURS:
        docs[f"has_{colour}"] = f"1 if share_{colour} >= {PRESENCE_SHARE:.0%}, else 0"
    docs["n_colours"] = "how many of the six dermoscopic colours are present"
    docs["hue_hist_bin{i}"] = (
        f"saturation-weighted share of lesion hue in bin i of {HUE_BINS} "
        f"({360 // HUE_BINS} degree bins from red)"
    )
    for channel in _CHANNELS["lab"]:
        docs[f"core_rim_{channel}"] = (
            f"CIELab {channel}: mean of the lesion's inner half (by distance to the "
            "border) minus mean of its outer half"
        )
    docs["core_rim_e"] = "CIELab distance between inner-half and outer-half means"
    for channel in _CHANNELS["lab"]:
        docs[f"frame_{channel}_mean"] = f"mean CIELab {channel} of the whole frame"
        docs[f"frame_{channel}_std"] = (
            f"standard deviation of CIELab {channel} over the whole frame"
        )
    return docs


DOCS: dict[str, str] = _docs()
NAMES: tuple[str, ...] = tuple(
    name
    for pattern in DOCS
    for name in (
        [pattern.format(i=i) for i in range(HUE_BINS)]
        if "{i}" in pattern
        else [pattern]
    )
)


def _reference_lab() -> np.ndarray:
    rgb = np.array(list(DERMOSCOPIC_COLOURS.values()), dtype=np.float32) / 255.0
    return cv2.cvtColor(rgb.reshape(1, -1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3)


_REFERENCE_LAB = _reference_lab()


def _colour_shares(lab: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Share of lesion pixels nearest each dermoscopic colour.

    The image's own skin colour competes as a seventh reference, so pale lesion
    parts that merely look like the skin are not forced into a colour.
    """
    references = np.vstack([_REFERENCE_LAB, skin[None, :]])
    cross = lab @ references.T
    distance = (references**2).sum(axis=1)[None, :] - 2.0 * cross
    nearest = np.argmin(distance, axis=1)
    counts = np.bincount(nearest, minlength=len(references))[: len(_REFERENCE_LAB)]
    return counts / float(len(lab))


def _hue_histogram(hsv: np.ndarray) -> dict[str, float]:
    """Hue distribution, weighted by saturation so that grey pixels count little."""
    bins = np.minimum((hsv[:, 0] * (HUE_BINS / 360.0)).astype(np.intp), HUE_BINS - 1)
    weights = np.bincount(bins, weights=hsv[:, 1], minlength=HUE_BINS)
    total = float(weights.sum())
    shares = weights / total if total > 0 else weights
    return {f"hue_hist_bin{i}": float(share) for i, share in enumerate(shares)}


def _core_rim(view: LesionView) -> dict[str, float]:
    """Centre-versus-periphery colour: scars, keratin cores and rims differ."""
    # Pad so that the frame edge counts as border for lesions that reach it.
    padded = np.pad(view.mask_u8, 1)
    depth = cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]
    core = (depth > np.median(depth[view.mask])) & view.mask
    rim = view.mask & ~core
    if core.any() and rim.any():
        core_mean = np.array(cv2.mean(view.lab, mask=core.view(np.uint8))[:3])
        rim_mean = np.array(cv2.mean(view.lab, mask=rim.view(np.uint8))[:3])
        difference = core_mean - rim_mean
    else:
        difference = np.zeros(3)
    features = {
        f"core_rim_{channel}": float(difference[k])
        for k, channel in enumerate(_CHANNELS["lab"])
    }
    features["core_rim_e"] = float(np.linalg.norm(difference))
    return features


def _mean_std(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation inside the mask (OpenCV, fast)."""
    mean, std = cv2.meanStdDev(image, mask=mask)
    return mean.ravel(), std.ravel()


def compute(view: LesionView) -> dict[str, float]:
    """Colour features from a shared :class:`LesionView`."""
    # Distribution statistics use at most MAX_PIXELS evenly strided lesion
    # pixels: the figures barely move and large lesions cost no more.
    stride = max(1, view.area // MAX_PIXELS)
    hsv = view.hsv[view.mask][::stride]
    lab = view.lab[view.mask][::stride]
    features: dict[str, float] = {}
    rgb_mean, rgb_std = _mean_std(view.image, view.mask_u8)
    hsv_mean, hsv_std = _mean_std(view.hsv, view.mask_u8)
    lab_mean, lab_std = _mean_std(view.lab, view.mask_u8)
    moments = {
        "rgb": (rgb_mean / 255.0, rgb_std / 255.0),
        "hsv": (hsv_mean[1:], hsv_std[1:]),
        "lab": (lab_mean, lab_std),
    }
    for space, channels in _CHANNELS.items():
        means, stds = moments[space]
        for k, channel in enumerate(channels):
            features[f"{space}_{channel}_mean"] = float(means[k])
            features[f"{space}_{channel}_std"] = float(stds[k])
    low, high = np.percentile(lab, [10, 90], axis=0)
    for k, channel in enumerate(_CHANNELS["lab"]):
        features[f"lab_{channel}_p10"] = float(low[k])
        features[f"lab_{channel}_p90"] = float(high[k])
    hue = np.deg2rad(hsv[:, 0])
    cos_mean, sin_mean = float(np.cos(hue).mean()), float(np.sin(hue).mean())
    skin_mean = _mean_std(view.lab, view.skin.view(np.uint8))[0]
    contrast = lab_mean - skin_mean
    features.update(
        {
            "hsv_h_cos": cos_mean,
            "hsv_h_sin": sin_mean,
            "hsv_h_spread": 1.0 - float(np.hypot(cos_mean, sin_mean)),
            "lab_chroma_mean": float(np.hypot(lab[:, 1], lab[:, 2]).mean()),
            "lab_hue_angle": float(np.arctan2(lab_mean[2], lab_mean[1])),
            "lab_spread": float(np.linalg.norm(lab - lab_mean, axis=1).mean()),
            "skin_l": float(skin_mean[0]),
            "skin_a": float(skin_mean[1]),
            "skin_b": float(skin_mean[2]),
            "contrast_l": float(contrast[0]),
            "contrast_a": float(contrast[1]),
            "contrast_b": float(contrast[2]),
            "contrast_e": float(np.linalg.norm(contrast)),
        }
    )
    shares = _colour_shares(lab, skin_mean)
    for colour, share in zip(DERMOSCOPIC_COLOURS, shares, strict=True):
        features[f"share_{colour}"] = float(share)
    for colour, share in zip(DERMOSCOPIC_COLOURS, shares, strict=True):
        features[f"has_{colour}"] = float(share >= PRESENCE_SHARE)
    features["n_colours"] = float(np.count_nonzero(shares >= PRESENCE_SHARE))
    features.update(_hue_histogram(hsv))
    features.update(_core_rim(view))
    frame_means, frame_stds = (value.ravel() for value in cv2.meanStdDev(view.lab))
    for k, channel in enumerate(_CHANNELS["lab"]):
        features[f"frame_{channel}_mean"] = float(frame_means[k])
        features[f"frame_{channel}_std"] = float(frame_stds[k])
    return {name: features[name] for name in NAMES}


def colour_features(image: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Colour features of one uint8 RGB image and its bool lesion mask."""
    return compute(LesionView(image, mask))
