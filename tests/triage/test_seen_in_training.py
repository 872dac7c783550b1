"""triage says which images the model was fitted on: a site testing a model on
public images must not read the scores of its training images as a test."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from benchmarks.cli import main
from benchmarks.core.errors import UserError
from benchmarks.deploy.model_dir import TRAINING_IMAGES, LoadedModel, load_model
from benchmarks.deploy.triage import seen_in_training, triage
from tests.conftest import write_image


def _site(tiny_run, root: Path) -> dict[str, str]:
    """Two training images as they are, one saved again at another quality and
    size (the same picture, other bytes), and one the model never saw; what
    each should be called."""
    train = sorted((tiny_run.data / "Train").rglob("*.jpg"))
    root.mkdir()
    shutil.copy(train[0], root / "copy.jpg")
    shutil.copy(train[5], root / "another copy.jpg")
    with Image.open(train[9]) as image:
        image.resize((image.width * 2, image.height * 2)).save(
            root / "resaved.jpg", quality=60
        )
    write_image(root / "new.jpg", 4242)
    return {
        "copy.jpg": "same file",
        "another copy.jpg": "same file",
        "resaved.jpg": "near-identical picture",
        "new.jpg": "",
    }


def test_training_images_are_marked_and_new_ones_are_not(
    tiny_run, xgb_model, tmp_path, capsys
):
    expected = _site(tiny_run, tmp_path / "site")
    model = load_model(xgb_model)
    hashes = model.training_images
    assert len(hashes) == sum(1 for _ in (tiny_run.data / "Train").rglob("*.jpg"))
    result = triage(model, tmp_path / "site", tmp_path / "out", n_jobs=1)
    assert result.in_training == 3
    worklist = pd.read_csv(tmp_path / "out" / "worklist.csv", keep_default_na=False)
    assert dict(zip(worklist["file"], worklist["in_training"], strict=True)) == expected
    page = (tmp_path / "out" / "worklist.html").read_text("utf-8")
    assert "3 of these images are ones the model was fitted on" in page
    assert page.count(">in training</span>") == 3
    copy = json.loads((tmp_path / "out" / "model.json").read_text("utf-8"))
    assert copy["triage"]["in_training"] == 3
    argv = ["triage", "--model", str(xgb_model), "--images", str(tmp_path / "site")]
    assert main([*argv, "--out", str(tmp_path / "cli")]) == 0
    assert "3 of these images are ones the model was fitted on" in (
        capsys.readouterr().err
    )


def test_labelled_training_images_are_named_in_the_calibration(
    tiny_run, xgb_model, tmp_path
):
    _site(tiny_run, tmp_path / "site")
    labelled = tmp_path / "labelled"
    train = tiny_run.data / "Train"
    shutil.copytree(train / "melanoma", labelled / "melanoma")
    write_image(labelled / "nevus" / "n-new.jpg", 4343)
    rows = [(path, path.parent.name) for path in sorted(labelled.rglob("*.jpg"))]
    pd.DataFrame(
        {"file": [str(path) for path, _ in rows], "label": [label for _, label in rows]}
    ).to_csv(tmp_path / "labels.csv", index=False)
    model = load_model(xgb_model)
    result = triage(
        model, tmp_path / "site", tmp_path / "out", calibrate=tmp_path / "labels.csv"
    )
    melanomas = sum(1 for _ in (train / "melanoma").glob("*.jpg"))
    assert f"{melanomas} of the labelled images are ones the model was fitted on" in (
        result.threshold_note
    )
    listed = pd.read_csv(tmp_path / "out" / "calibration_scores.csv")
    assert (listed["in_training"] == "same file").sum() == melanomas


def test_a_folder_without_training_hashes_marks_nothing(tiny_run, xgb_model, tmp_path):
    _site(tiny_run, tmp_path / "site")
    folder = Path(shutil.copytree(xgb_model, tmp_path / "older"))
    (folder / TRAINING_IMAGES).unlink()
    sums = folder / "SHA256SUMS"
    lines = sums.read_text().splitlines()
    sums.write_text(
        "".join(f"{line}\n" for line in lines if not line.endswith(TRAINING_IMAGES))
    )
    model = load_model(folder)
    assert model.training_images is None
    result = triage(model, tmp_path / "site", tmp_path / "out", n_jobs=1)
    assert result.in_training == 0
    worklist = pd.read_csv(tmp_path / "out" / "worklist.csv", keep_default_na=False)
    assert (worklist["in_training"] == "").all()


def test_hashes_that_are_not_hashes_are_refused_in_one_line(xgb_model, tmp_path):
    folder = Path(shutil.copytree(xgb_model, tmp_path / "model"))
    path = folder / TRAINING_IMAGES
    path.write_text("sha256,phash\n=cmd|' /c calc'!A0,zz\n")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    sums = folder / "SHA256SUMS"
    sums.write_text(
        "".join(
            f"{digest}  {TRAINING_IMAGES}\n"
            if line.endswith(TRAINING_IMAGES)
            else line + "\n"
            for line in sums.read_text().splitlines()
        )
    )
    with pytest.raises(UserError, match="not the training images' hashes"):
        load_model(folder)


def test_only_two_bits_make_the_same_picture():
    """Different lesions of another clinic have lain 4 bits from a training
    image by chance; a copy saved again lies at 0-2."""
    base = 0x8F3C_5A5A_0FF0_1234
    model = LoadedModel(
        Path("."),
        {},
        {},
        pd.DataFrame({"sha256": ["ab" * 32], "phash": [f"{base:016x}"]}),
    )
    hashes = [
        ("ab" * 32, f"{base ^ 0xFF:016x}"),  # the same file, whatever its hash
        ("cd" * 32, f"{base ^ 0b11:016x}"),  # 2 bits off
        ("ef" * 32, f"{base ^ 0b1111:016x}"),  # 4 bits off: another picture
    ]
    assert list(seen_in_training(model, hashes)) == [
        "same file",
        "near-identical picture",
        "",
    ]
