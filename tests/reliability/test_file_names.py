"""File and folder names that are not UTF-8 are listed, hashed, trained on,
scored and reported (as \\xNN escapes), never a crash."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pandas as pd
import pytest

from benchmarks.cli import main
from benchmarks.core.filenames import real, shown
from benchmarks.grid.config import PROFILES
from tests.conftest import make_image_folder
from tests.harness.conftest import TINY

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="only Linux lets a file name be any bytes"
)


def test_a_shown_name_opens_the_real_file(tmp_path):
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9.jpg")
    open(raw, "wb").close()
    (name,) = os.listdir(tmp_path)  # 'caf\udce9.jpg'
    assert shown(name) == "caf\\xe9.jpg"
    assert real(tmp_path / shown(name)).exists()
    assert shown("café.jpg") == "café.jpg"  # UTF-8 names stay as they are


def test_latin1_names_go_through_audit_run_train_and_triage(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(PROFILES, "quick", TINY)
    monkeypatch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path / "cache"))
    root = make_image_folder(tmp_path / "lesions")
    train = os.fsencode(root / "Train")
    os.mkdir(os.path.join(train, b"n\xe6vus"))
    for index, source in enumerate(sorted((root / "Train" / "melanoma").iterdir())[:3]):
        target = os.path.join(train, b"n\xe6vus", b"l\xe9sion%d.jpg" % index)
        shutil.copy(os.fsencode(source), target)

    facts = tmp_path / "audit.json"
    assert main(["audit", "--data", str(root), "--json", str(facts)]) == 0
    counts = json.loads(facts.read_text("utf-8"))["class_counts"]["train"]
    assert counts["n\\xe6vus"] == 3

    runs = tmp_path / "runs"
    argv = ["run", "xgb", "--strategies", "none", "--data", str(root)]
    assert main([*argv, "--out", str(runs)]) == 0
    (run_dir,) = runs.iterdir()
    assert "n\\xe6vus" in (run_dir / "report.html").read_text("utf-8")
    model = tmp_path / "model"
    assert main(["train", "--run", str(run_dir), "--out", str(model)]) == 0
    out = tmp_path / "worklist"
    argv = ["triage", "--model", str(model), "--images", str(root / "Train")]
    assert main([*argv, "--out", str(out)]) == 0
    worklist = pd.read_csv(out / "worklist.csv")
    assert {f"n\\xe6vus/l\\xe9sion{i}.jpg" for i in range(3)} <= set(worklist["file"])
    assert "Traceback" not in capsys.readouterr().err
