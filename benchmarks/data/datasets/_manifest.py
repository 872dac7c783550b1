"""The Manifest: one row per file, the single table every later step reads."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
import pandas as pd

from benchmarks.core.cache import atomic_write_json, cache_dir
from benchmarks.core.errors import UserError
from benchmarks.core.filenames import shown
from benchmarks.data.images import UnreadableImage, not_a_file, open_rgb

logger = logging.getLogger(__name__)

COLUMNS = (
    "path",
    "label",
    "split",
    "group",
    "sha256",
    "pixel_sha256",
    "phash",
    "width",
    "height",
    "readable",
    "error",
    "blank",
)
SPLITS = ("train", "val", "test")
# Bump when what is stored per file changes; old cache entries are then ignored.
_HASH_CACHE_NAME = "file-hashes-v1.json"
# A grey-level range below this means the picture is one flat colour.
_BLANK_RANGE = 8


@dataclass(frozen=True)
class FileEntry:
    """What a dataset source knows about a file before it is opened."""

    path: Path
    label: str
    split: str
    group: str
    #: Why the file is not to be opened (a CSV id outside the image folder).
    error: str = ""


def _inspect(data: bytes) -> dict[str, object]:
    """Facts about one file's content: decoded-pixel hash, perceptual hash, size."""
    try:
        image = open_rgb(data)
    except UnreadableImage as error:
        return {"readable": False, "error": str(error)}
    pixels = np.asarray(image)
    header = f"{pixels.shape}".encode()
    grey = np.asarray(image.convert("L"))
    return {
        "readable": True,
        "error": "",
        "pixel_sha256": hashlib.sha256(header + pixels.tobytes()).hexdigest(),
        "phash": str(imagehash.phash(image)),
        "width": image.width,
        "height": image.height,
        "blank": bool(int(grey.max()) - int(grey.min()) < _BLANK_RANGE),
    }


class _HashCache:
    """Per-content facts keyed by the file's sha256: a second audit decodes nothing."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / _HASH_CACHE_NAME
        self.entries: dict[str, dict] = {}
        try:
            entries = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            entries = {}
        except ValueError:  # not JSON, or not UTF-8: a damaged cache file
            entries = None
        if isinstance(entries, dict) and all(
            isinstance(facts, dict) for facts in entries.values()
        ):
            self.entries = entries
        else:
            logger.warning("%s is damaged; its facts are computed again", self.path)
        self.changed = False

    def facts(self, data: bytes) -> tuple[str, dict]:
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self.entries:
            self.entries[digest] = _inspect(data)
            self.changed = True
        return digest, self.entries[digest]

    def save(self) -> None:
        if self.changed:
            atomic_write_json(self.path, self.entries)


def _row(entry: FileEntry, cache: _HashCache) -> dict[str, object]:
    row: dict[str, object] = {
        "path": shown(entry.path),
        "label": shown(entry.label),
        "split": entry.split,
        "group": shown(entry.group),
    }
    if entry.error:
        return {**row, "readable": False, "error": entry.error}
    if kind := not_a_file(entry.path):
        return {**row, "readable": False, "error": kind}
    try:
        data = entry.path.read_bytes()
    except FileNotFoundError:
        reason = "broken link" if entry.path.is_symlink() else "missing file"
        return {**row, "readable": False, "error": reason}
    except OSError as error:
        return {**row, "readable": False, "error": error.strerror or "cannot read"}
    digest, facts = cache.facts(data)
    return {**row, "sha256": digest, **facts}


def build_manifest(
    entries: Sequence[FileEntry],
    *,
    root: Path,
    source: str,
    cache: str | Path | None = None,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Hash and inspect every file once (in threads) and return the Manifest.

    ``root`` and ``source`` are kept in ``DataFrame.attrs`` so reports can show
    paths relative to the data folder.
    """
    hash_cache = _HashCache(cache_dir(cache))
    workers = n_jobs or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(lambda entry: _row(entry, hash_cache), entries))
    hash_cache.save()
    manifest = pd.DataFrame(rows, columns=list(COLUMNS))
    manifest = manifest.fillna(
        {"sha256": "", "pixel_sha256": "", "phash": "", "width": 0, "height": 0}
    )
    manifest = manifest.fillna({"error": ""})
    manifest["blank"] = manifest["blank"].eq(True)
    manifest = manifest.astype({"width": "int64", "height": "int64", "readable": bool})
    manifest.attrs.update(root=str(root), source=source)
    return manifest


def relative_path(path: str, manifest: pd.DataFrame) -> str:
    """``path`` relative to the data folder when it is inside it, for display."""
    root = manifest.attrs.get("root")
    try:
        return Path(path).relative_to(root).as_posix() if root else path
    except ValueError:
        return path


def drop_unreadable(manifest: pd.DataFrame, *, strict: bool = False) -> pd.DataFrame:
    """The rows that can be trained on; unreadable files are skipped with a warning.

    Raises
    ------
    UserError
        With ``strict=True``, when any file is unreadable.
    """
    bad = manifest[~manifest["readable"]]
    if bad.empty:
        return manifest
    listing = "; ".join(
        f"{Path(path).name} ({error})"
        for path, error in zip(bad["path"][:5], bad["error"][:5], strict=True)
    )
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    if strict:
        raise UserError(
            f"{len(bad)} unreadable file(s): {listing}{more}; "
            "fix or remove them, or run without --strict to skip them"
        )
    logger.warning("skipping %d unreadable file(s): %s%s", len(bad), listing, more)
    kept = manifest[manifest["readable"]].reset_index(drop=True)
    kept.attrs.update(manifest.attrs)
    return kept
