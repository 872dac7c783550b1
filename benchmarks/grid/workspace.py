"""What every trial of a run reads, built in one place from the run's record."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.core.plugins import allowed, is_path
from benchmarks.grid.families import FamilyVariant
from benchmarks.grid.profiles import Profile
from benchmarks.grid.store import RunInfo, RunStore


@dataclass(frozen=True)
class Workspace:
    """What every trial of a run reads; plain values and paths, so it pickles.

    ``image_paths`` maps an image side to the decoded images of every row;
    ``plugins`` are the ``module:factory`` families and strategies named on
    the command line, so that a worker process can register them too; a
    workspace holds only those its process was allowed to import.
    """

    run_dir: str
    classes: tuple[str, ...]
    positive: str
    profile: Profile
    seed: int
    n_threads: int
    image_paths: dict[int, str] = field(default_factory=dict)
    preprocessing: str = "none"
    plugins: tuple[str, ...] = ()
    model_options: tuple[tuple[str, str], ...] = ()
    external_image_paths: dict[str, dict[int, str]] = field(default_factory=dict)
    calibration: str = "none"
    precision: str = "float32"

    @property
    def store(self) -> RunStore:
        return RunStore(self.run_dir)

    def options(self, model: str) -> dict[str, str]:
        """The ``--model-option MODEL.NAME=VALUE`` settings of one family; a
        preprocessing variant (``transfer@lesion-crop``) takes its family's."""
        prefix = f"{FamilyVariant.parse(model).family}."
        return {
            name[len(prefix) :]: value
            for name, value in self.model_options
            if name.startswith(prefix)
        }

    @classmethod
    def of(
        cls,
        info: RunInfo,
        run_dir: str,
        n_threads: int,
        image_paths: dict[int, str] | None = None,
        external_image_paths: dict[str, dict[int, str]] | None = None,
    ) -> Workspace:
        """The workspace of a recorded run."""
        config = info.config
        return cls(
            run_dir=str(run_dir),
            classes=info.classes,
            positive=info.positive,
            profile=info.profile,
            seed=config.seed,
            n_threads=n_threads,
            image_paths=dict(image_paths or {}),
            preprocessing=config.preprocessing,
            plugins=allowed(name for name in config.models or () if is_path(name)),
            model_options=config.model_options,
            external_image_paths=dict(external_image_paths or {}),
            calibration=config.calibration,
            precision=config.precision,
        )

    @property
    def externals(self) -> tuple[str, ...]:
        """The external sets every final fit scores."""
        return tuple(self.external_image_paths)
