"""The folder source, and how loading treats bad files among good ones."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from benchmarks.core.errors import UserError
from benchmarks.data.datasets import drop_unreadable, load_manifest
from tests.conftest import tree_state, write_image


def test_reads_split_and_class_folders_with_awkward_names(image_folder):
    manifest = load_manifest(image_folder)
    assert len(manifest) == 20
    train = manifest[manifest["split"] == "train"]["label"].value_counts()
    assert train.to_dict() == {"melanoma": 6, "nevus naevus": 6, "café <b>": 4}
    assert set(manifest[manifest["split"] == "test"]["label"]) == {
        "melanoma",
        "nevus naevus",
    }
    assert manifest["readable"].all()
    assert (manifest["width"] == 48).all()
    assert manifest["sha256"].str.len().eq(64).all()
    assert manifest["phash"].str.len().eq(16).all()


def test_without_split_folders_everything_is_train(tmp_path):
    for index in range(3):
        write_image(tmp_path / "a" / f"{index}.png", index)
        write_image(tmp_path / "b" / f"{index}.png", 10 + index)
    manifest = load_manifest(tmp_path)
    assert set(manifest["split"]) == {"train"}
    assert manifest["label"].value_counts().to_dict() == {"a": 3, "b": 3}


def test_isic_ids_group_copies_by_name(tmp_path):
    write_image(tmp_path / "x" / "ISIC_0025601.jpg", 1)
    write_image(tmp_path / "x" / "ISIC_0025601(1).jpg", 2)
    write_image(tmp_path / "y" / "other.jpg", 3)
    manifest = load_manifest(tmp_path).set_index("label")
    assert list(manifest.loc["x", "group"]) == ["ISIC_0025601", "ISIC_0025601"]
    assert manifest.loc["y", "group"] == "y/other.jpg"


def test_missing_path_names_it(tmp_path):
    with pytest.raises(UserError, match=r"nowhere: no such file or folder"):
        load_manifest(tmp_path / "nowhere")


def test_empty_folder_says_what_layout_is_expected(tmp_path):
    with pytest.raises(UserError, match=r"no images found; expected .*<class>"):
        load_manifest(tmp_path)


def test_images_without_class_folders(tmp_path):
    write_image(tmp_path / "a.jpg", 1)
    write_image(tmp_path / "b.jpg", 2)
    with pytest.raises(UserError, match=r"found 2 image\(s\) but no class folders"):
        load_manifest(tmp_path)


@pytest.fixture
def folder_with_bad_files(image_folder) -> Path:
    melanoma = image_folder / "Train" / "melanoma"
    (melanoma / "notes.txt").write_text("seen by dr. x")
    (melanoma / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(64))
    (melanoma / "empty.jpg").write_bytes(b"")
    whole = (melanoma / "m2.jpg").read_bytes()
    (melanoma / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    return image_folder


def test_bad_files_are_listed_as_unreadable_with_a_reason(folder_with_bad_files):
    manifest = load_manifest(folder_with_bad_files)
    bad = manifest[~manifest["readable"]].set_index(
        manifest[~manifest["readable"]]["path"].map(lambda path: Path(path).name)
    )
    assert bad["error"].to_dict() == {
        ".DS_Store": "not an image",
        "empty.jpg": "zero-byte file",
        "notes.txt": "not an image",
        "truncated.jpg": "truncated image",
    }
    assert manifest["readable"].sum() == 20


def test_loading_skips_bad_files_with_a_warning(folder_with_bad_files, caplog):
    manifest = load_manifest(folder_with_bad_files)
    with caplog.at_level(logging.WARNING):
        kept = drop_unreadable(manifest)
    assert len(kept) == 20 and kept["readable"].all()
    assert "skipping 4 unreadable file(s)" in caplog.text
    assert "truncated.jpg (truncated image)" in caplog.text


def test_strict_loading_stops_on_bad_files(folder_with_bad_files):
    manifest = load_manifest(folder_with_bad_files)
    with pytest.raises(UserError, match=r"4 unreadable file\(s\): .*without --strict"):
        drop_unreadable(manifest, strict=True)


def test_loading_never_changes_a_users_files(folder_with_bad_files):
    before = tree_state(folder_with_bad_files)
    drop_unreadable(load_manifest(folder_with_bad_files))
    assert tree_state(folder_with_bad_files) == before
