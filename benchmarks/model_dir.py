"""A model folder: what ``train`` writes and ``triage`` reads, every file checksummed.

Layout of MODEL_DIR:

    model.json      what the model is: classes, inputs and their preprocessing,
                    operating threshold, source run, package and library versions
    cnn.keras       the network (CNN families and hybrid), Keras safe-mode format
    xgboost.json    the boosted trees (xgb and hybrid), XGBoost's JSON format
    SHA256SUMS      sha256 of every other file, in ``sha256sum -c`` format

No pickles anywhere, so loading a folder runs no code from it. A folder is written
beside its destination and renamed into place, so it is never half written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.environment import library_versions
from benchmarks.errors import UserError

FORMAT = "melanoma-bench model"
FORMAT_VERSION = 1
METADATA = "model.json"
CHECKSUMS = "SHA256SUMS"
#: Estimator role -> its file in the folder.
FILES: dict[str, str] = {"cnn": "cnn.keras", "xgboost": "xgboost.json"}
_OURS = frozenset({METADATA, CHECKSUMS, *FILES.values()})
_SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_REDO = "copy the whole model folder again or re-create it with train"


class ModelVersionWarning(UserWarning):
    """The model folder was written under other package or library versions."""


@dataclass(frozen=True)
class LoadedModel:
    """A verified model folder: its metadata and its fitted estimators by role."""

    folder: Path
    metadata: dict
    estimators: dict[str, Any]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_model_folder(folder: Path, names: set[str]) -> bool:
    if not names <= _OURS or METADATA not in names:
        return False
    try:
        metadata = json.loads((folder / METADATA).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(metadata, dict) and metadata.get("format") == FORMAT


def check_output_folder(out: Path) -> None:
    """Refuse anything but a new or empty folder, or an earlier model folder.

    Why: ``train`` replaces its output folder whole, and nothing a user put
    there may be lost.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise UserError(f"--out {out}: a file, not a folder; pick a new folder name")
    names = {path.name for path in out.iterdir()}
    if names and not _is_model_folder(out, names):
        raise UserError(
            f"--out {out}: not empty and not a model folder made by train; pick a "
            "new or empty folder (nothing in it was changed)"
        )


def write_model(out: str | Path, metadata: dict, estimators: dict[str, Any]) -> dict:
    """Save ``estimators`` (role -> fitted estimator with ``save``) and
    ``metadata`` as the model folder ``out``; returns model.json's contents."""
    out = Path(out)
    check_output_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would keep a shared model private
        for role, estimator in estimators.items():
            estimator.save(staging / FILES[role])
        files = {role: FILES[role] for role in estimators}
        described = {
            **metadata,
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "files": files,
        }
        text = json.dumps(described, indent=2, sort_keys=True, ensure_ascii=False)
        (staging / METADATA).write_text(text + "\n", encoding="utf-8")
        sums = "".join(
            f"{_sha256(staging / name)}  {name}\n"
            for name in sorted([METADATA, *files.values()])
        )
        (staging / CHECKSUMS).write_text(sums, encoding="utf-8")
        if out.exists() and any(out.iterdir()):
            retired = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.replace(out, retired / "model")
            os.replace(staging, out)
            shutil.rmtree(retired)
        else:
            os.replace(staging, out)  # replaces an empty folder too
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return described


def _expected_sums(folder: Path) -> dict[str, str]:
    path = folder / CHECKSUMS
    if not path.is_file():
        raise UserError(
            f"{path}: missing, so {folder} is not a complete model folder made by "
            f"train; {_REDO}"
        )
    expected = {}
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        match = _SUM_LINE.match(line)
        name = match.group(2) if match else ""
        if not match or name != Path(name).name or name in (".", ".."):
            raise UserError(
                f"{path}: line {number} is not '<sha256>  <file name>'; {_REDO}"
            )
        expected[name] = match.group(1)
    return expected


def _check_versions(folder: Path, metadata: dict) -> None:
    saved, current = metadata.get("versions", {}), library_versions()
    differing = [
        f"{name} {saved.get(name, 'unknown')} (now {current.get(name, 'unknown')})"
        for name in sorted(set(saved) | set(current))
        if saved.get(name) != current.get(name)
    ]
    if differing:
        warnings.warn(
            f"{folder}: made with {', '.join(differing)}; scores may differ "
            "slightly from a model made with this version (re-create it with train "
            "to be sure)",
            ModelVersionWarning,
            stacklevel=3,
        )


def _check_inputs(folder: Path, metadata: dict) -> None:
    """Refuse a model whose inputs this version would compute differently."""
    from benchmarks.image_cache import CACHE_VERSION
    from features import EXTRACTOR_VERSION

    inputs = metadata["inputs"]
    made = {
        "image decoding": inputs["image_cache_version"],
        "feature extractor": inputs.get("features", {}).get(
            "extractor_version", EXTRACTOR_VERSION
        ),
    }
    now = {"image decoding": CACHE_VERSION, "feature extractor": EXTRACTOR_VERSION}
    for name, version in made.items():
        if version != now[name]:
            raise UserError(
                f"{folder}: made for {name} version {version}, but this "
                f"melanoma-bench has {now[name]}; its scores would be wrong, so "
                "re-create it with train"
            )


def _load_estimator(role: str, path: Path) -> Any:
    if role == "cnn":
        from models import KerasImageClassifier as loader
    else:
        from models import XGBoostClassifier as loader
    try:
        return loader.load(path)
    except ValueError as error:
        raise UserError(f"{path}: cannot be loaded ({error}); {_REDO}") from None


def load_model(folder: str | Path) -> LoadedModel:
    """A model folder after checking every file against SHA256SUMS.

    Warns (``ModelVersionWarning``) when the package or library versions
    differ from the ones that wrote it.

    Raises
    ------
    UserError
        When the folder, a file or a checksum line is missing, a file does not
        match its checksum, or the folder was made for other preprocessing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(
            f"--model {folder}: no such folder; pass a folder made by train"
        )
    expected = _expected_sums(folder)
    for name, digest in expected.items():
        path = folder / name
        if not path.is_file():
            raise UserError(f"{path}: missing; {_REDO}")
        if _sha256(path) != digest:
            raise UserError(
                f"{path}: does not match its checksum in {CHECKSUMS} (altered or "
                f"damaged); {_REDO}"
            )
    if METADATA not in expected:
        raise UserError(f"{folder / CHECKSUMS}: does not list {METADATA}; {_REDO}")
    try:
        metadata = json.loads((folder / METADATA).read_text(encoding="utf-8"))
    except ValueError:
        metadata = {}
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise UserError(f"{folder / METADATA}: not a melanoma-bench model; {_REDO}")
    if metadata.get("format_version", 0) > FORMAT_VERSION:
        raise UserError(
            f"{folder}: written in model format {metadata['format_version']} by a "
            "newer melanoma-bench; upgrade melanoma-bench to read it"
        )
    unlisted = [name for name in metadata["files"].values() if name not in expected]
    if unlisted:
        raise UserError(f"{folder / CHECKSUMS}: does not list {unlisted[0]}; {_REDO}")
    _check_versions(folder, metadata)
    _check_inputs(folder, metadata)
    estimators = {
        role: _load_estimator(role, folder / name)
        for role, name in metadata["files"].items()
    }
    return LoadedModel(folder, metadata, estimators)
