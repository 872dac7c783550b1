"""The run configuration: validation, the grid, and the run id."""

from __future__ import annotations

import dataclasses

import pytest

import benchmarks.grid.config as config_module
from benchmarks.core.errors import UserError
from benchmarks.grid.config import PROFILES, RunConfig, normalised, with_later_defaults
from benchmarks.grid.configuration import Configuration
from benchmarks.grid.plan import configurations, trials
from benchmarks.grid.strategies import STRATEGIES


def test_default_grid_runs_the_reference_under_none_only():
    grid = configurations(RunConfig())
    assert Configuration("seed-cnn", "none") in grid
    assert [c for c in grid if c.model == "seed-cnn"] == [
        Configuration("seed-cnn", "none")
    ]
    assert len(grid) == 7 * len(STRATEGIES) + 1
    assert "transfer" not in {c.model for c in grid}


def test_named_strategies_apply_to_every_model():
    config = RunConfig(models=("xgb", "seed-cnn"), strategies=("smote",))
    assert configurations(config) == [
        Configuration("xgb", "smote"),
        Configuration("seed-cnn", "smote"),
    ]


def test_trials_run_after_the_parts_they_read_and_the_reference_last():
    config = RunConfig(models=("seed-cnn", "fusion", "hybrid"), strategies=("none",))
    keys = [trial.key for trial in trials(config, has_test=False)]
    for part, reader in (("xgb", "fusion"), ("cnn", "fusion"), ("cnn", "hybrid")):
        for fold in range(config.n_folds):
            assert keys.index(f"{part}__none__fold{fold}") < keys.index(
                f"{reader}__none__fold{fold}"
            )
    assert keys[-config.n_folds :] == [
        f"seed-cnn__none__fold{fold}" for fold in range(config.n_folds)
    ]


def test_a_preprocessing_axis_adds_a_variant_after_each_family_with_its_parts():
    config = RunConfig(
        models=("hybrid", "seed-cnn"),
        strategies=("none",),
        variants=("lesion-crop",),
    )
    assert [str(item) for item in configurations(config)] == [
        "hybrid:none",
        "hybrid@lesion-crop:none",
        "seed-cnn:none",
    ]
    keys = [trial.key for trial in trials(config, has_test=False)]
    assert keys.index("cnn@lesion-crop__none__fold0") < keys.index(
        "hybrid@lesion-crop__none__fold0"
    )
    assert "cnn__none__fold0" in keys
    assert Configuration.parse("cnn@lesion-crop:smote").model == "cnn@lesion-crop"


def test_final_fits_come_with_a_test_split_or_external_sets(tmp_path):
    """One rule for the run, its dry run and 'list runs': a run without Test
    images still fits each configuration once more to score its external sets."""
    config = RunConfig(models=("xgb",), strategies=("none",))
    scored = RunConfig(
        models=("xgb",), strategies=("none",), external=(("clinic", str(tmp_path)),)
    )
    assert "xgb__none__final" not in [t.key for t in trials(config, has_test=False)]
    assert "xgb__none__final" in [t.key for t in trials(config, has_test=True)]
    assert "xgb__none__final" in [t.key for t in trials(scored, has_test=False)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("xgb:none", Configuration("xgb", "none")),
        ("xgb/none", Configuration("xgb", "none")),  # older baselines
        ("cnn:imblearn:ADASYN", Configuration("cnn", "imblearn:ADASYN")),
    ],
)
def test_a_configuration_has_one_printed_form(text, expected):
    assert Configuration.parse(text) == expected
    assert str(Configuration.parse(text)) == text.replace("/", ":")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"models": ("svm",)}, "--models svm: unknown; choose from xgb, cnn"),
        ({"models": ()}, "--models: name at least one"),
        ({"models": ("nowhere.module:factory",)}, "nowhere.module:factory: cannot"),
        ({"strategies": ("focal",)}, "--strategies focal: unknown"),
        ({"strategies": ("imblearn:Focal",)}, "imbalanced-learn has no sampler"),
        ({"profile": "huge"}, "--profile huge: choose from quick, full"),
        ({"folds": 1}, "--folds 1: choose a whole number >= 2"),
        ({"seed": -1}, "--seed -1"),
        ({"jobs": 0}, "--jobs 0"),
        (
            {"precision": "float16"},
            "--precision float16: choose from float32, mixed_bfloat16",
        ),
        ({"conflicts": "merge"}, "--conflicts merge: choose keep or drop"),
        ({"test_leaks": "hide"}, "--test-leaks hide: choose keep or drop"),
        (
            {"preprocessing": "grey"},
            "--preprocessing grey: unknown; choose from none, shades-of-gray",
        ),
        ({"variants": ("crop",)}, "--preprocessing crop: unknown"),
        ({"variants": ("none",)}, "--preprocessing none: named twice"),
        ({"models": ("seed-cnn@lesion-crop",)}, "reads its images as shot"),
        ({"model_options": (("weights", "x.h5"),)}, "--model-option weights: write"),
        (
            {"model_options": (("transfer.weights", ""),)},
            "--model-option transfer.weights: write MODEL.NAME=VALUE",
        ),
        ({"executor": "slurm"}, "--executor slurm: choose from local, dask"),
        ({"scheduler": "tcp://h:8786"}, "--scheduler tcp://h:8786: only used with"),
        ({"executor": "dask"}, "--executor dask: name the cluster with --scheduler"),
        (
            {"executor": "dask", "scheduler": "tcp://h:8786", "jobs": 2},
            "--jobs 2: only used with --executor local",
        ),
    ],
)
def test_bad_values_are_one_line_errors(options, message):
    with pytest.raises(UserError, match=message.replace("+", r"\+")):
        RunConfig(**options)


def test_profile_folds_unless_overridden():
    assert RunConfig().n_folds == PROFILES["quick"].folds
    assert RunConfig(profile="full").n_folds == 5
    assert RunConfig(folds=4).n_folds == 4


def test_run_id_follows_what_decides_the_numbers():
    base = RunConfig()
    assert base.run_id("data") == RunConfig(jobs=2).run_id("data")
    on_dask = RunConfig(executor="dask", scheduler="tcp://h:8786")
    assert base.run_id("data") == on_dask.run_id("data")
    assert base.run_id("data") == RunConfig(data="/elsewhere").run_id("data")
    assert base.run_id("data") != RunConfig(seed=1).run_id("data")
    colour = RunConfig(preprocessing="shades-of-gray")
    assert base.run_id("data") != colour.run_id("data")
    bfloat16 = RunConfig(precision="mixed_bfloat16")
    assert base.run_id("data") != bfloat16.run_id("data")
    assert base.run_id("data") == RunConfig(precision="float32").run_id("data")
    # The profile's fold count written out is the same run.
    assert base.run_id("data") == RunConfig(folds=3).run_id("data")
    assert base.run_id("data") != RunConfig(folds=4).run_id("data")
    assert base.run_id("data") != base.run_id("other data")
    assert base.run_id("data").startswith("quick-")


def test_defaults_written_out_are_normalised_before_the_id_is_made():
    """--folds 3 on the quick profile (and --cv stratified with one source) is
    the run left unsaid: same id, same recorded config, so resume and compare
    accept both; a config.json written before the normalisation reads so too."""
    written = RunConfig(folds=PROFILES["quick"].folds, cv="stratified")
    assert written == RunConfig() and written.to_dict() == RunConfig().to_dict()
    assert written.folds is None and written.cv is None and written.n_folds == 3
    assert RunConfig(profile="full", folds=5) == RunConfig(profile="full")
    assert RunConfig(profile="full", folds=3).folds == 3
    two = ("a=/x", "b=/y")
    assert RunConfig(data=two, cv="leave-source-out").cv is None
    assert RunConfig(data=two, cv="stratified").cv == "stratified"
    older = {**RunConfig().to_dict(), "folds": 3, "cv": "stratified"}
    assert normalised(older) == RunConfig().to_dict()


@pytest.mark.parametrize(
    ("options", "pinned"),
    [
        ({}, "quick-9645b4d71700"),
        ({"folds": 3}, "quick-9645b4d71700"),
        ({"cv": "stratified"}, "quick-9645b4d71700"),
        ({"profile": "full"}, "full-f9795a4953b6"),
        ({"folds": 4}, "quick-e1cefb4524ca"),
    ],
    ids=["default", "folds-3-written-out", "cv-written-out", "full", "folds-4"],
)
def test_run_ids_of_existing_runs_do_not_change(monkeypatch, options, pinned):
    """Run folders made before the normalisation keep their ids (pinned at
    the version they were made with), so their runs still resume."""
    monkeypatch.setattr(config_module, "__version__", "0.1.0")
    assert RunConfig(**options).run_id("0123456789abcdef") == pinned


def test_configs_recorded_before_a_setting_existed_read_with_its_default():
    recorded = {"seed": 3, "models": ["xgb"]}
    config = with_later_defaults(recorded)
    assert config["seed"] == 3 and config["models"] == ["xgb"]
    assert config["preprocessing"] == "none" and config["conflicts"] == "keep"
    assert recorded == {"seed": 3, "models": ["xgb"]}
    older = with_later_defaults({"colour_constancy": "shades-of-gray"})
    assert older["preprocessing"] == "shades-of-gray"
    assert "colour_constancy" not in older


def test_run_id_changes_with_the_profile_settings(monkeypatch):
    before = RunConfig().run_id("data")
    changed = dataclasses.replace(PROFILES["quick"], cnn_epochs=99)
    monkeypatch.setitem(PROFILES, "quick", changed)
    assert RunConfig().run_id("data") != before


def test_dask_without_dask_installed_says_how_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "distributed" else real(name, *args),
    )
    with pytest.raises(UserError, match=r'pip install "melanoma-bench\[dask\]"'):
        RunConfig(executor="dask", scheduler="tcp://h:8786")


def test_jobs_default_to_one_per_core_as_memory_allows(monkeypatch):
    """No --jobs: the executor runs one trial per core (capped by memory), or
    what $MELANOMA_BENCH_JOBS says; on Dask one per task."""
    from benchmarks.grid import executors

    monkeypatch.delenv(executors.JOBS_VARIABLE, raising=False)
    monkeypatch.setattr(executors, "available_cores", lambda: 2)
    assert executors.trials_at_once(RunConfig()) == 2
    monkeypatch.setattr(executors, "available_cores", lambda: 10**6)
    memory = executors.os.sysconf("SC_PHYS_PAGES") * executors.os.sysconf(
        "SC_PAGE_SIZE"
    )
    assert executors.default_jobs() == max(1, memory // executors.WORKER_MEMORY)
    assert executors.trials_at_once(RunConfig(jobs=1)) == 1
    dask = RunConfig(executor="dask", scheduler="tcp://h:8786")
    assert executors.trials_at_once(dask) == 1
    monkeypatch.setenv(executors.JOBS_VARIABLE, "3")
    assert executors.trials_at_once(RunConfig()) == 3
    monkeypatch.setenv(executors.JOBS_VARIABLE, "two")
    with pytest.raises(UserError, match="MELANOMA_BENCH_JOBS=two: choose"):
        executors.default_jobs()
