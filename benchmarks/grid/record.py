"""A trial's record, typed: what trials/KEY.json holds.

Why typed: the store writes it, and the leaderboard, findings, compare, the
report and the MLflow export all read it; a field spelled once here cannot be
misspelled there. ``to_json`` writes exactly the JSON of the records before
this type existed, so old run folders read as they are and new ones are the
same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

from benchmarks.core.errors import UserError
from benchmarks.grid.configuration import Configuration, Trial

#: The record format this version writes and reads. A record without a
#: ``format`` field is format 1, the only one so far; a later format writes its
#: number, so that this version refuses it rather than misreading it.
FORMAT = 1

#: One part's figures as ``scoring.metrics.evaluate`` (or, for an external set,
#: ``data.external.external_figures``) returns them: metric name -> value.
Figures = dict[str, Any]


class RecordFormatError(UserError):
    """A record written in a format this version does not read: not damage,
    so the store never sets it aside."""


@dataclass(frozen=True)
class Metrics:
    """A trial's figures on each part it scored: its training rows, and its
    validation fold (a fold trial) or the Test split (a final fit; None for
    data without a Test split)."""

    train: Figures
    validation: Figures | None = None
    test: Figures | None = None

    def of(self, part: str) -> Figures | None:
        """The figures of ``part`` ('train', 'validation' or 'test')."""
        parts = {"train": self.train, "validation": self.validation, "test": self.test}
        return parts[part]

    def to_json(self) -> dict[str, Figures]:
        return {
            name: figures
            for name, figures in asdict(self).items()
            if figures is not None
        }


@dataclass(frozen=True)
class Timings:
    """Seconds a trial took and its throughput."""

    fit_seconds: float
    predict_seconds: float
    wall_seconds: float
    #: None for a family that fits nothing (it combines its parts' scores).
    train_images_per_second: float | None
    predict_images_per_second: float
    #: None where the trial explained nothing: a family that fits nothing,
    #: and records written before explanations were timed.
    explain_seconds: float | None = None

    def to_json(self) -> dict[str, float | None]:
        timings = asdict(self)
        if self.explain_seconds is None:
            del timings["explain_seconds"]
        return timings


#: Fields written only where they apply (absent in the JSON when None).
_OPTIONAL = ("importance", "parts", "resampling_notes", "external")


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial: what it trained on, its figures, curves and timings."""

    key: str
    model: str
    strategy: str
    #: The held-out fold; None for the final fit on all training images.
    fold: int | None
    #: The part the trial is scored on: 'validation' (a fold) or 'test'.
    evaluated_on: str
    seed: int
    n_train: int
    n_evaluated: int
    n_fitted: int
    n_synthetic: int
    class_counts_before: dict[str, int]
    class_counts_after: dict[str, int]
    metrics: Metrics
    #: Train minus evaluated figure of each of ``trials.GAP_METRICS``.
    gap: dict[str, float | None]
    #: Training curves by name, with 'unit' and 'best'; empty for a family
    #: that records none.
    curves: dict[str, Any]
    timings: Timings
    versions: dict[str, str]
    #: Per-column importance of a fold trial's model, where it has one.
    importance: dict[str, dict[str, float]] | None = None
    #: The trials whose scores a combining family combined.
    parts: tuple[str, ...] | None = None
    resampling_notes: tuple[str, ...] | None = None
    #: A final fit's figures on each external set, by the set's name.
    external: dict[str, Figures] | None = None

    @property
    def is_final(self) -> bool:
        return self.fold is None

    @property
    def trial(self) -> Trial:
        return Trial(self.model, self.strategy, self.fold)

    @property
    def configuration(self) -> Configuration:
        return Configuration(self.model, self.strategy)

    @property
    def evaluated(self) -> Figures | None:
        """The figures of the part the trial is scored on."""
        return self.metrics.of(self.evaluated_on)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrialRecord:
        """A record as read from its JSON; raises ``RecordFormatError`` for a
        format this version does not read, and KeyError, TypeError or
        ValueError for a file that is not a record."""
        version = data.get("format", FORMAT)
        if version != FORMAT:
            raise RecordFormatError(
                f"trial record format {version!r}; this version of melanoma-bench "
                f"reads format {FORMAT}: read the run with the version that wrote it"
            )
        values = {name: data[name] for name in _names() if name in data}
        values["fold"] = None if data["fold"] == "final" else int(data["fold"])
        values["metrics"] = Metrics(**data["metrics"])
        values["timings"] = Timings(**data["timings"])
        for name in ("parts", "resampling_notes"):
            if name in data:
                values[name] = tuple(data[name])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The record's JSON, as ``from_json`` reads it."""
        data = {field.name: getattr(self, field.name) for field in fields(self)}
        data["fold"] = "final" if self.fold is None else self.fold
        data["metrics"] = self.metrics.to_json()
        data["timings"] = self.timings.to_json()
        for name in _OPTIONAL:
            if data[name] is None:
                del data[name]
        for name in ("parts", "resampling_notes"):
            if name in data:
                data[name] = list(data[name])
        return data


def _names() -> tuple[str, ...]:
    return tuple(field.name for field in fields(TrialRecord))


def by_configuration(
    records: Iterable[TrialRecord],
) -> dict[Configuration, list[TrialRecord]]:
    """Records grouped by configuration, each group and the groups in the order
    the records come (the store's is by key)."""
    grouped: dict[Configuration, list[TrialRecord]] = {}
    for record in records:
        grouped.setdefault(record.configuration, []).append(record)
    return grouped
