"""Tests for the shortcut probes: quiet on fair data, loud when acquisition leaks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.core.errors import UserError
from benchmarks.data import shortcuts
from benchmarks.data.datasets import CLASS_NAMES, load_manifest, write_synthetic
from benchmarks.data.shortcuts import PROBES, WARNING_AUC, shortcut_probes, to_text
from tests.conftest import ISIC9, SEED, lesion_image, requires_isic9

MELANOMA = "melanoma"
# Plain data must stay well below the warning line, not just under it.
PLAIN_MAX_AUC = 0.65
# 40 melanomas keep the AUC's noise near 0.05; 20 of each other class suffice.
COUNTS = {name: 40 if name == MELANOMA else 20 for name in CLASS_NAMES}


def _synthetic(root: Path, shortcut: str | None) -> dict:
    folder = write_synthetic(
        root / "data",
        train_counts=COUNTS,
        test_counts={MELANOMA: 1, "nevus": 1},
        size=64,
        seed=SEED,
        shortcut=shortcut,
    )
    manifest = load_manifest(folder, cache=root / "cache")
    return shortcut_probes(manifest, MELANOMA, seed=SEED, cache=root / "cache")


@pytest.fixture(scope="module", params=[None, "colour-cast", "vignette"])
def probed(request, tmp_path_factory) -> tuple[str | None, dict]:
    """The probes' result on the synthetic set, plain or with a planted shortcut."""
    root = tmp_path_factory.mktemp(f"shortcut-{request.param}")
    return request.param, _synthetic(root, request.param)


@pytest.mark.slow
def test_result_shape_and_which_probes_flag(probed, record_property):
    shortcut, result = probed
    assert set(result["probes"]) == set(PROBES)
    assert result["warning_auc"] == WARNING_AUC
    assert result["n_images"] == sum(COUNTS.values())  # the Test split is left out
    assert result["n_positive"] == COUNTS[MELANOMA]
    for name, probe in result["probes"].items():
        record_property(f"{shortcut}_{name}_auc", round(probe["melanoma_auc"], 3))
        assert 0.0 <= probe["melanoma_auc"] <= 1.0
        assert 0.0 <= probe["balanced_accuracy"] <= 1.0
        assert 0 <= probe["n_varying"] <= probe["n_features"]
        assert probe["description"]
    aucs = {name: p["melanoma_auc"] for name, p in result["probes"].items()}
    assert result["flagged"] == [n for n, auc in aucs.items() if auc >= WARNING_AUC]
    if shortcut is None:
        assert max(aucs.values()) < PLAIN_MAX_AUC, aucs
    elif shortcut == "colour-cast":
        assert aucs["colour"] >= WARNING_AUC, aucs
    else:
        assert aucs["surround"] >= WARNING_AUC, aucs
    # One encoder wrote every file: the file probe has nothing to go on.
    assert result["probes"]["file"]["melanoma_auc"] == pytest.approx(0.5, abs=0.05)


def _mixed_formats(root: Path) -> Path:
    """Melanomas saved as PNG, everything else as JPEG: a file-level shortcut."""
    seed = 500
    for label, count, suffix in (("melanoma", 9, ".png"), ("nevus", 12, ".jpg")):
        for index in range(count):
            path = root / "Train" / label / f"{label[0]}{index}{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            lesion_image(seed, 64).save(path)
            seed += 1
    return root


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple:
    root = tmp_path_factory.mktemp("mixed")
    manifest = load_manifest(_mixed_formats(root / "data"), cache=root / "cache")
    return manifest, root / "cache"


def test_file_probe_sees_a_format_tied_to_the_label(mixed):
    manifest, cache = mixed
    result = shortcut_probes(manifest, MELANOMA, seed=SEED, cache=cache)
    assert result["probes"]["file"]["melanoma_auc"] == 1.0
    assert "file" in result["flagged"]


def test_given_folds_are_used_and_negative_rows_left_out(mixed):
    manifest, cache = mixed
    folds = np.arange(len(manifest)) % 3
    folds[:2] = -1
    result = shortcut_probes(manifest, MELANOMA, folds=folds, cache=cache)
    assert result["n_images"] == len(manifest) - 2
    assert result["n_folds"] == 3


def test_same_seed_gives_the_same_result(mixed, tmp_path):
    manifest, cache = mixed
    first = shortcut_probes(manifest, MELANOMA, seed=SEED, cache=cache)
    # Another cache: computed again, not read back.
    assert shortcut_probes(manifest, MELANOMA, seed=SEED, cache=tmp_path) == first


def test_figures_are_read_back_until_an_input_changes(mixed, tmp_path, monkeypatch):
    manifest, _ = mixed
    first = shortcut_probes(manifest, MELANOMA, seed=SEED, cache=tmp_path)
    (entry,) = tmp_path.glob("shortcuts-*.json")
    computed = []
    probe = shortcuts._probe

    def counted(*args, **kwargs):
        computed.append(args)
        return probe(*args, **kwargs)

    monkeypatch.setattr(shortcuts, "_probe", counted)
    again = shortcut_probes(manifest, MELANOMA, seed=SEED, cache=tmp_path)
    assert again == first
    assert list(again["probes"]) == list(first["probes"]) == list(PROBES)
    assert computed == []
    shortcut_probes(manifest, MELANOMA, seed=SEED + 1, cache=tmp_path)
    shortcut_probes(manifest, "nevus", seed=SEED, cache=tmp_path)
    folds = np.arange(len(manifest)) % 2
    shortcut_probes(manifest, MELANOMA, folds=folds, seed=SEED, cache=tmp_path)
    assert len(computed) == 3
    assert len(list(tmp_path.glob("shortcuts-*.json"))) == 4
    # A damaged entry is computed again, never read.
    entry.write_text("{}", "utf-8")
    assert shortcut_probes(manifest, MELANOMA, seed=SEED, cache=tmp_path) == first
    assert len(computed) == 4


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"positive": "melanomma"},
            UserError,
            r"positive class 'melanomma': needs images of it .*melanoma, nevus",
        ),
        (
            {"positive": MELANOMA, "folds": np.zeros(3, int)},
            ValueError,
            r"folds has shape \(3,\) but the manifest has 21 rows",
        ),
        (
            {"positive": MELANOMA, "n_folds": 10},
            UserError,
            r"--folds 10: class 'melanoma' \(9\) has fewer distinct images",
        ),
    ],
    ids=["unknown-positive", "folds-length", "too-many-folds"],
)
def test_bad_arguments_raise_one_line_errors(mixed, kwargs, error, message):
    manifest, cache = mixed
    with pytest.raises(error, match=message) as caught:
        shortcut_probes(manifest, cache=cache, **kwargs)
    assert "\n" not in str(caught.value)


def _result(aucs: dict[str, float]) -> dict:
    probes = {
        name: {
            "melanoma_auc": auc,
            "balanced_accuracy": 0.5,
            "n_features": 10,
            "n_varying": 9,
            "description": "",
        }
        for name, auc in aucs.items()
    }
    flagged = [name for name, auc in aucs.items() if auc >= WARNING_AUC]
    return {
        "probes": probes,
        "warning_auc": WARNING_AUC,
        "flagged": flagged,
        "positive": MELANOMA,
        "n_images": 100,
        "n_positive": 20,
        "n_folds": 3,
        "segmentation_fallbacks": 0,
    }


def test_text_table_warns_once_per_flagged_probe():
    text = to_text(_result({"colour": 0.93, "surround": 0.55, "file": 0.5}))
    lines = text.splitlines()
    assert lines[0].startswith("shortcut probes: melanoma vs the rest")
    assert any(line.split()[:2] == ["colour", "0.93"] for line in lines)
    warnings = [line for line in lines if line.startswith("WARNING")]
    assert warnings == [
        "WARNING: the colour probe predicts melanoma with AUC 0.93 without looking "
        "at the lesion: figures measured on this data may not carry over to other "
        "clinics' images."
    ]


def test_text_has_no_warning_when_nothing_is_flagged():
    assert "WARNING" not in to_text(_result({"colour": 0.6, "file": 0.5}))


@pytest.mark.isic9
@pytest.mark.slow
@requires_isic9
def test_isic9_melanomas_are_recognisable_without_the_lesion(
    isic9_cache, record_property, tmp_path, capsys
):
    # isic9's melanomas come from other archives than most of its benign classes
    # (../shared/data/ham10000-dev/README.md), so some probe must flag it.
    facts = tmp_path / "audit.json"
    argv = ["audit", "--data", str(ISIC9), "--cache", str(isic9_cache)]
    assert main([*argv, "--json", str(facts)]) == 0
    out = capsys.readouterr().out
    result = json.loads(facts.read_text("utf-8"))["shortcuts"]
    aucs = {name: p["melanoma_auc"] for name, p in result["probes"].items()}
    for name, auc in aucs.items():
        record_property(f"{name}_melanoma_auc", round(auc, 3))
    assert result["n_images"] == 2241
    assert max(aucs.values()) >= WARNING_AUC, aucs
    assert result["flagged"]
    assert "WARNING: the colour probe predicts melanoma" in out


@pytest.mark.slow
@pytest.mark.parametrize("shortcut", [None, "colour-cast"])
def test_the_audit_command_warns_only_about_a_tied_cue(tmp_path, capsys, shortcut):
    folder = tmp_path / "lesions"
    tied = ["--shortcut", shortcut] if shortcut else []
    synth = ["data", "synth", "--out", str(folder), "--scale", "0.4", "--size", "96"]
    assert main([*synth, *tied]) == 0
    assert main(["audit", "--data", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "shortcut probes: melanoma vs the rest" in out
    assert ("WARNING: the colour probe" in out) == (shortcut is not None)
