"""Read a folder of class sub-folders, optionally under Train/ and Test/ folders."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from benchmarks.core.errors import UserError
from benchmarks.data.datasets._manifest import FileEntry
from benchmarks.data.images import is_image_name

logger = logging.getLogger(__name__)

_SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
# ISIC file names carry the image id; "ISIC_0025601(1).jpg" is a copy of the same image.
_ISIC_ID = re.compile(r"ISIC_\d{7}")


def _group_of(path: Path, root: Path) -> str:
    """Files that share an ISIC id are one image; otherwise each file is its own."""
    match = _ISIC_ID.search(path.name)
    return match.group(0) if match else path.relative_to(root).as_posix()


def _files_below(folder: Path) -> list[Path]:
    """Everything but folders: files, links to nothing (broken or looping)
    and FIFOs, sockets or devices, which the audit then reports (never opens)
    instead of passing over them."""
    return sorted(path for path in folder.rglob("*") if not path.is_dir())


def _class_entries(split_folder: Path, split: str, root: Path) -> list[FileEntry]:
    entries = []
    for class_folder in sorted(p for p in split_folder.iterdir() if p.is_dir()):
        for path in _files_below(class_folder):
            entries.append(
                FileEntry(path, class_folder.name, split, _group_of(path, root))
            )
    loose = [p for p in split_folder.iterdir() if p.is_file() and is_image_name(p)]
    if loose and entries:
        logger.warning(
            "%s: ignoring %d image(s) outside any class folder",
            split_folder,
            len(loose),
        )
    return entries


def folder_entries(root: Path, option: str = "--data") -> list[FileEntry]:
    """Every file under the class folders of ``root``, labelled by its folder name;
    errors name ``option``, the option that gave ``root``.

    Raises
    ------
    UserError
        When ``root`` is missing, empty, or has images but no class folders.
    """
    if not root.exists():
        raise UserError(f"{option} {root}: no such file or folder; check the path")
    if not root.is_dir():
        raise UserError(
            f"{option} {root}: not a folder; give a folder of class sub-folders, "
            "a metadata .csv, or 'synthetic'"
        )
    subfolders = sorted(p for p in root.iterdir() if p.is_dir())
    splits = [p for p in subfolders if p.name.lower() in _SPLIT_NAMES]
    if splits:
        ignored = [p.name for p in subfolders if p not in splits]
        if ignored:
            logger.info("%s: not a split folder, ignored: %s", root, ", ".join(ignored))
        entries = [
            entry
            for folder in splits
            for entry in _class_entries(folder, _SPLIT_NAMES[folder.name.lower()], root)
        ]
    else:
        entries = _class_entries(root, "train", root)
    if not entries:
        images = [p for p in _files_below(root) if is_image_name(p)]
        if images:
            raise UserError(
                f"{option} {root}: found {len(images)} image(s) but no class folders; "
                f"put each class's images in its own sub-folder ({root}/<class>/*.jpg)"
            )
        raise UserError(
            f"{option} {root}: no images found; expected {root}/<class>/*.jpg "
            f"or {root}/Train/<class>/*.jpg"
        )
    return entries
