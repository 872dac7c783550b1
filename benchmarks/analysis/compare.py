"""The regression gate: a run's fold metrics against a committed baseline; and
two run folders side by side.

A baseline file records what a run of a given config on given data scored, per
(model, strategy) and metric: the fold values, and the tolerance a later run
may fall short by. A later run is worse on a metric when its fold mean drops by
more than the tolerance and, with several folds, a paired test over the same
folds says the drop is real; or when it drops by more than the large tolerance,
which a few folds cannot test. Configurations the baseline has and the run's grid
leaves out are not compared (and said so).

Two runs (``compare RUN_A RUN_B``) are not a gate: each configuration both ran
gets the change of each ranking figure, paired over folds where both runs drew
the same folds from the same data, unpaired (Welch) otherwise.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.analysis.leaderboard import RANKING
from benchmarks.core.cache import atomic_write_json
from benchmarks.core.errors import UserError
from benchmarks.grid.config import normalised
from benchmarks.grid.configuration import Configuration
from benchmarks.grid.record import by_configuration
from benchmarks.grid.store import RunStore
from benchmarks.scoring.metrics import corrected_resampled_ttest, summarize

FORMAT = 1
#: Metrics the gate watches, validation fold means.
METRICS = ("balanced_accuracy", "macro_f1", "melanoma_sensitivity", "melanoma_auc")
#: Settings a run must share with its baseline for the figures to be comparable.
SAME_SETTINGS = (
    "profile",
    "folds",
    "seed",
    "conflicts",
    "test_leaks",
    "positive_class",
    "preprocessing",
    "cv",
    "calibration",
    "precision",
)
#: Defaults written into a new baseline; the file is the authority afterwards.
#: ``large``: a fold mean that moves by more is worse (or improved) whatever
#: the test says. Three folds give a t-test two degrees of freedom: a drop of
#: 0.105 in balanced accuracy (cnn:none's folds replaced by cnn:oversample's)
#: gave p = 0.106 and passed. A baseline without it gets this default.
DEFAULT_TOLERANCE = {"absolute": 0.02, "p_value": 0.05, "large": 0.08}


@dataclass(frozen=True)
class Verdict:
    configuration: str
    metric: str
    baseline: float
    run: float
    p_value: float | None
    status: str  # improved | unchanged | worse

    @property
    def change(self) -> float:
        return self.run - self.baseline


def _fold_values(store: RunStore) -> dict[str, dict[str, list[float | None]]]:
    """configuration -> metric -> validation values in fold order."""
    records = sorted(
        (r for r in store.records() if not r.is_final),
        key=lambda record: record.fold,
    )
    return {
        str(configuration): {
            name: [record.metrics.validation[name] for record in group]
            for name in METRICS
        }
        for configuration, group in by_configuration(records).items()
    }


#: External-set figures the gate watches, from each configuration's final fit.
EXTERNAL_METRICS = ("melanoma_auc", "balanced_accuracy")


def _external_values(store: RunStore) -> dict[str, dict[str, dict[str, float]]]:
    """configuration -> external set -> metric -> its final fit's figure."""
    values: dict[str, dict[str, dict[str, float]]] = {}
    for record in store.records():
        if not record.is_final or record.external is None:
            continue
        values[str(record.configuration)] = {
            name: {metric: figures[metric] for metric in EXTERNAL_METRICS}
            for name, figures in record.external.items()
        }
    return values


def _external_verdicts(
    store: RunStore, baseline: dict, absent: list[str] = ()
) -> list[Verdict]:
    """One verdict per external figure of the baseline: a single final fit,
    so worse means below the baseline by more than the tolerance."""
    observed = _external_values(store)
    tolerance = baseline["tolerance"]["absolute"]
    verdicts = []
    for written, sets in baseline.get("external", {}).items():
        configuration = str(Configuration.parse(written))
        if configuration in absent:
            continue
        for name, metrics in sets.items():
            for metric, reference in metrics.items():
                run = observed.get(configuration, {}).get(name, {}).get(metric)
                if run is None and reference is not None:
                    raise UserError(
                        f"{store.run_dir}: {configuration} has no {name} figures, "
                        f"the baseline has; run it with --external {name}=PATH"
                    )
                if reference is None:
                    continue
                change = run - reference
                status = "unchanged"
                if change < -tolerance:
                    status = "worse"
                elif change > tolerance:
                    status = "improved"
                verdicts.append(
                    Verdict(
                        f"{configuration} on {name}",
                        metric,
                        reference,
                        run,
                        None,
                        status,
                    )
                )
    return verdicts


def make_baseline(store: RunStore) -> dict:
    """The baseline content of a finished run."""
    info = store.info()
    values = _fold_values(store)
    if not values:
        raise UserError(f"{store.run_dir}: no finished trials to make a baseline of")
    return {
        "format": FORMAT,
        "run_id": info.run_id,
        "dataset": info.dataset,
        "data_fingerprint": info.data_fingerprint,
        "config": portable(info.config.to_dict()),
        "versions": info.versions,
        "tolerance": DEFAULT_TOLERANCE,
        "metrics": values,
        **({"external": external} if (external := _external_values(store)) else {}),
    }


def _relative(path: str) -> str:
    """An absolute path as seen from the current folder."""
    if not os.path.isabs(path):
        return path
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive
        return path


def portable(config: dict) -> dict:
    """``config`` with its data, external and label-map paths relative to the
    current folder.

    Why: a baseline is committed and read by CI on other machines, from the
    repository's root as its command ran; a run records its paths absolute,
    which would name this machine's folders."""

    def source(text: str) -> str:
        name, equals, path = text.partition("=")
        return f"{name}={_relative(path)}" if equals else _relative(text)

    return {
        **config,
        "data": [source(text) for text in config.get("data") or ()],
        "external": [
            [name, _relative(path)] for name, path in config.get("external") or ()
        ],
        "label_map": config.get("label_map") and _relative(config["label_map"]),
    }


def read_baseline(path: Path) -> dict:
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"--baseline {path}: no such file") from None
    except ValueError as error:
        raise UserError(f"--baseline {path}: not JSON ({error})") from None
    if baseline.get("format") != FORMAT or "metrics" not in baseline:
        raise UserError(
            f"--baseline {path}: not a baseline file (format {FORMAT}); write one "
            "with 'compare RUN_DIR --baseline FILE --update'"
        )
    _check_tolerance(path, baseline.get("tolerance"))
    return baseline


def _with_large(tolerance: dict) -> dict:
    """The tolerance with ``large``: the file's, or the default (never below
    the file's ``absolute``) for a baseline written before it existed."""
    large = max(DEFAULT_TOLERANCE["large"], tolerance.get("absolute", 0.0))
    return {"large": large, **tolerance}


def _check_tolerance(path: Path, tolerance: object) -> None:
    """A tolerance that cannot fail (NaN, negative) or is missing would let
    every figure pass, or crash as a 'worse' exit: refuse it in one line."""
    fix = (
        f'; write e.g. "tolerance": {json.dumps(DEFAULT_TOLERANCE)} (absolute and '
        "large at least 0, large at least absolute, p_value in (0, 1])"
    )
    if not isinstance(tolerance, dict):
        raise UserError(f"--baseline {path}: no tolerance block{fix}")
    given = ("absolute", "p_value", *(("large",) if "large" in tolerance else ()))
    for name in given:
        value = tolerance.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"--baseline {path}: tolerance {name} {value!r}{fix}")
    values = _with_large(tolerance)
    absolute, p_value, large = values["absolute"], values["p_value"], values["large"]
    if not (0 <= absolute <= large and 0 < p_value <= 1):
        raise UserError(
            f"--baseline {path}: tolerance absolute {absolute}, p_value {p_value}, "
            f"large {large}{fix}"
        )


def not_compared(store: RunStore, baseline: dict) -> list[str]:
    """The baseline's configurations the run's grid leaves out (a run of some
    of its models or strategies), in the baseline's order: not compared."""
    grid = {str(item) for item in store.info().grid}
    return [
        str(Configuration.parse(written))
        for written in baseline["metrics"]
        if str(Configuration.parse(written)) not in grid
    ]


def not_in_baseline(store: RunStore, baseline: dict) -> list[str]:
    """The run's configurations the baseline has no figures for (a model or
    strategy added since it was written), in the run's order: unguarded."""
    guarded = {str(Configuration.parse(written)) for written in baseline["metrics"]}
    return [str(item) for item in store.info().grid if str(item) not in guarded]


def absent_text(store: RunStore, names: list[str]) -> str:
    """One line naming the baseline's configurations that are not compared:
    the models this run left out, else the configurations."""
    ran = {item.model for item in store.info().grid}
    models = [
        model
        for model in dict.fromkeys(Configuration.parse(name).model for name in names)
        if model not in ran
    ]
    why = (
        f"{'model' if len(models) == 1 else 'models'} {', '.join(models)} "
        "absent from this run"
        if models
        else "absent from this run's grid"
    )
    return (
        f"not compared: {', '.join(names)} ({why}, present in the baseline); "
        "the figures above cover the rest"
    )


def compare(store: RunStore, baseline: dict) -> list[Verdict]:
    """One verdict per (configuration, metric) of the baseline that the run's
    grid has (``not_compared`` names the rest).

    Raises UserError when the run cannot be compared: other data or settings,
    unfinished folds of a configuration it ran, or nothing in common.
    """
    info = store.info()
    # Defaults written out read as unsaid (--folds 3 on quick is no --folds),
    # and a baseline from an earlier version ran with the settings added since
    # at their defaults.
    config = normalised(info.config.to_dict())
    recorded = normalised(baseline["config"])
    differing = [name for name in SAME_SETTINGS if config[name] != recorded[name]]
    if differing:
        name = differing[0]
        raise UserError(
            f"{store.run_dir}: --{name.replace('_', '-')} "
            f"{config[name]} differs from the baseline's "
            f"{recorded[name]}; compare runs made with the same settings"
        )
    if info.data_fingerprint != baseline["data_fingerprint"]:
        raise UserError(
            f"{store.run_dir}: data fingerprint {info.data_fingerprint} differs "
            f"from the baseline's {baseline['data_fingerprint']}; compare runs on "
            "the same data"
        )
    values = _fold_values(store)
    tolerance = _with_large(baseline["tolerance"])
    absent = not_compared(store, baseline)
    if len(absent) == len(baseline["metrics"]):
        raise UserError(
            f"{store.run_dir}: none of the baseline's configurations "
            f"({', '.join(absent)}) is in this run's grid; compare a run of the "
            "same models"
        )
    verdicts = []
    for written, metrics in baseline["metrics"].items():
        configuration = str(Configuration.parse(written))
        if configuration in absent:
            continue
        for metric, reference in metrics.items():
            observed = values.get(configuration, {}).get(metric, [])
            if len(observed) != len(reference):
                raise UserError(
                    f"{store.run_dir}: {configuration} has {len(observed)} finished "
                    f"fold(s), the baseline {len(reference)}; finish the run (re-run "
                    "its command) or compare with another baseline"
                )
            base_mean = summarize(reference)["mean"]
            run_mean = summarize(observed)["mean"]
            if base_mean is None:
                continue
            if run_mean is None:
                # The baseline had the figure and the run has none left (NaN on
                # every fold): the model no longer produces it.
                verdicts.append(
                    Verdict(configuration, metric, base_mean, np.nan, None, "worse")
                )
                continue
            p_value = None
            if len(reference) >= 2:
                p_value = corrected_resampled_ttest(
                    [np.nan if v is None else v for v in observed],
                    [np.nan if v is None else v for v in reference],
                    test_fraction=1 / len(reference),
                )
            change = run_mean - base_mean
            real = p_value is None or p_value < tolerance["p_value"]
            if abs(change) > tolerance["large"] or (
                abs(change) > tolerance["absolute"] and real
            ):
                status = "worse" if change < 0 else "improved"
            else:
                status = "unchanged"
            verdicts.append(
                Verdict(configuration, metric, base_mean, run_mean, p_value, status)
            )
    return verdicts + _external_verdicts(store, baseline, absent)


def _widths(rows: list, least: tuple[int, int]) -> tuple[int, int]:
    """Column widths for the configuration and the metric: the longest name
    and two spaces, so that long names never run into the next column."""
    return (
        max([least[0], *(len(str(row.configuration)) + 2 for row in rows)]),
        max([least[1], *(len(row.metric) + 2 for row in rows)]),
    )


def to_text(verdicts: list[Verdict]) -> str:
    name, metric = _widths(verdicts, (26, 22))
    lines = [
        f"{'configuration':<{name}}{'metric':<{metric}}{'baseline':>9}{'run':>9}"
        f"{'change':>9}{'p':>8}  verdict"
    ]
    for verdict in verdicts:
        p = "-" if verdict.p_value is None else f"{verdict.p_value:.3f}"
        # A figure the run no longer produces (NaN on every fold) shows as "-".
        run, change = (
            ("-", "-")
            if np.isnan(verdict.run)
            else (f"{verdict.run:.3f}", f"{verdict.change:+.3f}")
        )
        lines.append(
            f"{verdict.configuration:<{name}}{verdict.metric:<{metric}}"
            f"{verdict.baseline:>9.3f}{run:>9}{change:>9}{p:>8}  {verdict.status}"
        )
    counts = {
        status: sum(v.status == status for v in verdicts)
        for status in ("worse", "unchanged", "improved")
    }
    lines.append(
        f"\n{counts['worse']} worse, {counts['unchanged']} unchanged, "
        f"{counts['improved']} improved"
    )
    return "\n".join(lines)


def write_baseline(store: RunStore, path: Path) -> dict:
    """Write the run's figures to path; an existing baseline's tolerance is kept,
    since it is a decision about the gate, not a figure of the run."""
    baseline = make_baseline(store)
    if path.exists():
        baseline["tolerance"] = read_baseline(path)["tolerance"]
    atomic_write_json(path, baseline)
    return baseline


#: The figures two runs are compared on: the leaderboard's ranking figures.
RUN_METRICS = RANKING


@dataclass(frozen=True)
class FigureChange:
    """One ranking figure of one configuration in two runs: fold means, B - A.
    (``findings.PairedDifference`` is two configurations of one run.)"""

    configuration: str
    metric: str
    first: float | None
    second: float | None
    folds: tuple[int, int]
    p_value: float | None

    @property
    def change(self) -> float | None:
        if self.first is None or self.second is None:
            return None
        return self.second - self.first


@dataclass(frozen=True)
class RunComparison:
    """Two runs side by side: what both ran, and what only one did."""

    first: Path
    second: Path
    paired: bool
    differences: list[FigureChange]
    only_first: list[str]
    only_second: list[str]
    settings: list[str]
    warning: str | None = None


def _by_fold(store: RunStore) -> dict[str, dict[str, dict[int, float | None]]]:
    """configuration -> metric -> fold -> validation figure."""
    folds = (record for record in store.records() if not record.is_final)
    return {
        str(configuration): {
            name: {record.fold: record.metrics.validation.get(name) for record in group}
            for name in RUN_METRICS
        }
        for configuration, group in by_configuration(folds).items()
    }


def _same_folds(first: RunStore, second: RunStore) -> str | None:
    """None when both runs drew the same folds from the same data, else why
    not (the reason the comparison is unpaired)."""
    a, b = first.info(), second.info()
    if a.data_fingerprint != b.data_fingerprint:
        return (
            f"the runs' data differ (fingerprints {a.data_fingerprint} and "
            f"{b.data_fingerprint})"
        )
    try:
        folds_a = first.manifest()[["sha256", "fold"]]
        folds_b = second.manifest()[["sha256", "fold"]]
    except (UserError, KeyError):
        return "a run's manifest.parquet cannot be read to match the folds"
    if not folds_a.reset_index(drop=True).equals(folds_b.reset_index(drop=True)):
        return (
            f"the runs drew other folds ({a.n_folds} and {b.n_folds}, seeds "
            f"{a.config.seed} and {b.config.seed})"
        )
    return None


def _welch_p(first: list[float], second: list[float]) -> float | None:
    """Two-sided p of Welch's t-test over the two runs' fold figures (folds
    not paired: other data or other folds)."""
    from scipy import stats

    if len(first) < 2 or len(second) < 2:
        return None
    if np.var(first) == 0 and np.var(second) == 0:
        return 1.0 if np.mean(first) == np.mean(second) else 0.0
    return float(stats.ttest_ind(first, second, equal_var=False).pvalue)


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _place(order: list[str], name: str) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


def compare_runs(first: RunStore, second: RunStore) -> RunComparison:
    """Every configuration both runs finished folds of, each ranking figure's
    change from ``first`` to ``second``: paired over the shared folds (the
    corrected resampled t-test) when both drew the same folds from the same
    data, else unpaired (Welch over the folds) with a warning."""
    a, b = first.info(), second.info()
    values_a, values_b = _by_fold(first), _by_fold(second)
    why_unpaired = _same_folds(first, second)
    paired = why_unpaired is None
    settings_a, settings_b = (
        normalised(a.config.to_dict()),
        normalised(b.config.to_dict()),
    )
    settings = [
        f"--{name.replace('_', '-')} {settings_a[name]} / {settings_b[name]}"
        for name in SAME_SETTINGS
        if settings_a[name] != settings_b[name]
    ]
    # In A's grid order, then B's.
    order = [str(item) for item in (*a.grid, *b.grid)]
    values_a = dict(sorted(values_a.items(), key=lambda item: _place(order, item[0])))
    values_b = dict(sorted(values_b.items(), key=lambda item: _place(order, item[0])))
    differences = []
    for configuration in [name for name in values_a if name in values_b]:
        for metric in RUN_METRICS:
            folds_a = values_a[configuration].get(metric, {})
            folds_b = values_b[configuration].get(metric, {})
            kept_a = [v for v in folds_a.values() if v is not None and not np.isnan(v)]
            kept_b = [v for v in folds_b.values() if v is not None and not np.isnan(v)]
            if paired:
                shared = sorted(set(folds_a) & set(folds_b))
                p_value = corrected_resampled_ttest(
                    [np.nan if folds_b[f] is None else folds_b[f] for f in shared],
                    [np.nan if folds_a[f] is None else folds_a[f] for f in shared],
                    test_fraction=1 / a.n_folds,
                )
            else:
                p_value = _welch_p(kept_a, kept_b)
            differences.append(
                FigureChange(
                    configuration,
                    metric,
                    _mean(kept_a),
                    _mean(kept_b),
                    (len(folds_a), len(folds_b)),
                    p_value,
                )
            )
    warning = None
    if not paired:
        warning = (
            f"warning: {why_unpaired}: the figures are compared unpaired (Welch "
            "over folds), which tells less than a paired test on the same folds"
        )
    return RunComparison(
        first.run_dir,
        second.run_dir,
        paired,
        differences,
        [name for name in values_a if name not in values_b],
        [name for name in values_b if name not in values_a],
        settings,
        warning,
    )


def runs_to_text(comparison: RunComparison) -> str:
    """The terminal table of ``compare RUN_A RUN_B``."""
    how = (
        "paired over the same folds (corrected resampled t-test)"
        if comparison.paired
        else "unpaired (Welch over folds)"
    )
    lines = [f"A: {comparison.first}", f"B: {comparison.second}"]
    if comparison.warning:
        lines.append(comparison.warning)
    if comparison.settings:
        lines.append(f"settings that differ (A / B): {'; '.join(comparison.settings)}")
    lines.append(f"B - A, fold means, {how}:")
    name, metric = _widths(comparison.differences, (26, 40))
    lines.append(
        f"{'configuration':<{name}}{'metric':<{metric}}{'A':>7}{'B':>7}{'B - A':>8}"
        f"{'p':>8}  folds"
    )

    def number(value: float | None, form: str) -> str:
        return "-" if value is None else format(value, form)

    for item in comparison.differences:
        lines.append(
            f"{item.configuration:<{name}}{item.metric:<{metric}}"
            f"{number(item.first, '.3f'):>7}{number(item.second, '.3f'):>7}"
            f"{number(item.change, '+.3f'):>8}{number(item.p_value, '.3f'):>8}"
            f"  {item.folds[0]}/{item.folds[1]}"
        )
    if not comparison.differences:
        lines.append("(no configuration with finished folds in both runs)")
    for side, names in (("A", comparison.only_first), ("B", comparison.only_second)):
        if names:
            lines.append(f"only in {side} (not compared): {', '.join(names)}")
    return "\n".join(lines)
