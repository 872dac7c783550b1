"""The audit: copies, conflicts, leaks and bad files, on made-up and real data."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from benchmarks.data.audit import audit
from benchmarks.data.datasets import load_manifest
from tests.conftest import ISIC9, requires_isic9

JSON_KEYS = {
    "images",
    "duplicate_groups",
    "conflicting_groups",
    "train_test_leaks",
    "unreadable",
}


def test_finds_the_planted_conflict_and_leak(image_folder):
    facts = audit(load_manifest(image_folder)).to_dict()
    assert facts["images"] == 20
    assert facts["duplicate_groups"] == 2
    assert facts["conflicting_groups"] == 1
    assert facts["train_test_leaks"] == 1
    assert facts["unreadable"] == 0
    conflict = next(group for group in facts["groups"] if group["conflict"])
    assert conflict["labels"] == ["melanoma", "nevus naevus"]
    assert sorted(conflict["files"]) == [
        "Train/melanoma/m0.jpg",
        "Train/nevus naevus/n0.jpg",
    ]
    assert facts["conflict_class_pairs"] == [
        {"labels": ["melanoma", "nevus naevus"], "groups": 1}
    ]


def test_same_pixels_in_other_bytes_count_as_identical(image_folder):
    source = image_folder / "Train" / "café <b>" / "c0.jpg"
    with Image.open(source) as image:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
    (image_folder / "Train" / "melanoma" / "copy.png").write_bytes(buffer.getvalue())
    facts = audit(load_manifest(image_folder)).to_dict()
    assert facts["duplicate_groups"] == 3
    assert facts["conflicting_groups"] == 2


def test_a_recompressed_copy_is_a_near_duplicate(image_folder):
    source = image_folder / "Train" / "café <b>" / "c1.jpg"
    with Image.open(source) as image:
        image.resize((40, 40)).save(image_folder / "Test" / "melanoma" / "small.jpg")
    report = audit(load_manifest(image_folder))
    near = [g for g in report.to_dict()["groups"] if g["kind"] == "near"]
    assert len(near) == 1
    assert near[0]["leak"] and near[0]["conflict"]
    assert sorted(near[0]["files"]) == [
        "Test/melanoma/small.jpg",
        "Train/café <b>/c1.jpg",
    ]


def test_copies_share_a_copy_group(image_folder):
    manifest = load_manifest(image_folder)
    report = audit(manifest)
    names = manifest["path"].str.rsplit("/", n=2).str[-2:].str.join("/")
    group = dict(zip(names, report.copy_group, strict=True))
    assert group["melanoma/m0.jpg"] == group["nevus naevus/n0.jpg"]
    assert group["melanoma/t0.jpg"] == group["melanoma/m1.jpg"]
    assert group["melanoma/m2.jpg"] != group["melanoma/m3.jpg"]


def test_bad_files_are_counted_and_named(image_folder):
    (image_folder / "Train" / "melanoma" / "notes.txt").write_text("x")
    (image_folder / "Train" / "melanoma" / "empty.jpg").write_bytes(b"")
    write_tiny = image_folder / "Train" / "melanoma" / "tiny.png"
    Image.new("RGB", (8, 8), (200, 100, 50)).save(write_tiny)
    facts = audit(load_manifest(image_folder)).to_dict()
    assert facts["unreadable"] == 2
    assert {item["file"] for item in facts["unreadable_files"]} == {
        "Train/melanoma/notes.txt",
        "Train/melanoma/empty.jpg",
    }
    assert facts["tiny"] == 1 and facts["blank"] == 1


def test_text_table_escapes_nothing_and_names_counts(image_folder):
    text = audit(load_manifest(image_folder)).to_text()
    assert "café <b>" in text
    assert "of which label conflicts                       1" in text


def test_rejects_an_impossible_threshold(image_folder):
    with pytest.raises(ValueError, match=r"near_threshold=40: choose .* 0 to 32"):
        audit(load_manifest(image_folder), near_threshold=40)


@pytest.mark.isic9
@requires_isic9
def test_isic9_true_counts(isic9_cache, tmp_path):
    """The defects the isic9 README documents: 159 copied images, 155 of them
    under two labels, 18 in both Train and Test."""
    facts = audit(load_manifest(ISIC9, cache=isic9_cache)).to_dict()
    json.dumps(facts)
    assert facts.keys() >= JSON_KEYS
    assert facts["images"] == 2359
    assert facts["duplicate_groups"] == 159
    assert facts["conflicting_groups"] == 155
    assert facts["train_test_leaks"] == 18
    assert facts["unreadable"] == 0
    assert facts["registry_notes"] == []
    pairs = {tuple(p["labels"]): p["groups"] for p in facts["conflict_class_pairs"]}
    assert pairs == {
        ("melanoma", "seborrheic keratosis"): 78,
        ("actinic keratosis", "nevus"): 77,
    }
    leak = next(g for g in facts["groups"] if g["leak"] and g["kind"] == "exact")
    assert leak["splits"] == ["test", "train"]
