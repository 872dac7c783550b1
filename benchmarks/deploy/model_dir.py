"""A model folder: what ``train`` writes and ``triage`` reads, every file checksummed.

Layout of MODEL_DIR:

    model.json          what the model is: classes, inputs and their preprocessing,
                        operating threshold, source run, package and library versions
    FAMILY.keras        a fitted network (Keras safe-mode format), one per family
    FAMILY.xgboost.json fitted boosted trees (XGBoost's JSON format)
    FAMILY.skops        any other scikit-learn estimator (skops, types checked)
    MODEL_CARD.md       what the model is for and how far to trust it, in words
    training_images.csv the sha256 and perceptual hash of each image it was fitted
                        on, so that triage can say which images it has seen
    SHA256SUMS          sha256 of every other file, in ``sha256sum -c`` format

One file per fitted family of the configuration: its own, and its parts' (a
hybrid keeps its cnn, a fusion its xgb and cnn). No pickles anywhere, so loading
a folder runs no code from it. A folder is written beside its destination and
renamed into place, so it is never half written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.core.environment import library_versions
from benchmarks.core.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "melanoma-bench model"
FORMAT_VERSION = 2
METADATA = "model.json"
CHECKSUMS = "SHA256SUMS"
#: Text documents a model folder may hold beside its model files.
DOCUMENTS = ("MODEL_CARD.md",)
#: The training images' hashes (a CSV read as text, never executed).
TRAINING_IMAGES = "training_images.csv"
TRAINING_IMAGE_COLUMNS = ("sha256", "phash")
#: Estimator format -> the suffix of its file.
SUFFIXES: dict[str, str] = {
    "keras": ".keras",
    "xgboost": ".xgboost.json",
    "skops": ".skops",
}
#: Modules whose types a .skops file may hold without the family's say-so:
#: scikit-learn's stack, our own estimators, and XGBoost's (a calibrated xgb is
#: a scikit-learn wrapper around them; a Booster restores itself from XGBoost's
#: own model bytes, never from a pickle).
_SAFE_MODULES = ("sklearn", "imblearn", "numpy", "scipy", "models", "xgboost")
_FILE = re.compile(
    r"^[a-z0-9][a-z0-9_-]*(@[a-z0-9][a-z0-9_-]*)?(\.keras|\.xgboost\.json|\.skops)$"
)
_SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_REDO = "copy the whole model folder again or re-create it with train"


#: What a model fitted on synthetic images says wherever it is used (train,
#: triage's log and worklist page): it has never seen a real lesion.
SYNTHETIC_WARNING = "not for clinical use: trained on synthetic data"


def synthetic_warning(metadata: dict) -> str | None:
    """``SYNTHETIC_WARNING`` for a model whose model.json says it was trained
    on synthetic data (``training.synthetic``), else None."""
    training = metadata.get("training")
    if isinstance(training, dict) and training.get("synthetic"):
        return SYNTHETIC_WARNING
    return None


class ModelVersionWarning(UserWarning):
    """The model folder was written under other package or library versions."""


@dataclass(frozen=True)
class LoadedModel:
    """A verified model folder: its metadata and its fitted estimators by role."""

    folder: Path
    metadata: dict
    estimators: dict[str, Any]
    #: sha256 and phash of each training image; None in a folder without them.
    training_images: pd.DataFrame | None = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_model_folder(folder: Path, names: set[str]) -> bool:
    ours = {METADATA, CHECKSUMS, TRAINING_IMAGES, *DOCUMENTS}
    if METADATA not in names or any(
        name not in ours and not _FILE.match(name) for name in names
    ):
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


def _format_of(estimator: Any) -> str:
    from models import XGBoostClassifier

    if isinstance(estimator, XGBoostClassifier):
        return "xgboost"
    if type(estimator).__name__ == "KerasImageClassifier":
        return "keras"  # checked by name: importing Keras to ask costs seconds
    return "skops"


def _save(estimator: Any, path: Path, kind: str) -> None:
    if kind == "skops":
        import skops.io

        skops.io.dump(estimator, path)
    else:
        estimator.save(path)


def write_model(
    out: str | Path,
    metadata: dict,
    estimators: dict[str, Any],
    documents: dict[str, Callable[[dict], str]] | None = None,
    training_images: pd.DataFrame | None = None,
) -> dict:
    """Save ``estimators`` (family -> fitted estimator) and ``metadata`` as the
    model folder ``out``; returns model.json's contents.

    ``documents`` maps a file name in ``DOCUMENTS`` to what writes its text from
    model.json's contents (MODEL_CARD.md), checksummed like every other file;
    ``training_images`` (``TRAINING_IMAGE_COLUMNS``) goes to TRAINING_IMAGES.
    """
    out = Path(out)
    check_output_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would keep a shared model private
        files, formats = {}, {}
        for name, estimator in estimators.items():
            formats[name] = _format_of(estimator)
            files[name] = f"{name}{SUFFIXES[formats[name]]}"
            _save(estimator, staging / files[name], formats[name])
        described = {
            **metadata,
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "files": files,
            "formats": formats,
        }
        text = json.dumps(described, indent=2, sort_keys=True, ensure_ascii=False)
        (staging / METADATA).write_text(text + "\n", encoding="utf-8")
        for name, render in (documents or {}).items():
            if name not in DOCUMENTS:
                raise ValueError(f"{name}: not a model folder document")
            (staging / name).write_text(render(described), encoding="utf-8")
        tables = []
        if training_images is not None:
            columns = list(TRAINING_IMAGE_COLUMNS)
            training_images[columns].to_csv(staging / TRAINING_IMAGES, index=False)
            tables.append(TRAINING_IMAGES)
        sums = "".join(
            f"{_sha256(staging / name)}  {name}\n"
            for name in sorted([METADATA, *(documents or {}), *tables, *files.values()])
        )
        (staging / CHECKSUMS).write_text(sums, encoding="utf-8")
        if out.exists() and any(out.iterdir()):
            retired = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.replace(out, retired / "model")
            os.replace(staging, out)
            shutil.rmtree(retired)
        else:
            os.replace(staging, out)  # replaces an empty folder too
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        # Named by the folder asked for, not the hidden one it was staged in.
        reason = error.strerror or str(error)
        raise OSError(error.errno, reason, str(out)) from None
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
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not text (damaged); {_REDO}") from None
    expected = {}
    for number, line in enumerate(text.splitlines(), start=1):
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
    from benchmarks.data.image_cache import CACHE_VERSION
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


def _load_skops(path: Path, trusted_package: str) -> Any:
    """A .skops file, trusting only scikit-learn's own types and those of the
    package that defines the family."""
    import skops.io

    unknown = skops.io.get_untrusted_types(file=path)
    allowed = (*_SAFE_MODULES, trusted_package)
    refused = [name for name in unknown if name.split(".")[0] not in allowed]
    if refused:
        raise UserError(
            f"{path}: holds type {refused[0]}, which neither scikit-learn nor the "
            f"family's package defines; refusing to load it; {_REDO}"
        )
    return skops.io.load(path, trusted=unknown)


def _load_estimator(kind: str, path: Path, trusted_package: str) -> Any:
    from models import XGBoostClassifier

    try:
        if kind == "skops":
            return _load_skops(path, trusted_package)
        if kind == "keras":
            from models import KerasImageClassifier

            return KerasImageClassifier.load(path)
        return XGBoostClassifier.load(path)
    except UserError:
        raise
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as error:
        # KeyError, BadZipFile: an archive whose checksum was signed anew but
        # whose content is not the model's.
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
    version = metadata.get("format_version", 0)
    if version > FORMAT_VERSION:
        raise UserError(
            f"{folder}: written in model format {version} by a newer "
            "melanoma-bench; upgrade melanoma-bench to read it"
        )
    if version < FORMAT_VERSION:
        raise UserError(
            f"{folder}: model format {version}, from an earlier melanoma-bench; "
            f"this one reads format {FORMAT_VERSION}: re-create it with train"
        )
    try:
        _check_schema(folder, metadata)
        return _loaded(folder, metadata, expected)
    except (KeyError, TypeError, AttributeError) as error:
        raise UserError(
            f"{folder / METADATA}: lacks what this version reads ({error!r}); {_REDO}"
        ) from None


def _text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _wrong(folder: Path, field: str, what: str) -> UserError:
    return UserError(f"{folder / METADATA}: {field} {what}; {_REDO}")


def _check_schema(folder: Path, metadata: dict) -> None:
    """Refuse a model.json whose fields have the wrong type or disagree.

    Why: SHA256SUMS proves the files whole, not model.json sane; a wrong field
    signed again would otherwise surface as a traceback in the middle of a
    triage.
    """

    def need(ok: bool, field: str, what: str) -> None:
        if not ok:
            raise _wrong(folder, field, what)

    need(_text(metadata.get("model")), "model", "must name a model family")
    need(_text(metadata.get("strategy")), "strategy", "must name a strategy")
    classes = metadata.get("classes")
    need(
        isinstance(classes, list)
        and len(classes) >= 2
        and all(map(_text, classes))
        and len(set(classes)) == len(classes),
        "classes",
        "must list two or more distinct class names",
    )
    need(metadata.get("positive_class") in classes, "positive_class", "not in classes")
    plugins = metadata.get("plugins", [])
    need(
        isinstance(plugins, list) and all(map(_text, plugins)),
        "plugins",
        "must list module:factory names",
    )
    threshold = metadata.get("threshold")
    value = threshold.get("threshold") if isinstance(threshold, dict) else None
    need(
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and 0 <= value <= 1,
        "threshold.threshold",
        "must be a number from 0 to 1",
    )
    files, formats = metadata.get("files"), metadata.get("formats")
    need(
        isinstance(files, dict)
        and bool(files)
        and all(_text(name) and _FILE.match(str(file)) for name, file in files.items()),
        "files",
        "must name the file of each fitted family",
    )
    need(
        isinstance(formats, dict)
        and set(formats) == set(files)
        and all(
            formats[name] in SUFFIXES and file.endswith(SUFFIXES[formats[name]])
            for name, file in files.items()
        ),
        "formats",
        "must give the format of each file, as its suffix says",
    )
    inputs = metadata.get("inputs")
    need(isinstance(inputs, dict), "inputs", "must describe the model's inputs")
    images = inputs.get("images")
    need(
        isinstance(images, list)
        and all(
            isinstance(pair, list)
            and len(pair) == 2
            and isinstance(pair[0], int)
            and 0 < pair[0] <= 4096
            for pair in images
        ),
        "inputs.images",
        "must list [image side, preprocessed] pairs",
    )
    if "features" in inputs:
        _check_features(folder, inputs["features"])
    need(isinstance(metadata.get("training"), dict), "training", "must be an object")


def _check_features(folder: Path, features: Any) -> None:
    """The feature columns model.json names are those the extractor computes."""
    from features import HandcraftedFeatures

    field = "inputs.features"
    if not isinstance(features, dict):
        raise _wrong(folder, field, "must be an object")
    groups = features.get("groups")
    if not isinstance(groups, list) or not all(map(_text, groups)):
        raise _wrong(folder, f"{field}.groups", "must list feature groups")
    try:
        computed = HandcraftedFeatures(groups=tuple(groups)).get_feature_names_out()
    except ValueError as error:
        reason = f"are not the extractor's ({error})"
        raise _wrong(folder, f"{field}.groups", reason) from None
    names = features.get("names")
    if names != computed.tolist():
        given = len(names) if isinstance(names, list) else repr(names)
        raise _wrong(
            folder,
            f"{field}.names",
            f"must be the {len(computed)} columns the extractor computes for its "
            f"groups, not {given}",
        )


@dataclass(frozen=True)
class _Blank:
    """One black image as each input of the model reads it, to try the parts
    on: a part fitted on other inputs or classes fails here, on load."""

    inputs: dict

    @property
    def preprocessing(self) -> str:
        return self.inputs["preprocessing"]

    def features(self, preprocessing: str) -> Any:
        import numpy as np

        return np.zeros((1, len(self.inputs["features"]["names"])), np.float32)

    def images(self, size: int, preprocessing: str) -> Any:
        import numpy as np

        return np.zeros((1, size, size, 3), np.uint8)

    def embeddings(self, model: str) -> Any:
        raise RuntimeError("the parts' embeddings come from their fitted networks")


def _check_parts(folder: Path, metadata: dict, estimators: dict[str, Any]) -> None:
    """Score a blank image with the model as triage will; refuse a folder whose
    files do not fit its model.json (a part swapped for another family's, a
    class list shortened) in one line now rather than a traceback later."""
    import numpy as np

    from benchmarks.grid import families

    classes = tuple(metadata["classes"])
    try:
        proba = families.predict_proba(
            metadata["model"],
            estimators,
            _Blank(metadata["inputs"]),
            classes,
            metadata.get("plugins", ()),
        )
    except (ValueError, KeyError, IndexError, TypeError) as error:
        reason = str(error).splitlines()[0] if str(error) else ""
        raise UserError(
            f"{folder}: its files do not fit its {METADATA} "
            f"({type(error).__name__}: {reason}); {_REDO}"
        ) from None
    if np.shape(proba) != (1, len(classes)) or not np.isfinite(proba).all():
        raise UserError(
            f"{folder}: scores {np.shape(proba)} for {len(classes)} classes; {_REDO}"
        )


def _loaded(folder: Path, metadata: dict, expected: dict[str, str]) -> LoadedModel:
    unlisted = [name for name in metadata["files"].values() if name not in expected]
    if unlisted:
        raise UserError(f"{folder / CHECKSUMS}: does not list {unlisted[0]}; {_REDO}")
    _check_versions(folder, metadata)
    _check_inputs(folder, metadata)
    from benchmarks.grid import families

    plugins = metadata.get("plugins", [])
    estimators = {}
    for name, file in metadata["files"].items():
        package = (families.family(name, plugins).make.__module__).split(".")[0]
        estimators[name] = _load_estimator(
            metadata["formats"][name], folder / file, package
        )
    _check_parts(folder, metadata, estimators)
    training_images = (
        _training_images(folder / TRAINING_IMAGES)
        if TRAINING_IMAGES in expected
        else None
    )
    return LoadedModel(folder, metadata, estimators, training_images)


def _training_images(path: Path) -> pd.DataFrame:
    """The training images' hashes, checked: hex strings, the columns named."""
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise UserError(f"{path}: not a readable CSV ({error}); {_REDO}") from None
    if list(table.columns) != list(TRAINING_IMAGE_COLUMNS) or not (
        table.apply(lambda column: column.str.fullmatch("[0-9a-f]*")).all().all()
    ):
        raise UserError(f"{path}: not the training images' hashes; {_REDO}")
    return table
