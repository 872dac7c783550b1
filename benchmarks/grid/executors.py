"""Where a run's trials are computed: processes on this machine, or a Dask cluster.

Either way each trial's outcome comes back to the process running the grid,
which alone writes the run folder, so the store's atomic writes and resume rules
hold whatever computed a trial. Both executors try a trial that raises once
more, then hand back its failure, and go on with the rest of the grid.
"""

from __future__ import annotations

import itertools
import logging
import os
import uuid
import warnings
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from benchmarks.core.errors import UserError
from benchmarks.grid import families
from benchmarks.grid.config import RunConfig
from benchmarks.grid.configuration import Trial
from benchmarks.grid.progress import quiet_worker
from benchmarks.grid.store import TrialFailure
from benchmarks.grid.trials import TrialResult, compute_trial
from benchmarks.grid.workspace import Workspace
from models import available_cores
from models.machine import exit_with_parent

if TYPE_CHECKING:
    from distributed import Client, Future

logger = logging.getLogger(__name__)

#: Seconds to wait for a Dask scheduler to answer, then for a first worker.
CONNECT_TIMEOUT = 30
WORKERS_TIMEOUT = 60


Outcome = TrialResult | TrialFailure
#: Called in the grid's process as each trial ends, before any trial that
#: reads its output starts.
Finished = Callable[[Trial, Outcome], None]


class Executor(AbstractContextManager):
    """Entered before the run prepares its data, so that a cluster that is not
    there fails the command at once rather than after minutes of preparation."""

    def __exit__(self, *exc_info: Any) -> None:
        return None

    def run(
        self, trials: list[Trial], workspace: Workspace, finished: Finished
    ) -> None:
        """Compute every trial and call ``finished`` with each outcome."""
        raise NotImplementedError


def make_executor(config: RunConfig) -> Executor:
    if config.executor == "dask":
        return DaskExecutor(config.scheduler or "")
    return LocalExecutor(trials_at_once(config))


#: Memory one worker process may hold at its peak: on isic9 a worker training
#: the CNNs and hybrids peaked at 1.4 GB, one training the 180 px reference
#: network (seed-cnn) at 3.4 GB.
WORKER_MEMORY = 4 * 2**30
JOBS_VARIABLE = "MELANOMA_BENCH_JOBS"


def default_jobs() -> int:
    """Trials side by side when --jobs is not given: $MELANOMA_BENCH_JOBS, or
    one per core as far as memory allows.

    Measured on 2 cores (the same figures either way): the synthetic quick
    grid took 1.7x less time with 2 than with 1, isic9 CNN trials 1.15x less
    (each already keeps 2 threads busy).
    """
    chosen = os.environ.get(JOBS_VARIABLE, "").strip()
    if chosen:
        if not chosen.isdigit() or int(chosen) < 1:
            raise UserError(
                f"{JOBS_VARIABLE}={chosen}: choose a whole number >= 1, or unset it"
            )
        return int(chosen)
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return max(1, min(available_cores(), memory // WORKER_MEMORY))


def trials_at_once(config: RunConfig) -> int:
    """How many trials the run computes side by side (for the estimate and
    the progress): --jobs, or ``default_jobs``; one at a time per Dask task
    as far as this machine can tell."""
    if config.executor == "dask":
        return 1
    return config.jobs or default_jobs()


def _blocked(
    trial: Trial, workspace: Workspace, failed: set[str]
) -> TrialFailure | None:
    """The failure of a trial whose input trial failed (it cannot run)."""
    needs = families.needs(trial, workspace.plugins)
    broken = [need.key for need in needs if need.key in failed]
    if not broken:
        return None
    return TrialFailure(trial.key, f"not run: {broken[0]} (its input) failed")


def _attempt(trial: Trial, workspace: Workspace) -> Outcome:
    """The trial's result; if it raises, one more try, then its failure."""
    quiet_worker()
    try:
        return compute_trial(trial, workspace)
    except Exception as error:
        logger.warning("%s failed (%s); trying once more", trial.key, error)
    try:
        return compute_trial(trial, workspace)
    except Exception as error:
        return TrialFailure.of(trial, error, error.__traceback__)


class LocalExecutor(Executor):
    """Trials in this process (jobs 1) or in ``jobs`` joblib worker processes.

    Trials run stage by stage (``families.stage``): a family reading its
    parts once every outcome it may read was saved, the reference rows last.
    """

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = jobs

    def run(
        self, trials: list[Trial], workspace: Workspace, finished: Finished
    ) -> None:
        failed: set[str] = set()

        def stage(trial: Trial) -> int:
            return families.stage(trial, workspace.plugins)

        by_stage = sorted(trials, key=stage)
        for _, phase in itertools.groupby(by_stage, key=stage):
            runnable = []
            for trial in phase:
                blocked = _blocked(trial, workspace, failed)
                if blocked is None:
                    runnable.append(trial)
                else:
                    failed.add(trial.key)
                    finished(trial, blocked)
            for trial, outcome in zip(
                runnable, self._outcomes(runnable, workspace), strict=True
            ):
                if isinstance(outcome, TrialFailure):
                    failed.add(trial.key)
                finished(trial, outcome)

    def _outcomes(self, trials: list[Trial], workspace: Workspace) -> Iterable[Outcome]:
        if self.jobs == 1:
            return (_attempt(trial, workspace) for trial in trials)
        from joblib import Parallel, delayed

        # A worker whose memory grew by 300 MB since its first trial (TensorFlow
        # loaded for a CNN) is replaced by loky, which says so from its own
        # thread; the trial is not lost, so the line only alarms.
        warnings.filterwarnings(
            "ignore", message="A worker stopped while some jobs", category=UserWarning
        )
        return Parallel(
            n_jobs=self.jobs, return_as="generator", initializer=exit_with_parent
        )(delayed(_attempt)(trial, workspace) for trial in trials)


def _check_address(address: str) -> None:
    """Refuse an address Dask cannot parse before a Client is made of it.

    Why: a Client whose constructor fails to parse its address raises, then
    hangs for twice its timeout when it is collected and prints a traceback.
    """
    from distributed.comm import parse_address, parse_host_port
    from distributed.comm.registry import backends

    try:
        scheme, location = parse_address(address)
        if scheme not in backends:
            raise ValueError(f"unknown scheme {scheme!r}")
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except ValueError as error:
        raise UserError(
            f"--scheduler {address}: not a Dask scheduler address ({error}); "
            "pass the address 'dask scheduler' prints, such as tcp://host:8786"
        ) from None


def _compute_on_worker(trial: Trial, workspace: Workspace) -> TrialResult:
    """What a Dask task runs: ``compute_trial`` as the worker's module has it."""
    quiet_worker()
    return compute_trial(trial, workspace)


class DaskExecutor(Executor):
    """Each trial a task on a dask.distributed cluster; outcomes come back here.

    Workers read the run folder and the image cache by path, so both must sit
    on a filesystem every worker mounts at the same path (checked before the
    first task). A task that raises is retried once; a worker lost mid-task has
    its task rerun elsewhere by the scheduler. A hybrid or fusion is submitted
    once the outcomes of the trials it reads are saved.
    """

    def __init__(self, scheduler: str) -> None:
        self.scheduler = scheduler
        self.client: Client | None = None

    def __enter__(self) -> DaskExecutor:
        self.client = self._connect()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def run(
        self, trials: list[Trial], workspace: Workspace, finished: Finished
    ) -> None:
        from distributed import as_completed

        client = self.client
        if client is None:
            raise RuntimeError("enter the DaskExecutor ('with') before run")
        self._check_paths(client, workspace)
        submitted: dict[str, Trial] = {}

        def submit(trial: Trial) -> Future:
            future = client.submit(
                _compute_on_worker,
                trial,
                workspace,
                key=f"{trial.key}-{uuid.uuid4().hex}",
                retries=1,
            )
            submitted[future.key] = trial
            return future

        keys = {trial.key for trial in trials}
        # Trial key -> keys of its inputs still running; dependents by input.
        unmet: dict[str, set[str]] = {}
        dependents: dict[str, list[Trial]] = {}
        first = []
        for trial in trials:
            needs = families.needs(trial, workspace.plugins)
            inputs = {need.key for need in needs} & keys
            for key in inputs:
                dependents.setdefault(key, []).append(trial)
            if inputs:
                unmet[trial.key] = inputs
            else:
                first.append(submit(trial))
        completed = as_completed(first, loop=client.loop)
        for future in completed:
            trial = submitted.pop(future.key)
            outcome = self._outcome(trial, future)
            future.release()
            finished(trial, outcome)
            for dependent in dependents.pop(trial.key, []):
                if dependent.key not in unmet:
                    continue  # already reported blocked by another input
                if isinstance(outcome, TrialFailure):
                    del unmet[dependent.key]
                    finished(dependent, _blocked(dependent, workspace, {trial.key}))
                    continue
                unmet[dependent.key].discard(trial.key)
                if not unmet[dependent.key]:
                    del unmet[dependent.key]
                    completed.add(submit(dependent))

    def _connect(self) -> Client:
        from distributed import Client

        _check_address(self.scheduler)
        try:
            client = Client(
                self.scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False
            )
        except (OSError, ValueError) as error:
            raise UserError(
                f"--scheduler {self.scheduler}: no Dask scheduler there ({error}); "
                "start one with 'dask scheduler' and pass the address it prints"
            ) from None
        try:
            client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except TimeoutError:
            client.close()
            raise UserError(
                f"--scheduler {self.scheduler}: no worker joined in "
                f"{WORKERS_TIMEOUT} s; start some with 'dask worker {self.scheduler}'"
            ) from None
        return client

    def _check_paths(self, client: Client, workspace: Workspace) -> None:
        """Refuse to start when a worker cannot see the run folder or image cache
        (every trial would fail there, twice)."""
        paths = [workspace.run_dir, *workspace.image_paths.values()]
        for path in paths:
            for worker, found in client.run(os.path.exists, path).items():
                if not found:
                    raise UserError(
                        f"--scheduler {self.scheduler}: worker {worker} cannot see "
                        f"{path}; put --out and --cache on a filesystem every "
                        "worker mounts at the same path"
                    )

    def _outcome(self, trial: Trial, future: Future) -> Outcome:
        if future.status == "finished":
            return future.result()
        if future.status == "error":
            return TrialFailure.of(trial, future.exception(), future.traceback())
        raise UserError(
            f"--scheduler {self.scheduler}: the cluster dropped {trial.key} "
            f"({future.status}); finished trials are saved, run the same command "
            "again to resume"
        )
