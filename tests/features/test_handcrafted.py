"""The combined extractor: shape, names, finiteness, determinism, parameters."""

from __future__ import annotations

import fnmatch
import re

import numpy as np
import pytest
from sklearn.base import clone

from features import (
    ABCD_GROUPS,
    ALL_GROUPS,
    EXTRACTOR_VERSION,
    FEATURE_DOCS,
    HandcraftedFeatures,
    asymmetry_features,
    border_features,
    colour_features,
    diameter_features,
    feature_names,
    feature_table_markdown,
    structure_features,
    texture_features,
)

SEED = 3
GROUP_FUNCTIONS = {
    "asymmetry": asymmetry_features,
    "border": border_features,
    "colour": colour_features,
    "diameter": diameter_features,
    "texture": texture_features,
    "structures": structure_features,
}


@pytest.fixture
def batch(lesion, degenerate_images) -> np.ndarray:
    drawn = [lesion(size=64, axes=(18, 12), angle=a, seed=SEED + a) for a in (0, 40)]
    return np.stack([image for image, _ in drawn] + list(degenerate_images.values()))


def test_output_is_named_finite_float32(batch) -> None:
    extractor = HandcraftedFeatures(n_jobs=1)
    features = extractor.fit_transform(batch)
    names = extractor.get_feature_names_out()
    assert features.dtype == np.float32
    assert features.shape == (len(batch), len(names))
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z]+__[a-z0-9_]+", name) for name in names)
    assert np.isfinite(features).all()


def test_fallback_rate_counts_degenerate_images(batch) -> None:
    extractor = HandcraftedFeatures(n_jobs=1).fit(batch)
    extractor.transform(batch)
    # The two drawn lesions segment; blank, black, tiny and all-lesion fall back.
    np.testing.assert_array_equal(
        extractor.segmentation_fallbacks_, [False, False, True, True, True, True]
    )
    assert extractor.segmentation_fallback_rate_ == pytest.approx(4 / 6)


def test_parallel_matches_serial(batch) -> None:
    serial = HandcraftedFeatures(n_jobs=1).transform(batch)
    parallel = HandcraftedFeatures(n_jobs=2).transform(np.concatenate([batch] * 3))
    np.testing.assert_array_equal(np.concatenate([serial] * 3), parallel)


def test_transform_is_deterministic(batch) -> None:
    first = HandcraftedFeatures(n_jobs=1).transform(batch)
    second = HandcraftedFeatures(n_jobs=1).transform(batch.copy())
    np.testing.assert_array_equal(first, second)


def test_groups_select_and_order_columns(batch) -> None:
    full = HandcraftedFeatures(n_jobs=1)
    abcd = HandcraftedFeatures(groups=ABCD_GROUPS, n_jobs=1)
    texture_first = HandcraftedFeatures(groups=("texture", "colour"), n_jobs=1)
    full_names = list(full.get_feature_names_out())
    assert list(abcd.get_feature_names_out()) == feature_names(ABCD_GROUPS)
    assert not any(n.startswith("texture__") for n in abcd.get_feature_names_out())
    selected = texture_first.get_feature_names_out()
    assert selected[0].startswith("texture__")
    columns = [full_names.index(name) for name in selected]
    np.testing.assert_array_equal(
        texture_first.transform(batch), full.transform(batch)[:, columns]
    )


def test_hair_removal_switch_changes_only_hairy_images(lesion) -> None:
    clean, _ = lesion(seed=SEED)
    on = HandcraftedFeatures(remove_hair=True, n_jobs=1).transform(clean[None])
    off = HandcraftedFeatures(remove_hair=False, n_jobs=1).transform(clean[None])
    np.testing.assert_allclose(on, off)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("group", ALL_GROUPS)
@pytest.mark.parametrize(
    "case", ["one_pixel", "tiny", "all_lesion", "blank_image", "black_image", "line"]
)
def test_group_functions_are_finite_on_degenerate_masks(group, case) -> None:
    size = 48
    image = np.full((size, size, 3), (200, 160, 140), dtype=np.uint8)
    mask = np.zeros((size, size), dtype=bool)
    if case == "one_pixel":
        mask[20, 30] = True
    elif case == "tiny":
        mask[0:2, 0:2] = True
    elif case == "all_lesion":
        mask[:] = True
    elif case == "line":
        mask[10, 5:40] = True
    else:
        mask[10:30, 12:36] = True
        if case == "black_image":
            image[:] = 0
    features = GROUP_FUNCTIONS[group](image, mask)
    values = np.array(list(features.values()), dtype=np.float64)
    assert list(features) == [
        name.split("__", 1)[1] for name in feature_names((group,))
    ]
    assert np.isfinite(values).all(), {
        k: v for k, v in features.items() if not np.isfinite(v)
    }


def test_empty_mask_is_rejected() -> None:
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="no lesion pixels"):
        colour_features(image, np.zeros((32, 32), dtype=bool))


def test_every_column_is_documented() -> None:
    patterns = [p.replace("{i}", "*") for p in FEATURE_DOCS]
    for name in feature_names():
        assert any(fnmatch.fnmatchcase(name, p) for p in patterns), name
    table = feature_table_markdown()
    assert table.startswith("| group | column | meaning |")
    assert table.count("\n") == len(FEATURE_DOCS) + 2


def test_public_constants() -> None:
    assert isinstance(EXTRACTOR_VERSION, str) and EXTRACTOR_VERSION
    assert ABCD_GROUPS == ("asymmetry", "border", "colour", "diameter")
    assert set(ABCD_GROUPS) < set(ALL_GROUPS)


def test_is_a_clonable_stateless_transformer(batch) -> None:
    extractor = HandcraftedFeatures(remove_hair=False, groups=("diameter",), n_jobs=1)
    copy = clone(extractor)
    assert copy.get_params() == extractor.get_params()
    np.testing.assert_array_equal(copy.transform(batch), extractor.transform(batch))


def test_empty_batch_gives_empty_output() -> None:
    empty = np.zeros((0, 32, 32, 3), dtype=np.uint8)
    out = HandcraftedFeatures(n_jobs=1).transform(empty)
    assert out.shape == (0, len(feature_names()))
    assert HandcraftedFeatures().transform(empty).dtype == np.float32


@pytest.mark.parametrize(
    ("params", "match"),
    [
        pytest.param({"groups": ("colour", "shape")}, "unknown 'shape'", id="unknown"),
        pytest.param({"groups": ()}, "one or more", id="empty"),
        pytest.param({"groups": ("colour", "colour")}, "distinct", id="duplicate"),
        pytest.param({"n_jobs": 0}, "n_jobs", id="zero-jobs"),
    ],
)
def test_bad_parameters_raise_one_clear_error(batch, params, match) -> None:
    with pytest.raises(ValueError, match=match):
        HandcraftedFeatures(**params).fit(batch)


def test_bad_input_raises_one_clear_error(batch) -> None:
    with pytest.raises(ValueError, match="uint8"):
        HandcraftedFeatures().transform(batch.astype(np.float32))
    with pytest.raises(ValueError, match="n_images"):
        HandcraftedFeatures().transform(batch[0])


def test_camera_independent_features_leave_out_absolute_colour_frame_and_texture():
    from features import camera_independent, feature_names

    names = feature_names()
    chosen = [names[index] for index in camera_independent(names)]
    assert len(chosen) == 46
    assert {name.split("__")[0] for name in chosen} == {"asymmetry", "border", "colour"}
    assert "colour__contrast_e" in chosen and "colour__n_colours" in chosen
    for absolute in ("colour__rgb_r_mean", "colour__frame_l_mean", "colour__skin_l"):
        assert absolute not in chosen


def test_dermoscopy_columns_are_the_camera_independent_ones_and_the_structures():
    from features import camera_independent, dermoscopy_columns, feature_names

    names = feature_names()
    chosen = [names[index] for index in dermoscopy_columns(names)]
    structures = [name for name in names if name.startswith("structures__")]
    assert len(names) == 224 and len(structures) == 53
    assert chosen == [names[i] for i in camera_independent(names)] + structures
    assert not any(name.startswith("texture__") for name in chosen)
