"""What a run refuses before its grid starts, in one line with exit 2, and
what --dry-run refuses the same way."""

from __future__ import annotations

import pytest

from benchmarks.cli import main


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path / "cache"))


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["run", "dry-run"])
def test_a_sampler_a_fold_is_too_small_for_is_refused_before_any_trial(
    image_folder, tmp_path, capsys, dry_run
):
    """Two folds leave two 'café <b>' images in a training part; ADASYN's five
    neighbours cannot be found there."""
    runs = tmp_path / "runs"
    command = ["run", "xgb", "--data", str(image_folder), "--folds", "2"]
    command += ["--strategies", "none,imblearn:ADASYN", "--out", str(runs)]
    assert main(command + dry_run) == 2
    err = _one_line(capsys)
    assert "--strategies imblearn:ADASYN: cannot run on fold " in err
    assert "smallest class café <b> has 2 image(s)" in err
    assert "choose imblearn:RandomOverSampler or smote" in err
    assert not runs.exists() or not any(runs.iterdir())
