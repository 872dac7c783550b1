"""Export a finished run folder to MLflow: runs, params, metrics and artifacts.

What goes where (docs/mlflow.md):

    run RUN_ID                  the run folder: its config, profile, data
                                fingerprint and library versions as params;
                                report.html, leaderboard.csv, metrics.json and
                                config.json as artifacts
      configuration MODEL:STRATEGY   its leaderboard row as metrics
        fold K                  one cross-validation trial: every figure of its
                                record as metrics, its learning curves as
                                step metrics (step = epoch or round)
        Test                    the final fit (fold "final"), scored on Test and
                                on every external set

Exporting again updates instead of duplicating: each MLflow run carries tags
naming the run folder, configuration and fold, and the export looks those up
before creating anything. A value that has not changed is not logged again, so
a metric's history grows only when its figure changed.

MLflow is optional: it is imported only when an export runs, and a missing one
is a one-line ``UserError`` naming the extra that installs it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.core.errors import UserError

if TYPE_CHECKING:
    from benchmarks.grid.record import TrialRecord

DEFAULT_EXPERIMENT = "melanoma-bench"
INSTALL = "pip install 'melanoma-bench[mlflow]'"

#: Tags that identify an exported run, so that a second export finds it.
TAG_RUN_ID = "melanoma_bench.run_id"
TAG_KIND = "melanoma_bench.kind"
TAG_CONFIGURATION = "melanoma_bench.configuration"
TAG_FOLD = "melanoma_bench.fold"
#: The digest of a trial's learning curves as last exported.
TAG_CURVES = "melanoma_bench.curves_sha256"
#: MLflow's own tag that nests a run under another.
TAG_PARENT = "mlflow.parentRunId"

#: Files of the run folder logged on its run, where present.
ARTIFACTS = ("report.html", "leaderboard.csv", "metrics.json", "config.json")

#: MLflow's limits on one log_batch call and on a param value.
_MAX_METRICS_PER_BATCH = 1000
_MAX_PARAMS_TAGS = 100
_MAX_ENTITIES_PER_BATCH = 1000
_MAX_PARAM_LENGTH = 6000
#: How long a tracking server may take to answer at all.
_PROBE_SECONDS = 15
_COUNTS = ("n_train", "n_fitted", "n_synthetic", "n_evaluated")


@dataclass(frozen=True)
class ExportSummary:
    """What an export did, for the command's one-line answer."""

    tracking_uri: str
    experiment: str
    experiment_id: str
    run_id: str
    mlflow_run_id: str
    created: int
    updated: int
    artifacts: tuple[str, ...]


# -- What is exported: plain dictionaries, no MLflow needed ----------------


def metric_key(*parts: object) -> str:
    """A metric or param name MLflow accepts, from ``/``-joined parts.

    Class and external-set names come from the data and may hold anything;
    characters MLflow refuses become ``_`` and no part can climb a path.
    """
    cleaned = []
    for part in parts:
        text = re.sub(r"[^\w.\- ]", "_", str(part)).strip()
        cleaned.append("_" if text in ("", ".", "..") else text)
    return "/".join(cleaned)


def _number(value: Any) -> float | None:
    """A finite float of a record's value, or None for what is no figure."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _flatten(prefix: Sequence[str], value: Any) -> Iterator[tuple[str, float]]:
    """Every numeric leaf of nested dictionaries; lists, strings and None
    (a confusion matrix, class names, a figure that could not be computed)
    are left out."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten((*prefix, str(key)), item)
        return
    number = _number(value)
    if number is not None:
        yield metric_key(*prefix), number


def trial_metrics(record: TrialRecord) -> dict[str, float]:
    """A trial record's figures as metrics: ``validation/balanced_accuracy``,
    ``gap/macro_f1``, ``timings/fit_seconds``, ``external/NAME/melanoma_auc``.

    Feature importances and per-image scores stay in the run folder: hundreds
    of numbers per trial that the report shows better.
    """
    # Each part flattened into metrics, its name the prefix.
    parts = {
        **record.metrics.to_json(),
        "gap": record.gap,
        "timings": record.timings.to_json(),
        "external": record.external or {},
        "class_counts_before": record.class_counts_before,
        "class_counts_after": record.class_counts_after,
    }
    metrics: dict[str, float] = {}
    for part, figures in parts.items():
        metrics.update(_flatten((part,), figures))
    metrics.update({name: float(getattr(record, name)) for name in _COUNTS})
    curves = record.curves
    best = _number(curves.get("best"))
    if best is not None and any(_series(curves).values()):
        metrics[metric_key("curve", f"best_{curves.get('unit') or 'step'}")] = best
    return metrics


def _series(curves: Mapping[str, Any]) -> dict[str, list[float]]:
    return {
        name: values
        for name, values in curves.items()
        if isinstance(values, list)
        and values
        and all(_number(value) is not None for value in values)
    }


def trial_curves(record: TrialRecord) -> dict[str, list[float]]:
    """A trial's learning curves, one value per epoch or boosting round:
    ``curve/train_loss`` -> [loss at step 0, 1, ...]."""
    return {
        metric_key("curve", name): [float(value) for value in values]
        for name, values in _series(record.curves).items()
    }


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text[:_MAX_PARAM_LENGTH]


def run_params(recorded: Mapping[str, Any]) -> dict[str, str]:
    """config.json as params: ``config.NAME``, ``profile.NAME``,
    ``versions.LIBRARY``, ``machine.NAME``, the data fingerprint and classes."""
    params: dict[str, str] = {}
    for section in ("config", "profile", "versions", "machine"):
        for name, value in (recorded.get(section) or {}).items():
            params[metric_key(f"{section}.{name}")] = _param_value(value)
    for name in ("run_id", "dataset", "data_fingerprint", "positive_class", "classes"):
        if name in recorded:
            params[name] = _param_value(recorded[name])
    return params


def board_metrics(row: Mapping[str, Any]) -> dict[str, float]:
    """A leaderboard row's figures as metrics, named as leaderboard.csv's
    columns (``best`` is 1 for the best configuration)."""
    metrics = {}
    for name, value in row.items():
        number = _number(value.item() if hasattr(value, "item") else value)
        if number is not None:
            metrics[metric_key(name)] = number
    return metrics


def _fold_label(fold: Any) -> str:
    return "final" if fold in (None, "final") else str(fold)


def _fold_order(fold: Any) -> tuple[int, int]:
    label = _fold_label(fold)
    return (1, 0) if label == "final" else (0, int(label) if label.isdigit() else 0)


# -- Writing to MLflow ----------------------------------------------------


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise UserError(f"export mlflow: MLflow is not installed; {INSTALL}") from None
    return mlflow


def export_mlflow(
    run_dir: str | Path,
    *,
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
) -> ExportSummary:
    """Write a finished run folder to MLflow, updating an earlier export of it.

    ``tracking_uri`` None means MLflow's own default (``MLFLOW_TRACKING_URI``,
    else MLflow's local default). Raises ``UserError`` for a folder that is
    not a finished run, a missing MLflow, or a tracking server that refuses.
    """
    from benchmarks.analysis.leaderboard import leaderboard_of
    from benchmarks.grid.store import CONFIG, RunStore

    store = RunStore(run_dir)
    if not store.run_dir.is_dir():
        raise UserError(f"{run_dir}: no such folder; pass a run folder")
    info = store.info()
    records = store.records()
    if not records:
        raise UserError(
            f"{store.run_dir}: no finished trials yet; run the grid's command first"
        )
    if not experiment.strip():
        raise UserError("--experiment: name an experiment, such as melanoma-bench")
    recorded = json.loads(store.path(CONFIG).read_text(encoding="utf-8"))
    board = leaderboard_of(store)
    mlflow = _mlflow()
    from mlflow.exceptions import MlflowException

    uri = tracking_uri or mlflow.get_tracking_uri()
    _check_reachable(uri)
    try:
        with _no_links_printed():
            exporter = _Exporter(mlflow, uri, experiment, info.run_id)
            return exporter.export(store, recorded, board, records)
    except MlflowException as error:
        # MLflow's messages run long and may carry the fix at their end.
        reason = " ".join(str(error.message).split())[:800]
        raise UserError(f"MLflow at {shown(uri)}: {reason}") from None


@contextmanager
def _no_links_printed() -> Iterator[None]:
    """Keep MLflow from printing two links to stdout for each run it ends
    on a server (the command prints one line of its own)."""
    name = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"
    before = os.environ.get(name)
    os.environ[name] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def shown(uri: str) -> str:
    """A tracking URI without the user name and password it may carry, to
    print and to probe."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _check_reachable(uri: str) -> None:
    """Say at once that a tracking server does not answer.

    Why: MLflow's client retries a refused connection with growing pauses for
    about four minutes before it gives up. Any HTTP answer, an error page
    included, means something is there; MLflow's own calls then say what.
    """
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    if urlsplit(uri).scheme not in ("http", "https"):
        return
    try:
        with urllib.request.urlopen(shown(uri), timeout=_PROBE_SECONDS):
            pass
    except urllib.error.HTTPError:
        pass
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise UserError(
            f"--tracking-uri {shown(uri)}: no server answers ({reason}); start the "
            "MLflow server or check the address"
        ) from None


class _Exporter:
    """One export: the experiment, the runs found by tag, what was logged."""

    def __init__(self, mlflow: Any, uri: str, experiment: str, run_id: str) -> None:
        from mlflow.entities import ViewType
        from mlflow.tracking import MlflowClient

        self.mlflow = mlflow
        self.uri = uri
        self.run_id = run_id
        self.client = MlflowClient(tracking_uri=uri)
        self.experiment = experiment
        self.experiment_id = self._experiment_id(experiment)
        self.timestamp = int(time.time() * 1000)
        self.created = self.updated = 0
        self.existing = {
            _identity(run.data.tags): run
            for run in self._search(
                f"tags.`{TAG_RUN_ID}` = '{_quoted(run_id)}'", ViewType.ACTIVE_ONLY
            )
        }

    def _experiment_id(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is None:
            return self.client.create_experiment(name)
        if found.lifecycle_stage != "active":
            raise UserError(
                f"--experiment {name}: deleted in MLflow; restore it "
                f"(mlflow experiments restore --experiment-id {found.experiment_id}) "
                "or name another"
            )
        return found.experiment_id

    def _search(self, filter_string: str, view: int) -> list[Any]:
        found, token = [], None
        while True:
            page = self.client.search_runs(
                [self.experiment_id],
                filter_string=filter_string,
                run_view_type=view,
                max_results=1000,
                page_token=token,
            )
            found.extend(page)
            token = page.token
            if not token:
                return found

    def export(
        self, store: Any, recorded: dict, board: Any, records: list[TrialRecord]
    ) -> ExportSummary:
        from benchmarks.grid.record import by_configuration

        params = run_params(recorded)
        top = self._run(
            ("run", "", ""),
            name=self.run_id,
            parent=None,
            tags={"melanoma_bench.run_dir": str(store.run_dir.resolve())},
            params=params,
            metrics={},
        )
        rows = {str(row["configuration"]): row for row in board.to_dict("records")}
        best = [name for name, row in rows.items() if _number(row.get("best")) == 1]
        if best:
            self.client.set_tag(top, "melanoma_bench.best", best[0])
        for grouped, trials in by_configuration(records).items():
            configuration = str(grouped)
            identity = {"model": grouped.model, "strategy": grouped.strategy}
            parent = self._run(
                ("configuration", configuration, ""),
                name=configuration,
                parent=top,
                tags={f"melanoma_bench.{k}": v for k, v in identity.items()},
                params={"configuration": configuration, **identity, **params},
                metrics=board_metrics(rows.get(configuration, {})),
            )
            for record in sorted(trials, key=lambda r: _fold_order(r.fold)):
                fold = _fold_label(record.fold)
                curves = trial_curves(record)
                label = "Test" if fold == "final" else f"fold {fold}"
                self._run(
                    ("trial", configuration, fold),
                    name=f"{configuration} {label}",
                    parent=parent,
                    tags={f"melanoma_bench.{k}": v for k, v in identity.items()},
                    params={
                        "configuration": configuration,
                        **identity,
                        "fold": fold,
                        "evaluated_on": _param_value(record.evaluated_on),
                        "seed": _param_value(record.seed),
                        "curve_unit": _param_value(record.curves.get("unit", "")),
                    },
                    metrics=trial_metrics(record),
                    curves=curves,
                )
        logged = []
        for name in ARTIFACTS:
            path = store.path(name)
            if path.is_file():
                self.client.log_artifact(top, str(path))
                logged.append(name)
        return ExportSummary(
            tracking_uri=shown(self.uri),
            experiment=self.experiment,
            experiment_id=self.experiment_id,
            run_id=self.run_id,
            mlflow_run_id=top,
            created=self.created,
            updated=self.updated,
            artifacts=tuple(logged),
        )

    def _run(
        self,
        identity: tuple[str, str, str],
        *,
        name: str,
        parent: str | None,
        tags: dict[str, str],
        params: dict[str, str],
        metrics: dict[str, float],
        curves: dict[str, list[float]] | None = None,
    ) -> str:
        """Find (by tags) or create one MLflow run and log what changed."""
        from mlflow.entities import Metric, Param, RunTag

        kind, configuration, fold = identity
        tags = {
            TAG_RUN_ID: self.run_id,
            TAG_KIND: kind,
            TAG_CONFIGURATION: configuration,
            TAG_FOLD: fold,
            **tags,
        }
        if parent is not None:
            tags[TAG_PARENT] = parent
        if curves:
            # Curves are logged whole or not at all: their digest says
            # whether the run already holds these.
            tags[TAG_CURVES] = _digest(curves)
        existing = self.existing.get(identity)
        if existing is None:
            run = self.client.create_run(self.experiment_id, tags=tags, run_name=name)
            run_id, old_tags, old_params, old_metrics = run.info.run_id, tags, {}, {}
            self.created += 1
        else:
            run_id = existing.info.run_id
            old_tags = existing.data.tags
            old_params, old_metrics = existing.data.params, existing.data.metrics
            self.updated += 1
        entities: list[Any] = [
            Metric(key, value, self.timestamp, 0)
            for key, value in metrics.items()
            if old_metrics.get(key) != value
        ]
        if curves and (
            existing is None or old_tags.get(TAG_CURVES) != tags[TAG_CURVES]
        ):
            entities += [
                Metric(key, value, self.timestamp, step)
                for key, values in curves.items()
                for step, value in enumerate(values)
            ]
        # Params cannot change in MLflow; a run id names one config, so those
        # already there hold these values.
        entities += [Param(k, v) for k, v in params.items() if k not in old_params]
        entities += [RunTag(k, v) for k, v in tags.items() if old_tags.get(k) != v]
        self._log_batch(run_id, entities)
        if existing is None or existing.info.status != "FINISHED":
            self.client.set_terminated(run_id, "FINISHED")
        return run_id

    def _log_batch(self, run_id: str, entities: list[Any]) -> None:
        """Metrics, params and tags in as few calls as MLflow's limits allow
        (a call per run, as a rule: each is a round trip to a server)."""
        from mlflow.entities import Metric, Param

        batch: dict[str, list[Any]] = {"metrics": [], "params": [], "tags": []}

        def flush() -> None:
            if any(batch.values()):
                chunk = {field: list(values) for field, values in batch.items()}
                self.client.log_batch(run_id, **chunk, synchronous=True)
            for values in batch.values():
                values.clear()

        for entity in entities:
            if isinstance(entity, Metric):
                field, full = "metrics", len(batch["metrics"]) >= _MAX_METRICS_PER_BATCH
            else:
                field = "params" if isinstance(entity, Param) else "tags"
                full = len(batch["params"]) + len(batch["tags"]) >= _MAX_PARAMS_TAGS
            if full or sum(map(len, batch.values())) >= _MAX_ENTITIES_PER_BATCH:
                flush()
            batch[field].append(entity)
        flush()


def _identity(tags: Mapping[str, str]) -> tuple[str, str, str]:
    return (
        tags.get(TAG_KIND, ""),
        tags.get(TAG_CONFIGURATION, ""),
        tags.get(TAG_FOLD, ""),
    )


def _digest(curves: Mapping[str, list[float]]) -> str:
    text = json.dumps(curves, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _quoted(text: str) -> str:
    """A value inside a single-quoted MLflow search filter."""
    return text.replace("\\", "\\\\").replace("'", "\\'")
