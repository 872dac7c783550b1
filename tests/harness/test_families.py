"""The model-family registry: specs, parts, stages, options and colours."""

from __future__ import annotations

import dataclasses

import pytest

from benchmarks.core.errors import UserError
from benchmarks.grid import families
from benchmarks.grid.config import PROFILES
from benchmarks.grid.configuration import Trial
from benchmarks.grid.families import FEATURES, IMAGES, Family, mean_of
from benchmarks.grid.trials import fit_context
from benchmarks.grid.workspace import Workspace


def _trees(context):
    raise AssertionError("not fitted in these tests")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "Log Reg"}, "a name is lower-case letters"),
        ({"name": "a__b"}, "a name is lower-case letters"),
        ({"inputs": ("pixels",)}, "input 'pixels' unknown; choose from features"),
        ({"combine": mean_of, "parts": ("xgb",)}, "give either make or combine"),
        ({"inputs": ()}, "name the inputs its estimator reads"),
        ({"inputs": (IMAGES,)}, "images are read alone and at an image_size"),
        ({"inputs": (IMAGES, FEATURES), "image_size": 48}, "images are read alone"),
        ({"inputs": ("embeddings",)}, "name the parts whose output it reads"),
    ],
)
def test_a_bad_spec_says_what_is_wrong(fields, message):
    spec = {"name": "mine", "description": "d", "inputs": (FEATURES,), "make": _trees}
    with pytest.raises(ValueError, match=message):
        Family(**{**spec, **fields})


def test_parts_come_first_and_a_loop_is_refused(monkeypatch):
    assert families.with_parts(["fusion", "hybrid"]) == [
        "xgb",
        "cnn",
        "fusion",
        "hybrid",
    ]
    looping = Family("loop", "reads itself", parts=("loop2",), combine=mean_of)
    other = Family("loop2", "reads the first", parts=("loop",), combine=mean_of)
    monkeypatch.setitem(families.FAMILIES, "loop", looping)
    monkeypatch.setitem(families.FAMILIES, "loop2", other)
    with pytest.raises(UserError, match="'loop' reads itself through its parts"):
        families.with_parts(["loop"])


def test_stages_put_parts_before_readers_and_the_reference_last():
    stages = {
        name: families.stage(Trial(name, "none", 0))
        for name in ("xgb", "cnn", "hybrid", "fusion", "seed-cnn")
    }
    assert stages["xgb"] == stages["cnn"] < stages["hybrid"] == stages["fusion"]
    assert stages["seed-cnn"] > max(stages["hybrid"], stages["fusion"])


def test_an_unknown_family_names_the_choices_and_the_plug_in_forms():
    with pytest.raises(UserError, match="--models svm: unknown; choose from xgb, cnn"):
        families.resolve("svm")
    with pytest.raises(UserError, match="is not installed here; install the plug-in"):
        families.family("svm")


def test_model_options_reach_only_their_family_as_python_values():
    workspace = Workspace(
        run_dir="run",
        classes=("a", "b"),
        positive="a",
        profile=PROFILES["quick"],
        seed=3,
        n_threads=1,
        model_options=(
            ("transfer.weights", "backbone.h5"),
            ("transfer.dropout", "0.5"),
            ("cnn.width", "16"),
        ),
    )
    context = fit_context(Trial("transfer", "none", 0), workspace, 10, 20)
    assert context.options == {"weights": "backbone.h5", "dropout": 0.5}
    assert (context.seed, context.n_train, context.n_fit) == (3, 10, 20)
    assert fit_context(Trial("xgb", "none", 0), workspace, 10, 10).options == {}


def test_transfer_is_one_entry_read_from_the_registry_alone():
    """Moving transfer into the grid took this entry and its factory only."""
    transfer = families.FAMILIES["transfer"]
    assert transfer.inputs == (IMAGES,) and transfer.image_size == 96
    assert not transfer.default and transfer.fits
    assert "transfer" not in families.default_names()


def test_report_colours_are_distinct_for_any_number_of_families(monkeypatch):
    from reports._figures import colours

    names = list(families.FAMILIES)
    for index in range(12):
        spec = Family(f"extra{index}", "d", inputs=(FEATURES,), make=_trees)
        monkeypatch.setitem(families.FAMILIES, spec.name, spec)
        names.append(spec.name)
    chosen = colours(names)
    assert len(set(chosen.values())) == len(names)
    # A built-in keeps its own colour whatever else the run holds.
    assert colours(["xgb"])["xgb"] == chosen["xgb"]


def test_a_spec_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        families.FAMILIES["xgb"].name = "other"


@pytest.mark.parametrize("name", ["cnn", "seed-cnn", "transfer"])
def test_precision_reaches_every_network(name):
    """--precision sets each network's compute precision, the reference's too."""
    pytest.importorskip("tensorflow")
    workspace = Workspace(
        run_dir="run",
        classes=("a", "b"),
        positive="a",
        profile=PROFILES["quick"],
        seed=0,
        n_threads=1,
        precision="mixed_bfloat16",
    )
    context = fit_context(Trial(name, "none", 0), workspace, 10, 10)
    assert families.family(name).make(context).precision == "mixed_bfloat16"


def test_no_rows_score_as_an_empty_table_for_a_fitted_xgboost() -> None:
    """A final fit of sources without a Test split scores no rows of its own
    (only the external sets): XGBoost refuses an empty array, the table does not."""
    import numpy as np

    from models import XGBoostClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.array(["a", "b"] * 20)
    estimator = XGBoostClassifier(n_estimators=2).fit(X, y)
    classes = ("a", "b", "c")
    assert families.class_probabilities(estimator, X[:0], classes).shape == (0, 3)
    assert families.class_probabilities(estimator, X[:3], classes)[:, 2].sum() == 0
