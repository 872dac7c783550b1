"""Anything under --images or --data that is not a regular file, and every
link to a folder, is listed with the reason, never opened nor passed over."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from benchmarks.data.datasets import load_manifest
from benchmarks.deploy.triage import UNREADABLE, WORKLIST, find_files
from tests.conftest import write_image

ROOT = Path(__file__).resolve().parents[2]


def triage_command(model: Path, images: Path, out: Path) -> subprocess.CompletedProcess:
    """``triage`` in a new process, killed after a minute rather than hang."""
    args = ["--model", str(model), "--images", str(images), "--out", str(out)]
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", "triage", *args, "--jobs", "1"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_a_fifo_is_listed_by_triage_never_opened(finished, tmp_path):
    images = tmp_path / "images"
    write_image(images / "a.jpg", 1)
    os.mkfifo(images / "fifo.jpg")
    done = triage_command(finished.xgb, images, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(tmp_path / "out" / WORKLIST)["file"].tolist() == ["a.jpg"]
    listing = pd.read_csv(tmp_path / "out" / UNREADABLE)
    assert listing.to_dict("records") == [
        {"file": "fifo.jpg", "reason": "not a regular file: a FIFO (named pipe)"}
    ]


def test_a_fifo_is_listed_by_the_audit_never_opened(tmp_path):
    folder = tmp_path / "lesions"
    for label in ("melanoma", "nevus"):
        write_image(folder / label / "ok.jpg", len(label))
    os.mkfifo(folder / "nevus" / "pipe.jpg")
    manifest = load_manifest(folder)
    names = manifest["path"].map(lambda p: Path(p).name)
    errors = dict(zip(names, manifest["error"], strict=True))
    assert errors == {
        "ok.jpg": "",
        "pipe.jpg": "not a regular file: a FIFO (named pipe)",
    }


def test_every_link_to_a_folder_is_accounted_for(tmp_path):
    images, elsewhere = tmp_path / "images", tmp_path / "elsewhere"
    write_image(images / "inside" / "a.jpg", 1)
    write_image(elsewhere / "b.jpg", 2)
    (images / "to-elsewhere").symlink_to(elsewhere, target_is_directory=True)
    (images / "to-etc").symlink_to("/etc", target_is_directory=True)
    (images / "to-inside").symlink_to(images / "inside", target_is_directory=True)
    (images / "inside" / "up").symlink_to(images, target_is_directory=True)
    (images / "self").symlink_to(images / "self")
    (images / "gone").symlink_to(tmp_path / "nowhere")

    found, others = find_files(images)

    assert found == ["inside/a.jpg"]
    reasons = {item["file"]: item["reason"] for item in others}
    assert reasons == {
        "gone": f"broken link: {tmp_path / 'nowhere'} does not exist",
        "inside/up": "link to a folder above it (a loop), not followed",
        "self": "link loop: its links lead round in a circle",
        "to-elsewhere": "link to a folder outside --images, not followed (pass "
        "that folder)",
        "to-etc": "link to a folder outside --images, not followed (pass that folder)",
        "to-inside": "link to a folder inside --images, whose images are scored there",
    }
