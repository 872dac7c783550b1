"""Output locations are checked before any work: one line, exit 2."""

from __future__ import annotations

import os

import pytest

from benchmarks.cli import main

AS_ROOT = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root may write into read-only folders",
)


def _one_line_error(capsys, *parts: str) -> None:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in err


def test_run_out_that_is_a_file(tmp_path, capsys):
    out = tmp_path / "runs"
    out.write_text("notes")
    assert main(["run", "xgb", "--out", str(out)]) == 2
    _one_line_error(capsys, f"--out {out}: a file, not a folder")
    assert out.read_text() == "notes"


def test_audit_json_that_is_a_folder_fails_before_the_audit(
    image_folder, tmp_path, capsys
):
    folder = tmp_path / "facts"
    folder.mkdir()
    argv = ["audit", "--data", str(image_folder), "--json", str(folder)]
    assert main([*argv, "--cache", str(tmp_path / "cache")]) == 2
    _one_line_error(capsys, f"--json {folder}: a folder, not a file")
    assert not (tmp_path / "cache").exists()  # nothing was hashed


def test_features_out_in_a_missing_folder(image_folder, tmp_path, capsys):
    out = tmp_path / "nowhere" / "x.parquet"
    assert main(["features", "--data", str(image_folder), "--out", str(out)]) == 2
    _one_line_error(capsys, f"--out {out}: no folder")


def test_a_cache_that_is_a_file(image_folder, tmp_path, capsys):
    cache = tmp_path / "cache"
    cache.write_text("x")
    assert main(["audit", "--data", str(image_folder), "--cache", str(cache)]) == 2
    _one_line_error(capsys, f"--cache {cache}: a file, not a folder")


@AS_ROOT
def test_a_read_only_out_is_refused_before_the_run(tmp_path, capsys):
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert main(["run", "xgb", "--out", str(out)]) == 2
    finally:
        out.chmod(0o755)
    _one_line_error(capsys, f"--out {out}: cannot write there")


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux's /sys")
def test_an_out_no_one_may_write_is_refused_before_the_run_even_as_root(capsys):
    out = "/sys/melanoma-bench-out"
    assert main(["run", "xgb", "--out", out]) == 2
    _one_line_error(capsys, f"--out {out}: cannot write there")
