"""The csv source: HAM10000 and ISIC Archive metadata tables beside image folders."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from benchmarks.core.errors import UserError
from benchmarks.data.datasets import load_manifest
from tests.conftest import HAM10000_DEV, requires_ham10000_dev, write_image


@pytest.fixture
def ham_folder(tmp_path):
    """HAM10000's layout: images spread over two part folders, lesion ids repeat."""
    rows = []
    for index in range(6):
        image_id = f"ISIC_00{index:05d}"
        part = "part_1" if index < 3 else "part_2"
        write_image(tmp_path / f"HAM10000_images_{part}" / f"{image_id}.jpg", index)
        rows.append(
            {
                "lesion_id": f"HAM_{index // 2:07d}",
                "image_id": image_id,
                "dx": "mel" if index % 2 else "nv",
                "dx_type": "histo",
            }
        )
    pd.DataFrame(rows).to_csv(tmp_path / "HAM10000_metadata.csv", index=False)
    return tmp_path


def test_reads_ham10000_layout_with_lesion_groups(ham_folder):
    manifest = load_manifest(ham_folder / "HAM10000_metadata.csv")
    assert len(manifest) == 6 and manifest["readable"].all()
    assert manifest["label"].value_counts().to_dict() == {"nv": 3, "mel": 3}
    assert manifest["group"].nunique() == 3
    assert manifest.attrs["dataset"] == "ham10000"


def test_reads_isic_archive_export(tmp_path):
    write_image(tmp_path / "ISIC_0000001.jpg", 1)
    write_image(tmp_path / "ISIC_0000002.jpg", 2)
    pd.DataFrame(
        {
            "isic_id": ["ISIC_0000001", "ISIC_0000002"],
            "diagnosis": ["melanoma", "nevus"],
        }
    ).to_csv(tmp_path / "metadata.csv", index=False)
    manifest = load_manifest(tmp_path / "metadata.csv")
    assert list(manifest["label"]) == ["melanoma", "nevus"]
    assert list(manifest["group"]) == ["ISIC_0000001", "ISIC_0000002"]


def test_reads_a_label_column_of_class_names_with_lesion_groups(tmp_path):
    """derm7pt-dev's layout: image_id, label (isic9's class names), lesion_id;
    read with no column options, as a third --data beside HAM10000's."""
    for index in range(3):
        write_image(tmp_path / "images" / f"D7_{index}.jpg", index)
    pd.DataFrame(
        {
            "lesion_id": ["L0", "L0", "L1"],
            "image_id": ["D7_0", "D7_1", "D7_2"],
            "label": ["melanoma", "melanoma", "other"],
            "diagnosis": ["melanoma", "melanoma (in situ)", "melanosis"],
        }
    ).to_csv(tmp_path / "metadata.csv", index=False)
    manifest = load_manifest(tmp_path / "metadata.csv")
    assert list(manifest["label"]) == ["melanoma", "melanoma", "other"]
    assert manifest["group"].nunique() == 2 and manifest["readable"].all()


def test_column_names_can_be_overridden(tmp_path):
    write_image(tmp_path / "img" / "a.png", 1)
    pd.DataFrame({"file": ["a"], "class": ["melanoma"]}).to_csv(
        tmp_path / "table.csv", index=False
    )
    manifest = load_manifest(
        tmp_path / "table.csv",
        images=tmp_path / "img",
        id_column="file",
        label_column="class",
    )
    assert list(manifest["label"]) == ["melanoma"] and manifest["readable"].all()


def test_missing_column_names_it_and_the_columns_found(tmp_path):
    pd.DataFrame({"image_id": ["a"], "diagnosis_text": ["x"]}).to_csv(
        tmp_path / "m.csv", index=False
    )
    with pytest.raises(
        UserError,
        match=r"no column 'dx' \(the label\); columns found: image_id, "
        r"diagnosis_text; pass --label-column NAME",
    ):
        load_manifest(tmp_path / "m.csv")


def test_rows_pointing_at_missing_files_are_reported(ham_folder):
    table = pd.read_csv(ham_folder / "HAM10000_metadata.csv")
    extra = table.iloc[:1].assign(image_id="ISIC_9999999")
    pd.concat([table, extra]).to_csv(ham_folder / "HAM10000_metadata.csv", index=False)
    manifest = load_manifest(ham_folder / "HAM10000_metadata.csv")
    missing = manifest[~manifest["readable"]]
    assert len(missing) == 1
    assert missing["error"].iloc[0] == "missing file"
    assert missing["path"].iloc[0].endswith("ISIC_9999999")


def test_rows_without_a_label_are_reported_and_skipped_not_a_class(ham_folder):
    table = pd.read_csv(ham_folder / "HAM10000_metadata.csv")
    table.loc[3, "dx"] = "  "
    table.loc[5, "dx"] = None
    table.to_csv(ham_folder / "HAM10000_metadata.csv", index=False)
    manifest = load_manifest(ham_folder / "HAM10000_metadata.csv")
    unlabelled = manifest[~manifest["readable"]]
    assert list(unlabelled["path"].str[-16:]) == [
        "ISIC_0000003.jpg",
        "ISIC_0000005.jpg",
    ]
    assert set(unlabelled["error"]) == {"no label in column 'dx'"}
    assert set(manifest.loc[manifest["readable"], "label"]) == {"mel", "nv"}


def test_missing_csv_file(tmp_path):
    with pytest.raises(UserError, match=r"nope.csv: no such file"):
        load_manifest(tmp_path / "nope.csv")


def test_a_subset_of_ham10000_says_nothing_about_its_counts(ham_folder, caplog):
    """Six of HAM10000's images: every class at or under the registry's count."""
    load_manifest(ham_folder / "HAM10000_metadata.csv")
    assert "counts differ" not in caplog.text


def test_counts_over_the_registry_are_one_line(ham_folder, caplog, monkeypatch):
    from benchmarks.data.datasets import INFO

    smaller = dataclasses.replace(
        INFO["ham10000"], expected_counts={"train": {"mel": 2, "nv": 5, "bcc": 1}}
    )
    monkeypatch.setitem(INFO, "ham10000", smaller)
    load_manifest(ham_folder / "HAM10000_metadata.csv")
    lines = [r.message for r in caplog.records if "counts differ" in r.message]
    assert lines == [
        "counts differ from the ham10000 registry: train/mel: 3 images, ham10000 "
        "has 2; train/nv: 3 images, ham10000 has 5; train/bcc: 0 images, "
        "ham10000 has 1"
    ]


@requires_ham10000_dev
@pytest.mark.slow
def test_ham10000_dev_reads_without_a_line_about_counts(caplog):
    manifest = load_manifest(HAM10000_DEV / "metadata.csv")
    assert manifest.attrs["dataset"] == "ham10000"
    assert "counts differ" not in caplog.text
