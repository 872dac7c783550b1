"""Model folders whose every checksum holds but whose parts disagree: refused
on load in one line naming what is wrong, never a traceback mid-triage."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from benchmarks.cli import main
from tests.conftest import resign
from tests.reliability.test_folders_run_no_code import one_line


def swap_in_linear(folder: Path, linear: Path) -> None:
    """xgb's file replaced by linear-invariant's (46 features, not 224)."""
    shutil.copy(linear / "linear-invariant.skops", folder / "linear-invariant.skops")
    digest = hashlib.sha256((folder / "linear-invariant.skops").read_bytes())
    with (folder / "SHA256SUMS").open("a") as sums:
        sums.write(f"{digest.hexdigest()}  linear-invariant.skops\n")

    def swapped(metadata: dict) -> None:
        metadata["files"] = {"xgb": "linear-invariant.skops"}
        metadata["formats"] = {"xgb": "skops"}

    resign(folder, swapped)


DOCTORED = {
    "classes shortened": (
        lambda metadata: metadata.update(classes=metadata["classes"][:-1]),
        "its files do not fit its model.json",
    ),
    "threshold 'abc'": (
        lambda metadata: metadata["threshold"].update(threshold="abc"),
        "threshold.threshold must be a number from 0 to 1",
    ),
    "threshold null": (
        lambda metadata: metadata["threshold"].update(threshold=None),
        "threshold.threshold must be a number from 0 to 1",
    ),
    "no files": (
        lambda metadata: metadata.update(files={}),
        "files must name the file of each fitted family",
    ),
    "feature names shortened": (
        lambda metadata: metadata["inputs"]["features"]["names"].pop(),
        "inputs.features.names must be the 224 columns the extractor computes",
    ),
}


def triage(folder: Path, finished, tmp_path: Path) -> int:
    images, out = str(finished.data / "Test"), str(tmp_path / "worklist")
    return main(["triage", "--model", str(folder), "--images", images, "--out", out])


@pytest.mark.parametrize("case", DOCTORED)
def test_a_doctored_model_json_is_refused_in_one_line(finished, tmp_path, capsys, case):
    change, expected = DOCTORED[case]
    folder = Path(shutil.copytree(finished.xgb, tmp_path / "model"))
    resign(folder, change)
    assert triage(folder, finished, tmp_path) == 2
    assert expected in one_line(capsys)
    assert not (tmp_path / "worklist").exists()


def test_another_familys_file_swapped_in_is_refused_in_one_line(
    finished, tmp_path, capsys
):
    folder = Path(shutil.copytree(finished.xgb, tmp_path / "model"))
    swap_in_linear(folder, finished.linear)
    assert triage(folder, finished, tmp_path) == 2
    err = one_line(capsys)
    assert "its files do not fit its model.json" in err and "224" in err


@pytest.mark.parametrize("content", [b"not a zip archive", b"PK\x05\x06" + bytes(18)])
def test_a_model_file_replaced_and_signed_anew_is_refused_in_one_line(
    finished, tmp_path, capsys, content
):
    """Checksums that hold over a file that is no model: the load, not the
    check, finds it."""
    folder = Path(shutil.copytree(finished.linear, tmp_path / "model"))
    (folder / "linear-invariant.skops").write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    signed = [
        f"{digest}  linear-invariant.skops"
        if line.endswith(" linear-invariant.skops")
        else line
        for line in lines
    ]
    (folder / "SHA256SUMS").write_text("\n".join(signed) + "\n")
    assert triage(folder, finished, tmp_path) == 2
    err = one_line(capsys)
    assert "linear-invariant.skops: cannot be loaded" in err
    assert not (tmp_path / "worklist").exists()
