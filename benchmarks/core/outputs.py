"""Where a command will write, checked before any work starts.

Why: a read-only --out, an --out that is a file or a --json that is a folder
should cost the user a second and one line, not a traceback after an hour's
grid.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.core.errors import UserError


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def writable_folder(path: str | Path, option: str) -> Path:
    """``path`` as a folder this process can write in, made if missing."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{option} {folder}: a file, not a folder; pick a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise UserError(
            f"{option} {folder}: cannot write there ({_reason(error)}); pick a "
            "folder you can write to"
        ) from None
    return folder


def writable_file(path: str | Path, option: str) -> Path:
    """``path`` as a file this process can create or replace."""
    file = Path(path)
    if file.is_dir():
        raise UserError(f"{option} {file}: a folder, not a file; name a file")
    folder = file.parent if str(file.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"{option} {file}: no folder {folder}; create it first")
    if not os.access(folder, os.W_OK) or (
        file.exists() and not os.access(file, os.W_OK)
    ):
        raise UserError(
            f"{option} {file}: cannot write there (permission denied); pick "
            "another path"
        )
    return file
