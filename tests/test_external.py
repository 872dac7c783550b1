"""External sets: labels mapped, training images dropped, final fits score them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from benchmarks.analysis.leaderboard import write_leaderboard
from benchmarks.cli import main
from benchmarks.core.errors import UserError
from benchmarks.data.datasets import load_manifest
from benchmarks.data.external import ExternalSource, bootstrap, load_external
from benchmarks.data.labels import map_labels, read_label_map
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.runner import run
from tests.conftest import write_class_folders, write_image
from tests.harness.conftest import TINY

CLASSES = ("melanoma", "nevus", "vascular lesion")


def _training(root: Path) -> Path:
    counts = {"melanoma": 8, "nevus": 8, "vascular lesion": 6}
    return write_class_folders(root, counts, seed=300)


def _external(root: Path, training: Path) -> tuple[Path, int]:
    """New pictures plus renamed and re-encoded copies of training images;
    returns the folder and how many copies it holds."""
    seed = 600
    for label, count in (("mel", 5), ("nv", 5), ("bkl", 2)):
        for index in range(count):
            write_image(root / label / f"new{index}.jpg", seed, 64)
            seed += 1
    sources = sorted((training / "Train" / "melanoma").glob("*.jpg"))
    copies = root / "mel"
    shutil.copy(sources[0], copies / "renamed.jpg")  # same bytes
    Image.open(sources[1]).save(copies / "as-png.png")  # same pixels
    Image.open(sources[2]).save(copies / "requality.jpg", quality=70)  # near
    Image.open(sources[3]).resize((48, 48)).save(copies / "smaller.jpg")  # near
    test_copy = next((training / "Test" / "nevus").glob("*.jpg"))
    shutil.copy(test_copy, root / "nv" / "from-test.jpg")
    return root, 5


def test_ham_codes_and_spellings_map_to_the_training_classes():
    labels = pd.Series(["mel", "NV", "Melanocytic nevus", "bkl", "vascular lesion"])
    mapped = map_labels(labels, CLASSES)
    assert mapped.tolist() == [
        "melanoma",
        "nevus",
        "nevus",
        "pigmented benign keratosis",
        "vascular lesion",
    ]
    assert map_labels(pd.Series(["MM"]), CLASSES, {"mm": "melanoma"}).tolist() == [
        "melanoma"
    ]


def test_a_label_map_file_is_two_columns(tmp_path):
    good = tmp_path / "map.csv"
    good.write_text("MM,melanoma\nBN,nevus\n")
    assert read_label_map(good) == {"MM": "melanoma", "BN": "nevus"}
    bad = tmp_path / "bad.csv"
    bad.write_text("MM,melanoma,extra\n")
    with pytest.raises(UserError, match=r"--label-map .*3 columns; write two"):
        read_label_map(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ham=data/meta.csv", ("ham", "data/meta.csv")),
        (
            "sets/ham10000-dev/metadata.csv",
            ("ham10000-dev", "sets/ham10000-dev/metadata.csv"),
        ),
        ("clinic", ("clinic", "clinic")),
    ],
)
def test_an_external_source_is_named_or_named_after_its_folder(text, expected):
    source = ExternalSource.parse(text)
    assert (source.name, source.path) == expected


def test_renamed_and_re_encoded_copies_of_training_images_are_all_dropped(tmp_path):
    training = _training(tmp_path / "train")
    folder, n_copies = _external(tmp_path / "external", training)
    manifest = load_manifest(training)
    rows, facts = load_external(
        ExternalSource("clinic", str(folder)),
        manifest,
        CLASSES,
        "melanoma",
        near_threshold=4,
    )
    assert facts["in_training_data"] == n_copies
    assert sorted(facts["in_training_data_files"]) == sorted(
        [
            "mel/renamed.jpg",
            "mel/as-png.png",
            "mel/requality.jpg",
            "mel/smaller.jpg",
            "nv/from-test.jpg",
        ]
    )
    assert facts["in_training_data_by_reason"]["same bytes"] == 2
    assert len(rows) == facts["scored"] == 12
    assert all(
        name.startswith(("mel/new", "nv/new", "bkl/new")) for name in rows["file"]
    )
    assert facts["class_counts"] == {
        "melanoma": 5,
        "nevus": 5,
        "pigmented benign keratosis": 2,
    }
    assert facts["labels_outside_training_classes"] == ["pigmented benign keratosis"]


def test_a_set_without_melanoma_says_how_to_map_it(tmp_path):
    training = _training(tmp_path / "train")
    for index in range(3):
        write_image(tmp_path / "ext" / "benign" / f"{index}.jpg", 800 + index, 64)
    with pytest.raises(
        UserError, match="no image maps to melanoma; give a --label-map"
    ):
        load_external(
            ExternalSource("x", str(tmp_path / "ext")),
            load_manifest(training),
            CLASSES,
            "melanoma",
            near_threshold=4,
        )


def test_lesion_intervals_cover_the_figure_and_are_seeded():
    rng = np.random.default_rng(0)
    is_positive = np.repeat([True] * 20 + [False] * 60, 2)  # two photos a lesion
    score = np.where(is_positive, 0.6, 0.4) + rng.normal(0, 0.2, len(is_positive))
    groups = np.repeat(np.arange(80), 2)
    flagged = score >= 0.5
    first = bootstrap(is_positive, score, flagged, groups, seed=1, resamples=200)
    again = bootstrap(is_positive, score, flagged, groups, seed=1, resamples=200)
    assert first == again
    low, high = first["sensitivity"]
    assert low <= flagged[is_positive].mean() <= high
    low, high = first["melanoma_auc"]
    assert 0.5 < low < high <= 1.0


@pytest.fixture(scope="module")
def external_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("sets")
    training = _training(root / "train")
    folder, _ = _external(root / "external", training)
    config = RunConfig(
        data=str(training),
        models=("xgb", "cnn", "fusion"),
        strategies=("none",),
        external=(("clinic", str(folder)),),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PROFILES, "quick", TINY)
        patch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        store = run(config, tmp_path_factory.mktemp("runs"), write=lambda line: None)
    return store


def test_every_final_fit_scores_the_external_set(external_run):
    finals = [r for r in external_run.records() if r.is_final]
    assert {r.model for r in finals} == {"xgb", "cnn", "fusion"}
    for record in finals:
        figures = record.external["clinic"]
        assert (figures["n"], figures["n_melanoma"]) == (12, 5)
        assert 0 <= figures["melanoma_auc"] <= 1
        scores = external_run.scores(record.key)
        assert scores["external_clinic_proba"].shape == (12, 3)
    fusion = external_run.scores("fusion__none__final")["external_clinic_proba"]
    parts = [
        external_run.scores(f"{part}__none__final")["external_clinic_proba"]
        for part in ("xgb", "cnn")
    ]
    np.testing.assert_allclose(fusion, np.mean(parts, axis=0), atol=1e-6)
    audit = json.loads(external_run.path("audit.json").read_text("utf-8"))
    assert audit["external"]["clinic"]["in_training_data"] == 5
    board = write_leaderboard(external_run)
    assert board["external_clinic_melanoma_auc"].between(0, 1).all()


def test_the_report_has_a_generalization_section(external_run):
    from reports import write_report

    html = write_report(external_run.run_dir).read_text("utf-8")
    assert '<section id="generalization">' in html
    assert "clinic: 12 scored, 5 dropped" in html
    start = html.index('id="generalization-table"')
    table = html[start : html.index("</table>", start)]
    assert table.count("<tr>") == 1 + 3  # header and one row a configuration


def test_compare_gates_the_external_figures(external_run, tmp_path, capsys):
    baseline = tmp_path / "baseline.json"
    run_dir = str(external_run.run_dir)
    assert main(["compare", run_dir, "--baseline", str(baseline), "--update"]) == 0
    assert main(["compare", run_dir, "--baseline", str(baseline)]) == 0
    written = json.loads(baseline.read_text("utf-8"))
    written["external"]["xgb:none"]["clinic"]["melanoma_auc"] = 1.5
    baseline.write_text(json.dumps(written), "utf-8")
    capsys.readouterr()
    assert main(["compare", run_dir, "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    assert "xgb:none on clinic" in out and "1 worse" in out
