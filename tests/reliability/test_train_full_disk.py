"""``train --out`` on a full disk: one line naming the folder, exit 2, as
``run`` does; nothing half written is left."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from benchmarks.cli import main

_write_bytes = Path.write_bytes


def full_for_models(path: Path, data: bytes) -> int:
    """Path.write_bytes on a disk that fills while a model file is written."""
    if path.name.endswith(".xgboost.json"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return _write_bytes(path, data)


def test_train_on_a_full_disk_says_so_in_one_line(
    finished, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(Path, "write_bytes", full_for_models)
    out = tmp_path / "models" / "xgb"
    arguments = ["train", "--run", str(finished.run_dir), "--config", "xgb:none"]
    code = main([*arguments, "--cache", str(finished.cache), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.count("error:") == 1
    last = err.splitlines()[-1]  # after train's progress lines
    assert last.startswith(f"melanoma-bench: error: {out}: No space left on device")
    assert list((tmp_path / "models").iterdir()) == []
