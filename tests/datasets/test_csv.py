"""The csv source: HAM10000 and ISIC Archive metadata tables beside image folders."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.datasets import load_manifest
from benchmarks.errors import UserError
from tests.conftest import write_image


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


def test_reads_derm7pt_layout_with_lesion_groups(tmp_path):
    """derm7pt-dev's table (image_id, label, lesion_id) reads without options, so
    it can be one --data of several beside HAM10000's (whose label column is dx)."""
    for index in range(3):
        write_image(tmp_path / "images" / f"D7_{index}.jpg", index)
    pd.DataFrame(
        {
            "lesion_id": ["L0", "L0", "L1"],
            "image_id": ["D7_0", "D7_1", "D7_2"],
            "label": ["melanoma", "melanoma", "other"],
            "diagnosis": ["melanoma", "melanoma", "melanosis"],
        }
    ).to_csv(tmp_path / "metadata.csv", index=False)
    manifest = load_manifest(tmp_path / "metadata.csv")
    assert list(manifest["label"]) == ["melanoma", "melanoma", "other"]
    assert manifest["group"].nunique() == 2
    assert manifest.attrs["dataset"] == "derm7pt"


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


def test_missing_csv_file(tmp_path):
    with pytest.raises(UserError, match=r"nope.csv: no such file"):
        load_manifest(tmp_path / "nope.csv")
