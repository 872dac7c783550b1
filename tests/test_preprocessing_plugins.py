"""Preprocessing plug-ins: the registry reads the entry-point group
``melanoma_bench.preprocessing``, refuses a plug-in that breaks the contract
in one line, and a plug-in runs in a grid as a family variant; a variant's
name is parsed and spelt in one place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.core.errors import UserError
from benchmarks.core.plugins import PREPROCESSING_GROUP, load_group
from benchmarks.data import preprocessing
from benchmarks.data.feature_cache import FEATURE_SIZE, features_path
from benchmarks.data.image_cache import preprocessed_path
from benchmarks.data.preprocessing import PREPROCESSING, Preprocessing
from benchmarks.grid import families
from benchmarks.grid.families import FamilyVariant
from benchmarks.grid.store import RunStore
from features import HandcraftedFeatures
from tests.conftest import bench, succeeded, write_class_folders

PLUGIN_MODULE = '''\
"""A throwaway preprocessing plug-in of melanoma-bench's tests."""

import numpy as np

from benchmarks.data.preprocessing import Preprocessing


def invert():
    return Preprocessing("invert", "each pixel's complement", np.invert)


def invert_v2():
    return Preprocessing("invert", "each pixel's complement", np.invert, version="2")


def halve():
    return Preprocessing("halve", "half the side", lambda images: images[:, ::2])


def clash():
    return Preprocessing("none", "a built-in's name", np.invert)
'''


def install(folder: Path, entries: dict[str, str]) -> Path:
    """A distribution in ``folder`` as pip leaves one in site-packages: its
    module and a ``.dist-info`` naming ``entries`` (name -> factory) in
    the preprocessing group. Put on the path, it is installed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prep_plugin.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    info = folder / "melanoma_bench_test_preprocessing-0.0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: melanoma-bench-test-preprocessing\n"
        "Version: 0.0.1\n",
        encoding="utf-8",
    )
    points = "".join(
        f"{name} = prep_plugin:{factory}\n" for name, factory in entries.items()
    )
    (info / "entry_points.txt").write_text(
        f"[{PREPROCESSING_GROUP}]\n{points}", encoding="utf-8"
    )
    return folder


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Installs a distribution of ``entries`` in this process, for one test."""

    def with_entries(entries: dict[str, str]) -> None:
        monkeypatch.syspath_prepend(str(install(tmp_path / "site", entries)))
        load_group.cache_clear()

    yield with_entries
    load_group.cache_clear()


def images(n: int = 3, size: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)


# -- the variant value ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "family", "preprocessing"),
    [
        ("cnn@lesion-crop", "cnn", "lesion-crop"),
        ("transfer@shades-of-gray", "transfer", "shades-of-gray"),
        ("cnn", "cnn", None),
    ],
)
def test_a_variant_name_parses_and_spells_back_the_same(name, family, preprocessing):
    parsed = FamilyVariant.parse(name)
    assert (parsed.family, parsed.preprocessing) == (family, preprocessing)
    assert str(parsed) == name


def test_the_registry_names_a_variant_and_its_parts_with_the_value():
    """Today's spelling, which record keys and baselines carry."""
    hybrid = families.resolve("hybrid@shades-of-gray")
    assert hybrid.name == "hybrid@shades-of-gray"
    assert hybrid.preprocessing == "shades-of-gray"
    assert all(part.endswith("@shades-of-gray") for part in hybrid.parts)
    assert families.family("cnn@lesion-crop").preprocessing == "lesion-crop"


# -- the registry ---------------------------------------------------------------


def test_built_ins_are_installed_without_plug_ins():
    assert list(preprocessing.installed()) == ["none", "shades-of-gray", "lesion-crop"]
    assert list(PREPROCESSING) == list(preprocessing.installed())


def test_an_entry_point_preprocessing_is_installed_and_applied(installed):
    installed({"invert": "invert"})
    assert list(preprocessing.installed()) == [*PREPROCESSING, "invert"]
    pictures = images()
    np.testing.assert_array_equal(
        preprocessing.preprocess("invert", pictures), 255 - pictures
    )
    variant = families.resolve("cnn@invert")
    assert (variant.name, variant.preprocessing) == ("cnn@invert", "invert")


def test_a_plug_in_s_version_keys_its_caches(installed, tmp_path):
    """A plug-in whose code changed gives a new version: what was cached from
    the old code is not read again. Built-ins keep their cache names."""
    manifest = pd.DataFrame({"sha256": ["a" * 64, "b" * 64]})
    cached = tmp_path / "images-0123.npy"
    assert (
        preprocessed_path(cached, "lesion-crop").name == "images-0123-lesion-crop.npy"
    )
    installed({"invert": "invert"})
    first = (
        preprocessed_path(cached, "invert"),
        features_path(manifest, cache=tmp_path, preprocessing="invert"),
    )
    assert first[0].name == "images-0123-invert.npy"
    installed({"invert": "invert_v2"})
    second = (
        preprocessed_path(cached, "invert"),
        features_path(manifest, cache=tmp_path, preprocessing="invert"),
    )
    assert second[0].name == "images-0123-invert-v2.npy"
    assert second[1] != first[1]
    with pytest.raises(ValueError, match="version 'two!' is lower-case"):
        Preprocessing("invert", "each pixel's complement", np.invert, version="two!")


def test_unknown_names_give_one_line_naming_the_choices(installed):
    installed({"invert": "invert"})
    with pytest.raises(UserError) as raised:
        preprocessing.get("grey")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("--preprocessing grey: unknown; choose from none, ")
    assert "lesion-crop, invert" in message and PREPROCESSING_GROUP in message


def test_a_plug_in_returning_the_wrong_shape_is_refused_by_name(installed):
    installed({"halve": "halve"})
    with pytest.raises(UserError, match=r"^preprocessing halve: returned uint8 "):
        preprocessing.preprocess("halve", images())


def test_a_plug_in_named_as_a_built_in_is_refused(installed):
    installed({"none": "clash"})
    with pytest.raises(UserError, match="a built-in preprocessing has that name"):
        preprocessing.get("shades-of-gray")


@pytest.mark.parametrize("name", ["Grey", "a@b", "mod:attr", "a__b", ""])
def test_a_name_that_cannot_sit_in_a_record_key_is_refused(name):
    with pytest.raises(ValueError, match="a name is lower-case letters"):
        Preprocessing(name, "", np.invert)


# -- a plug-in in a grid --------------------------------------------------------


@pytest.mark.slow
def test_an_entry_point_preprocessing_runs_in_a_grid(tmp_path):
    site = install(tmp_path / "site", {"invert": "invert"})
    listed = succeeded(bench("list", "preprocessing", path=(site,))).stdout.splitlines()
    assert [line.split()[0] for line in listed] == [*PREPROCESSING, "invert"]
    counts = {"melanoma": 6, "nevus": 6}
    data = write_class_folders(tmp_path / "lesions", counts, seed=900)
    runs = tmp_path / "runs"
    done = bench(
        "run",
        "xgb",
        "--preprocessing",
        "none,invert",
        "--strategies",
        "none",
        "--folds",
        "2",
        "--data",
        str(data),
        "--cache",
        str(tmp_path / "cache"),
        "--out",
        str(runs),
        "--no-report",
        "--jobs",
        "1",
        path=(site,),
    )
    succeeded(done)
    (run_dir,) = [path.parent for path in runs.glob("*/config.json")]
    store = RunStore(run_dir)
    assert store.errors() == []
    keys = {record.key for record in store.records()}
    for model in ("xgb", "xgb@invert"):
        for part in ("fold0", "fold1", "final"):
            assert f"{model}__none__{part}" in keys
    board = pd.read_csv(run_dir / "leaderboard.csv")
    assert set(board["model"]) == {"xgb", "xgb@invert"}
    # The variant's features are those of the plug-in's output: of each
    # original image (cached at the features' size) inverted.
    (originals,) = [
        images
        for images in map(np.load, (tmp_path / "cache").rglob("images-*.npy"))
        if images.shape[1] == FEATURE_SIZE
    ]
    tables = [
        pd.read_parquet(path)
        for path in (tmp_path / "cache").rglob("features-*.parquet")
    ]
    inverted = HandcraftedFeatures(n_jobs=1).fit_transform(np.invert(originals))
    matches = [np.allclose(table.to_numpy(), inverted) for table in tables]
    assert sorted(matches) == [False, True]
