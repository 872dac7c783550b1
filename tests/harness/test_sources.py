"""Several sources in one run, and leave-source-out cross-validation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.analysis.leaderboard import leaderboard_of
from benchmarks.cli import main
from benchmarks.core.errors import UserError
from benchmarks.data.folds import source_folds
from benchmarks.data.sources import load_sources, named_path
from benchmarks.grid.config import RunConfig
from benchmarks.grid.runner import run
from tests.conftest import write_class_folders, write_image


def _folder_source(root: Path, seed: int) -> Path:
    """isic9-like class folders: Train and a small Test."""
    counts = {"melanoma": 8, "nevus": 10, "vascular lesion": 6}
    return write_class_folders(root, counts, seed)


def _csv_source(root: Path, seed: int) -> Path:
    """A HAM10000-like metadata CSV: dx codes, lesion ids, two photos of one
    lesion."""
    rows = []
    for label, count in (("mel", 8), ("nv", 10), ("vasc", 6)):
        for index in range(count):
            image_id = f"IMG_{label}{index}"
            write_image(root / "images" / f"{image_id}.jpg", seed, 64)
            seed += 1
            rows.append((f"HAM_{label}{index // 2}", image_id, label))
    table = pd.DataFrame(rows, columns=["lesion_id", "image_id", "dx"])
    table.to_csv(root / "metadata.csv", index=False)
    return root / "metadata.csv"


@pytest.fixture
def two_sources(tmp_path) -> tuple[str, str]:
    folder = _folder_source(tmp_path / "clinic-a", 1000)
    csv = _csv_source(tmp_path / "clinic-b", 2000)
    # One picture in both sources: clinic-b's first melanoma lesion.
    shutil.copy(
        folder / "Train" / "melanoma" / "m0.jpg", csv.parent / "images" / "IMG_mel0.jpg"
    )
    return str(folder), str(csv)


def test_a_source_is_named_or_named_after_its_folder():
    assert named_path("a=x/y", "--data") == ("a", "x/y")
    assert named_path("sets/ham/metadata.csv", "--data") == (
        "ham",
        "sets/ham/metadata.csv",
    )
    with pytest.raises(UserError, match=r"--data =x: name it NAME=PATH"):
        named_path("=x", "--data")


def test_sources_keep_their_names_and_share_class_names(two_sources):
    folder, csv = two_sources
    manifest = load_sources((folder, f"b={csv}"))
    assert manifest.attrs["dataset"] == "clinic-a+b"
    assert sorted(manifest["source"].unique()) == ["b", "clinic-a"]
    by_source = manifest.groupby("source")["label"].apply(lambda s: sorted(set(s)))
    assert (
        by_source["b"]
        == by_source["clinic-a"]
        == [
            "melanoma",
            "nevus",
            "vascular lesion",
        ]
    )
    # Groups stay within their source: the CSV's lesion ids, the folder's files.
    assert manifest.loc[manifest["source"] == "b", "group"].str.startswith("b:").all()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cv": "leave-source-out"}, "needs two or more sources"),
        ({"data": ("a=x", "b=y"), "folds": 3}, "one fold per source"),
        ({"data": ("x/a", "y/a")}, "two sources have this name"),
        ({"data": ("a=x", "b=y"), "cv": "by-site"}, "--cv by-site: choose from"),
    ],
)
def test_bad_source_settings_are_refused_in_one_line(options, message):
    with pytest.raises(UserError, match=message):
        RunConfig(**options)


def test_several_sources_default_to_leave_source_out():
    config = RunConfig(data=("a=x", "b=y", "c=z"))
    assert config.scheme == "leave-source-out"
    assert config.n_folds == 3
    assert RunConfig(data=("a=x", "b=y"), cv="stratified").n_folds == 3  # profile's
    assert RunConfig().scheme == "stratified"


def test_a_copy_in_two_sources_goes_wholly_to_the_first_sources_fold():
    sources = np.array(["a", "a", "b", "b", "b"])
    groups = np.array(["g1", "g2", "g1", "g3", "g3"])
    folds = source_folds(sources, groups, ["a", "b"])
    assert folds.tolist() == [0, 0, 0, 1, 1]


def test_leave_source_out_scores_each_source_by_models_trained_on_the_other(
    two_sources, tiny_profile, tmp_path, monkeypatch
):
    monkeypatch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path / "cache"))
    folder, csv = two_sources
    config = RunConfig(
        data=(f"a={folder}", f"b={csv}"),
        models=("xgb", "xgb-invariant"),
        strategies=("none",),
    )
    store = run(config, tmp_path / "runs", write=lambda line: None)
    table = pd.read_parquet(store.path("manifest.parquet"))
    cv = table[table["fold"] >= 0]
    moved = cv[cv["fold"] != cv["source"].map({"a": 0, "b": 1})]
    # The copy and the other photo of its lesion are held out with source a.
    assert {"clinic-b/images/IMG_mel0.jpg", "clinic-b/images/IMG_mel1.jpg"} <= set(
        moved["file"]
    )
    assert set(moved["source"]) == {"b"} and len(moved) < 6
    # The Test split of source a is held out for the final fit, as before.
    assert set(table.loc[table["fold"] < 0, "split"]) == {"test"}
    for key, held_out, other in (("fold0", "a", "b"), ("fold1", "b", "a")):
        scores = store.scores(f"xgb__none__{key}")
        trained = table.loc[scores["train_rows"]]
        # Only the held-out source's copies of the other's images are trained on.
        assert (
            (trained["source"] == other) | trained["file"].isin(moved["file"])
        ).all()
        assert held_out in set(table.loc[scores["evaluation_rows"], "source"])
    board = leaderboard_of(store)
    assert {"held_out_a_melanoma_auc", "held_out_b_melanoma_auc"} <= set(board)
    audit = json.loads(store.path("audit.json").read_text())
    assert audit["sources"]["b"] == {"melanoma": 8, "nevus": 10, "vascular lesion": 6}

    assert main(["report", str(store.run_dir)]) == 0
    html = (store.run_dir / "report.html").read_text()
    assert 'id="leave-source-out"' in html and "classes-by-source" in html
    # Two folds that are sources: named so, and no t interval over them.
    assert "2 folds, one per held-out source (leave-source-out)" in html
    assert "group-aware stratified" not in html
    assert "mean over the held-out sources (each fold is one source" in html
    table = html[html.index('id="leaderboard-table"') :]
    table = table[: table.index("</table>")]
    assert "[0.000, 1.000]" not in table and 'class="ci"' not in table

    model = tmp_path / "model"
    assert main(["train", "--run", str(store.run_dir), "--out", str(model)]) == 0
    metadata = json.loads((model / "model.json").read_text())
    assert metadata["training"]["sources"] == ["a", "b"]
    assert metadata["training"]["cross_validation"] == "leave-source-out"
    # Each held-out source with what the threshold carried to it did.
    assert [row["held_out"] for row in metadata["evaluation"]["held_out"]] == ["a", "b"]
    for row in metadata["evaluation"]["held_out"]:
        assert 0.0 <= row["carried_specificity"] <= 1.0
        low, high = row["carried_specificity_ci"]
        assert low <= row["carried_specificity"] <= high
        card = (model / "MODEL_CARD.md").read_text("utf-8")
        assert f"| {row['carried_specificity']:.3f} [95% CI {low:.3f}" in card
    best = board[board["best"]].iloc[0]
    assert metadata["model"] == best["model"]
