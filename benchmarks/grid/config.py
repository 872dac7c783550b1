"""The run configuration: one frozen, typed object, validated once."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
from dataclasses import dataclass, field

from benchmarks import __version__
from benchmarks.core.errors import UserError
from benchmarks.grid.profiles import PROFILES, Profile

POLICIES: tuple[str, ...] = ("keep", "drop")
#: How cross-validation folds are drawn: stratified by class and grouped by
#: lesion, or one fold per ``--data`` source.
CV_SCHEMES: tuple[str, ...] = ("stratified", "leave-source-out")
#: Where trials run (benchmarks.grid.executors): processes here, or a Dask cluster.
EXECUTORS: tuple[str, ...] = ("local", "dask")
#: Post-hoc calibration of a feature-based family's probabilities, fitted on
#: slices of each fold's training part (benchmarks.grid.trials): none, Platt's
#: sigmoid, isotonic regression, or one softmax temperature.
CALIBRATIONS: tuple[str, ...] = ("none", "sigmoid", "isotonic", "temperature")
#: The networks' compute precision (Keras dtype policies; models.PRECISIONS).
PRECISIONS: tuple[str, ...] = ("float32", "mixed_bfloat16")


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's numbers (and a few things that do not).

    ``jobs``, ``executor`` and ``scheduler`` only change where and how fast the
    grid runs, and ``data``/``images`` only where the files are (the data
    fingerprint stands for what they hold), so they are left out of the run id:
    a run started with --jobs 1 resumes with --jobs 2 or on a Dask cluster,
    from another working folder too.
    """

    data: tuple[str, ...] = ("synthetic",)
    images: str | None = None
    id_column: str | None = None
    label_column: str | None = None
    group_column: str | None = None
    models: tuple[str, ...] | None = None
    strategies: tuple[str, ...] | None = None
    profile: str = "quick"
    folds: int | None = None
    cv: str | None = None
    seed: int = 0
    conflicts: str = "keep"
    test_leaks: str = "keep"
    positive_class: str | None = None
    preprocessing: str = "none"
    #: Further --preprocessing names: every family that reads images or
    #: features also runs as NAME@PREPROCESSING on inputs preprocessed so.
    variants: tuple[str, ...] = ()
    model_options: tuple[tuple[str, str], ...] = ()
    external: tuple[tuple[str, str], ...] = ()
    label_map: str | None = None
    near_threshold: int = 4
    strict: bool = False
    calibration: str = "none"
    precision: str = "float32"
    #: None: one trial per core as memory allows (executors.default_jobs).
    jobs: int | None = field(default=None, compare=False)
    executor: str = field(default="local", compare=False)
    scheduler: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.data, str):
            object.__setattr__(self, "data", (self.data,))
        self._check_registered()
        self._check_cv()
        if self.profile not in PROFILES:
            raise UserError(
                f"--profile {self.profile}: choose from {', '.join(PROFILES)}"
            )
        if self.folds is not None and self.folds < 2:
            raise UserError(f"--folds {self.folds}: choose a whole number >= 2")
        if self.seed < 0:
            raise UserError(f"--seed {self.seed}: choose a whole number >= 0")
        if self.jobs is not None and self.jobs < 1:
            raise UserError(f"--jobs {self.jobs}: choose a whole number >= 1")
        self._check_executor()
        if self.calibration not in CALIBRATIONS:
            raise UserError(
                f"--calibration {self.calibration}: choose from "
                f"{', '.join(CALIBRATIONS)}"
            )
        if self.precision not in PRECISIONS:
            raise UserError(
                f"--precision {self.precision}: choose from {', '.join(PRECISIONS)}"
            )
        for option, value in (
            ("--conflicts", self.conflicts),
            ("--test-leaks", self.test_leaks),
        ):
            if value not in POLICIES:
                raise UserError(f"{option} {value}: choose keep or drop")
        # A default written out (--folds 3 on the quick profile, --cv
        # stratified with one source) is the same run as one left unsaid: the
        # same id, the same config.json, so resume and compare accept both.
        for name, value in normalised(self.to_dict()).items():
            if name in ("folds", "cv"):
                object.__setattr__(self, name, value)

    def _check_registered(self) -> None:
        """Every model, strategy and preprocessing named is in its registry."""
        # Imported here: the registries sit above this module in the flow.
        from benchmarks.core import plugins
        from benchmarks.data import preprocessing
        from benchmarks.grid import families, strategies

        for option, values in (
            ("--models", self.models),
            ("--strategies", self.strategies),
        ):
            if values is not None and not values:
                raise UserError(f"{option}: name at least one")
        # A config built here was named by its caller (a folder's is
        # ``recorded``): its plug-in paths may be imported, and run.
        plugins.allow(self.models or ())
        for name in self.models or ():
            families.resolve(name)
        for name in self.strategies or ():
            strategies.get(name)
        preprocessing.get(self.preprocessing)
        named = [self.preprocessing, *self.variants]
        for name in self.variants:
            preprocessing.get(name)
            if named.count(name) > 1:
                raise UserError(f"--preprocessing {name}: named twice; name it once")
        names = [name for name, _ in self.external]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise UserError(
                f"--external {repeated[0]}: named twice; give each set its own "
                "NAME=PATH"
            )
        for name, value in self.model_options:
            model, dot, option = name.partition(".")
            if not (model and dot and option and value):
                raise UserError(
                    f"--model-option {name}: write MODEL.NAME=VALUE, such as "
                    "transfer.weights=backbone.h5"
                )

    def _check_cv(self) -> None:
        from benchmarks.data.sources import source_names

        names = source_names(self.data)
        if self.cv is not None and self.cv not in CV_SCHEMES:
            raise UserError(f"--cv {self.cv}: choose from {', '.join(CV_SCHEMES)}")
        if self.scheme == "leave-source-out":
            if len(names) < 2:
                raise UserError(
                    "--cv leave-source-out: needs two or more sources; repeat "
                    "--data, such as --data isic9=FOLDER --data ham=metadata.csv"
                )
            if self.folds is not None:
                raise UserError(
                    f"--folds {self.folds}: leave-source-out has one fold per "
                    "source; drop --folds or use --cv stratified"
                )

    def _check_executor(self) -> None:
        if self.executor not in EXECUTORS:
            raise UserError(
                f"--executor {self.executor}: choose from {', '.join(EXECUTORS)}"
            )
        if self.executor == "local":
            if self.scheduler is not None:
                raise UserError(
                    f"--scheduler {self.scheduler}: only used with --executor dask; "
                    "add that or drop --scheduler"
                )
            return
        if not self.scheduler:
            raise UserError(
                "--executor dask: name the cluster with --scheduler ADDRESS (such as "
                "tcp://host:8786, printed by 'dask scheduler')"
            )
        if self.jobs not in (None, 1):
            raise UserError(
                f"--jobs {self.jobs}: only used with --executor local; on Dask the "
                "workers' threads decide how many trials run at once"
            )
        if importlib.util.find_spec("distributed") is None:
            raise UserError(
                "--executor dask: dask.distributed is not installed; "
                'pip install "melanoma-bench[dask]"'
            )

    @property
    def settings(self) -> Profile:
        return PROFILES[self.profile]

    @property
    def scheme(self) -> str:
        """The --cv in force: leave-source-out when several sources are
        given and none is named."""
        if self.cv is not None:
            return self.cv
        return "leave-source-out" if len(self.data) > 1 else "stratified"

    @property
    def n_folds(self) -> int:
        if self.scheme == "leave-source-out":
            return len(self.data)
        return self.folds or self.settings.folds

    @classmethod
    def recorded(cls, values: dict) -> RunConfig:
        """A config as a run folder or baseline recorded it, settings added
        since at their defaults.

        Not validated again: a plug-in family it named may no longer be
        installed, and reading its records needs none.
        """
        config = object.__new__(cls)
        known = {item.name for item in dataclasses.fields(cls)}
        for name, value in with_later_defaults(values).items():
            if name in known:
                object.__setattr__(config, name, _recorded_value(name, value))
        return config

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        values["data"] = list(self.data)
        values["models"] = None if self.models is None else list(self.models)
        values["model_options"] = [list(pair) for pair in self.model_options]
        values["external"] = [list(pair) for pair in self.external]
        values["variants"] = list(self.variants)
        values["strategies"] = (
            None if self.strategies is None else list(self.strategies)
        )
        return values

    def run_id(self, data_fingerprint: str) -> str:
        """Same config, profile settings, data and package version -> same run
        folder (so a resumed run never mixes trials of different settings).

        Settings at their defaults are left out, so that one written out
        (--folds 3 on the quick profile) or added in a later version keeps
        the run id.
        """
        defaults = RunConfig().to_dict()
        identity = {
            name: value
            for name, value in normalised(self.to_dict()).items()
            if name not in _WHERE_NOT_WHAT and value != defaults[name]
        }
        identity.update(
            version=__version__,
            data=data_fingerprint,
            settings=dataclasses.asdict(self.settings),
        )
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode())
        return f"{self.profile}-{digest.hexdigest()[:12]}"


#: Settings that say where or how fast, not what: the data fingerprint (with the
#: external sets', labels mapped) stands for what the files hold.
_WHERE_NOT_WHAT = (
    "jobs",
    "executor",
    "scheduler",
    "data",
    "images",
    "external",
    "label_map",
)


def _recorded_value(name: str, value: object) -> object:
    if name == "data" and isinstance(value, str):  # one source before there were more
        return (value,)
    if name in ("model_options", "external"):
        return tuple(tuple(pair) for pair in value)
    if isinstance(value, list):
        return tuple(value)
    return value


def normalised(values: dict) -> dict:
    """A config's values (as ``to_dict`` or a config.json writes them) with
    every default written out put back to unsaid: ``folds`` equal to its
    profile's and ``cv`` equal to the scheme its sources get anyway become None.

    Why: the run id hashes what is said, and ``compare`` compares it, so
    ``--folds 3`` on the quick profile must read as no ``--folds`` at all;
    configs recorded before this normalisation are read through it too.
    """
    values = with_later_defaults(values)
    profile = PROFILES.get(values["profile"])
    if profile is not None and values["folds"] == profile.folds:
        values["folds"] = None
    data = values["data"]
    several = not isinstance(data, str) and len(data) > 1
    if values["cv"] == ("leave-source-out" if several else "stratified"):
        values["cv"] = None
    return values


def with_later_defaults(recorded: dict) -> dict:
    """A config as an earlier version recorded it, with every setting added
    since at its default: the value that run used without naming it."""
    defaults = {
        item.name: item.default
        for item in dataclasses.fields(RunConfig)
        if item.default is not dataclasses.MISSING
    }
    recorded = dict(recorded)
    if "colour_constancy" in recorded:  # the one preprocessing before there were more
        recorded.setdefault("preprocessing", recorded.pop("colour_constancy"))
    return {**defaults, **recorded}
