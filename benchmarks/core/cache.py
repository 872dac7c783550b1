"""Where derived data lives (decoded images, hashes, features) and how it is written.

Everything in the cache is keyed by content, so it can be deleted at any time and
is rebuilt on demand; writes are atomic so a killed process never leaves half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import platformdirs

CACHE_ENV = "MELANOMA_BENCH_CACHE"
#: Bytes read at a time when a cache file's digest is taken.
_DIGEST_CHUNK = 1 << 23

logger = logging.getLogger(__name__)


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


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_DIGEST_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_cached(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """``atomic_write`` a cache entry, then its SHA-256 beside it (NAME.sha256),
    which ``cached`` checks before the entry is used."""
    atomic_write(path, write)
    digest = _file_digest(path)
    atomic_write(_digest_path(path), lambda stream: stream.write(digest.encode()))


def intact(path: Path) -> bool:
    """Whether the cache entry ``path`` matches the digest written with it."""
    try:
        digest = _digest_path(path).read_text(encoding="ascii").strip()
        return digest == _file_digest(path)
    except (OSError, UnicodeDecodeError):
        return False


def cached(path: Path) -> bool:
    """Whether the cache entry ``path`` is there and whole.

    Why: a cache file garbled on disk can still be read, and a decoded-image
    array with wrong bytes gives wrong figures without an error. An entry whose
    digest is missing (written by an earlier version) or does not match is
    reported in one line and removed, so the caller rebuilds it.
    """
    if not path.exists():
        return False
    if intact(path):
        return True
    logger.warning(
        "cache entry %s is damaged or has no digest; rebuilding it", path.name
    )
    path.unlink(missing_ok=True)
    _digest_path(path).unlink(missing_ok=True)
    return False


#: A temporary cache file untouched this long was left by a stopped process;
#: one being written now is younger.
STALE_SECONDS = 3600


def sweep_stale(folder: Path) -> int:
    """Remove the temporary files stopped processes left in a cache folder
    (hidden, older than ``STALE_SECONDS``); returns how many."""
    removed = 0
    now = time.time()
    for path in folder.glob(".*"):
        try:
            if path.is_file() and now - path.stat().st_mtime > STALE_SECONDS:
                path.unlink()
                removed += 1
        except OSError:  # another process removed or replaced it first
            continue
    return removed


def atomic_write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))
