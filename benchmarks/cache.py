"""Where derived data lives (decoded images, hashes, features) and how it is written.

Everything in the cache is keyed by content, so it can be deleted at any time and
is rebuilt on demand; writes are atomic so a killed process never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import platformdirs

CACHE_ENV = "MELANOMA_BENCH_CACHE"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: What every written file gets: the user's umask (0644 under umask 022), not
#: the 0600 of a temporary file, so a colleague, a web server or a Dask worker
#: on a shared disk can read the report.
FILE_MODE = 0o666 & ~_umask()


def cache_dir(override: str | Path | None = None) -> Path:
    """The cache folder: the option if given, else $MELANOMA_BENCH_CACHE, else the
    user cache dir (~/.cache/melanoma-bench on Linux)."""
    chosen = override or os.environ.get(CACHE_ENV)
    path = (
        Path(chosen) if chosen else Path(platformdirs.user_cache_dir("melanoma-bench"))
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))
