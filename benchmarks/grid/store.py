"""The results store: one run folder, one atomically written record per trial.

Layout of RUN_DIR:

    config.json         the validated RunConfig, data fingerprint, versions
    manifest.parquet    every image of the run: file, label, split, group, fold,
                        its hashes (sha256, phash), source and size
    audit.json          the audit's findings and what the run did about them
    features.npy        handcrafted features of the manifest's rows (float32);
                        features-NAME.npy on images preprocessed by NAME
    trials/KEY.json     one trial: metrics, curves, timings (written last);
                        read as a TrialRecord (benchmarks/grid/record.py)
    trials/KEY.npz      its raw per-image scores and the rows it trained on
    embeddings/KEY.npy  a CNN trial's penultimate-layer output for every row
    errors/KEY.json     a trial that failed twice: its error and traceback
    leaderboard.csv     model x strategy summary, rewritten after each run

A trial is done when its JSON exists; the JSON is renamed into place after its
scores, so a run killed at any moment resumes from whole records only. An error
record does not make a trial done (a resume tries it again) and lives outside
trials/ so that nothing reading records mistakes it for one.
"""

from __future__ import annotations

import io
import json
import os
import traceback
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout
from pyarrow import ArrowException

from benchmarks.core.cache import atomic_write, atomic_write_json
from benchmarks.core.errors import UserError
from benchmarks.data.sources import source_names
from benchmarks.grid.config import RunConfig
from benchmarks.grid.configuration import Configuration, Trial
from benchmarks.grid.profiles import Profile
from benchmarks.grid.record import RecordFormatError, TrialRecord

CONFIG = "config.json"
#: Held by the process running a run's grid (``RunStore.lock``).
LOCK = ".lock"


@dataclass(frozen=True)
class RunInfo:
    """What config.json records of a run: its settings, data and grid.

    Why typed: ``train``, ``compare``, the report and ``list runs`` all read
    it, and a field spelled once here cannot be misspelled there.
    """

    run_id: str
    config: RunConfig
    profile: Profile
    dataset: str
    data_fingerprint: str
    positive: str
    classes: tuple[str, ...]
    grid: tuple[Configuration, ...]
    versions: dict[str, str]
    machine: dict[str, Any]

    @property
    def n_folds(self) -> int:
        if self.leave_source_out:
            return len(self.config.data)
        return self.config.folds or self.profile.folds

    @property
    def leave_source_out(self) -> bool:
        return self.config.scheme == "leave-source-out"

    @property
    def sources(self) -> tuple[str, ...]:
        """The ``--data`` sources' names; with leave-source-out, fold k holds
        out source k."""
        return tuple(source_names(self.config.data))

    @property
    def external_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.config.external)

    @classmethod
    def from_dict(cls, recorded: dict) -> RunInfo:
        return cls(
            run_id=recorded["run_id"],
            config=RunConfig.recorded(recorded["config"]),
            profile=Profile(**recorded["profile"]),
            dataset=recorded.get("dataset", ""),
            data_fingerprint=recorded["data_fingerprint"],
            positive=recorded["positive_class"],
            classes=tuple(recorded["classes"]),
            grid=tuple(Configuration(*pair) for pair in recorded["grid"]),
            versions=dict(recorded.get("versions", {})),
            machine=dict(recorded.get("machine", {})),
        )


class RunStore:
    """Reads and writes one run folder."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)

    @property
    def trials_dir(self) -> Path:
        return self.run_dir / "trials"

    @property
    def errors_dir(self) -> Path:
        return self.run_dir / "errors"

    def path(self, name: str) -> Path:
        return self.run_dir / name

    def external_dir(self, name: str) -> Path:
        """An external set's rows and features."""
        return self.run_dir / "external" / name

    def features_path(self, preprocessing: str, external: str | None = None) -> Path:
        """The handcrafted features of the run's rows (or an external set's),
        computed on images preprocessed by ``preprocessing``."""
        folder = self.run_dir if external is None else self.external_dir(external)
        suffix = "" if preprocessing == "none" else f"-{preprocessing}"
        return folder / f"features{suffix}.npy"

    def embedding_path(self, key: str) -> Path:
        return self.run_dir / "embeddings" / f"{key}.npy"

    def claim(self, config: dict) -> bool:
        """Write config.json for a new run; True when the folder already held
        this same run (a resume). Refuses a folder holding another run."""
        path = self.path(CONFIG)
        if path.exists():
            try:
                existing = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise UserError(
                    f"{path}: unreadable ({error}); move the folder away or pick "
                    "another --out"
                ) from None
            if existing.get("run_id") != config.get("run_id"):
                raise UserError(
                    f"{self.run_dir}: holds another run ({existing.get('run_id')}); "
                    "pick another --out"
                )
            return True
        atomic_write_json(path, config)
        return False

    def info(self) -> RunInfo:
        """The run's typed record (config.json)."""
        path = self.path(CONFIG)
        if not self.run_dir.exists():
            raise UserError(
                f"{self.run_dir}: no such folder; name a run folder that run wrote"
            )
        if not path.is_file():
            raise UserError(
                f"{self.run_dir}: not a run folder (no {CONFIG}); name a folder "
                "that run wrote, such as runs/quick-..."
            )
        try:
            return RunInfo.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as error:
            raise UserError(
                f"{path}: not a config.json this version reads ({error!r}); run the "
                "grid again into another --out"
            ) from None

    def done(self) -> set[str]:
        """Keys of the trials with a complete record."""
        if not self.trials_dir.is_dir():
            return set()
        return {path.stem for path in self.trials_dir.glob("*.json")}

    def write_trial(self, record: TrialRecord, arrays: dict[str, np.ndarray]) -> None:
        """Scores first, then the record that marks the trial done."""
        key = record.key

        def save(stream: Any) -> None:
            buffer = io.BytesIO()
            np.savez_compressed(buffer, **arrays)
            stream.write(buffer.getvalue())

        atomic_write(self.trials_dir / f"{key}.npz", save)
        atomic_write_json(self.trials_dir / f"{key}.json", record.to_json())
        (self.errors_dir / f"{key}.json").unlink(missing_ok=True)

    def write_error(self, key: str, error: dict) -> None:
        """Why a trial failed; it stays not done."""
        atomic_write_json(self.errors_dir / f"{key}.json", error)

    def errors(self) -> list[dict]:
        """The error records of trials still not done, sorted by key."""
        if not self.errors_dir.is_dir():
            return []
        done = self.done()
        return [
            json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(self.errors_dir.glob("*.json"))
            if path.stem not in done
        ]

    def records(self) -> list[TrialRecord]:
        """Every complete trial record, sorted by key."""
        return [_read_record(path) for path in sorted(self.trials_dir.glob("*.json"))]

    def record(self, key: str) -> TrialRecord:
        return _read_record(self.trials_dir / f"{key}.json")

    def scores(self, key: str) -> dict[str, np.ndarray]:
        path = self.trials_dir / f"{key}.npz"
        try:
            with np.load(path) as archive:
                return {name: archive[name] for name in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise _damaged(path, error) from None

    def lock(self) -> FileLock:
        """Hold the run folder for this process, or say that another run is
        writing it. The operating system drops the lock when the process
        ends, so a killed run never blocks the next."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.run_dir / LOCK, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise UserError(
                f"{self.run_dir}: another run is writing this run folder now; let "
                "it finish (or stop it), then run the command again"
            ) from None
        return lock

    def sweep_temporary(self) -> int:
        """Remove the half-written temporary files a killed run left (hidden
        files beside their destination); call it holding the lock, when no
        other process writes here. Returns how many were removed."""
        removed = 0
        for pattern in (".*", "*/.*", "external/*/.*"):
            for path in self.run_dir.glob(pattern):
                if path.name != LOCK and path.is_file():
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def manifest(self, external: str | None = None) -> pd.DataFrame:
        """manifest.parquet of the run (or of an external set)."""
        folder = self.run_dir if external is None else self.external_dir(external)
        path = folder / "manifest.parquet"
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError, ArrowException) as error:
            raise _damaged(path, error) from None

    def audit(self) -> dict:
        """audit.json: what the audit found and what the run did about it."""
        path = self.path("audit.json")
        try:
            facts = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise _damaged(path, error) from None
        if not isinstance(facts, dict):
            raise _damaged(path, ValueError("not an audit record"))
        return facts

    def inputs_intact(self) -> bool:
        """Whether manifest.parquet and audit.json can be read."""
        try:
            self.manifest()
            self.audit()
        except UserError:
            return False
        return True

    def damaged_trials(self) -> dict[str, str]:
        """Finished trials whose record, scores or embeddings (a network's, which
        a hybrid reads) cannot be read: key -> why."""
        found = {}
        for key in sorted(self.done()):
            record = self.trials_dir / f"{key}.json"
            scores = self.trials_dir / f"{key}.npz"
            try:
                _read_record(record)
                with zipfile.ZipFile(scores) as archive:
                    broken = archive.testzip()
                if broken is not None:
                    raise zipfile.BadZipFile(f"{broken} fails its checksum")
            except RecordFormatError:
                raise
            except UserError as error:
                found[key] = str(error).split(";")[0]
            except (OSError, zipfile.BadZipFile) as error:
                found[key] = f"{scores}: damaged ({error})"
            else:
                embedding = self.embedding_path(key)
                if embedding.exists():
                    try:
                        np.load(embedding, mmap_mode="r")
                    except (OSError, ValueError) as error:
                        found[key] = f"{embedding}: damaged ({error})"
        return found

    def set_aside_damaged(self) -> list[str]:
        """Move every finished trial whose record or scores cannot be read to
        damaged/ (kept, never deleted), so that a resumed run computes it
        again; returns their keys."""
        moved = list(self.damaged_trials())
        for key in moved:
            aside = self.run_dir / "damaged"
            aside.mkdir(exist_ok=True)
            moves = [
                (self.trials_dir / f"{key}{suffix}", f"{key}{suffix}")
                for suffix in (".npz", ".json")
            ]
            moves.append((self.embedding_path(key), f"embeddings-{key}.npy"))
            for path, name in moves:
                if path.exists():
                    os.replace(path, aside / name)
        return moved

    def write_array(self, path: Path, array: np.ndarray) -> None:
        atomic_write(path, lambda stream: np.save(stream, array))


def _damaged(path: Path, error: BaseException) -> UserError:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return UserError(
        f"{path}: damaged ({reason}); run the grid's command again, which sets "
        "it aside in damaged/ and computes the trial anew"
    )


def _read_record(path: Path) -> TrialRecord:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise _damaged(path, error) from None
    if not isinstance(record, dict) or "key" not in record:
        raise _damaged(path, ValueError("not a trial record"))
    try:
        return TrialRecord.from_json(record)
    except RecordFormatError as error:
        raise RecordFormatError(f"{path}: {error}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise _damaged(path, ValueError(f"not a trial record ({error!r})")) from None


@dataclass(frozen=True)
class TrialFailure:
    """A trial that raised on both tries, or could not start: kept in the store
    instead of a record, so the run reports it and a resume tries it again."""

    key: str
    #: One line: the exception's type and the first line of its message.
    error: str
    traceback: str = ""

    @classmethod
    def of(
        cls, trial: Trial, error: BaseException, trace: TracebackType | None = None
    ) -> TrialFailure:
        summary = (str(error).strip().splitlines() or [""])[0]
        lines = traceback.format_exception(type(error), error, trace)
        return cls(trial.key, f"{type(error).__name__}: {summary}", "".join(lines))

    def save(self, store: RunStore) -> None:
        store.write_error(self.key, asdict(self))


def out_of_fold_scores(
    store: RunStore, table: pd.DataFrame, model: str, strategy: str, column: int
) -> np.ndarray:
    """Each cross-validation image's score in ``column`` from the fold model
    that did not train on it (NaN for Test rows)."""
    folds = table["fold"].to_numpy()
    scores = np.full(len(table), np.nan)
    done = store.done()
    for fold in sorted(set(folds[folds >= 0].tolist())):
        key = Trial(model, strategy, fold).key
        if key not in done:
            raise UserError(
                f"{store.run_dir}: trial {key} is not finished; resume the run "
                "(the same run command) first"
            )
        arrays = store.scores(key)
        scores[arrays["evaluation_rows"]] = arrays["evaluation_proba"][:, column]
    if np.isnan(scores[folds >= 0]).any():
        raise UserError(
            f"{store.run_dir}: the {model}:{strategy} folds do not score every "
            "cross-validation image; the run folder is damaged, run it again"
        )
    return scores
