"""The regression gate: a run's fold metrics against a committed baseline.

A baseline file records what a run of a given config on given data scored, per
(model, strategy) and metric: the fold values, and the tolerance a later run
may fall short by. A later run is worse on a metric when its fold mean drops by
more than the tolerance and, with several folds, a paired test over the same
folds says the drop is real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.cache import atomic_write_json
from benchmarks.config import with_later_defaults
from benchmarks.configuration import Configuration
from benchmarks.errors import UserError
from benchmarks.metrics import corrected_resampled_ttest, summarize
from benchmarks.store import RunStore

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
)
#: Defaults written into a new baseline; the file is the authority afterwards.
DEFAULT_TOLERANCE = {"absolute": 0.02, "p_value": 0.05}


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
    values: dict[str, dict[str, list]] = {}
    records = sorted(
        (r for r in store.records() if r["fold"] != "final"),
        key=lambda record: record["fold"],
    )
    for record in records:
        configuration = str(Configuration(record["model"], record["strategy"]))
        metrics = values.setdefault(configuration, {})
        for name in METRICS:
            metrics.setdefault(name, []).append(record["metrics"]["validation"][name])
    return values


#: External-set figures the gate watches, from each configuration's final fit.
EXTERNAL_METRICS = ("melanoma_auc", "balanced_accuracy")


def _external_values(store: RunStore) -> dict[str, dict[str, dict[str, float]]]:
    """configuration -> external set -> metric -> its final fit's figure."""
    values: dict[str, dict[str, dict[str, float]]] = {}
    for record in store.records():
        if record["fold"] != "final" or "external" not in record:
            continue
        configuration = str(Configuration(record["model"], record["strategy"]))
        values[configuration] = {
            name: {metric: figures[metric] for metric in EXTERNAL_METRICS}
            for name, figures in record["external"].items()
        }
    return values


def _external_verdicts(store: RunStore, baseline: dict) -> list[Verdict]:
    """One verdict per external figure of the baseline: a single final fit,
    so worse means below the baseline by more than the tolerance."""
    observed = _external_values(store)
    tolerance = baseline["tolerance"]["absolute"]
    verdicts = []
    for written, sets in baseline.get("external", {}).items():
        configuration = str(Configuration.parse(written))
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
        "config": info.config.to_dict(),
        "versions": info.versions,
        "tolerance": DEFAULT_TOLERANCE,
        "metrics": values,
        **({"external": external} if (external := _external_values(store)) else {}),
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
    return baseline


def compare(store: RunStore, baseline: dict) -> list[Verdict]:
    """One verdict per (configuration, metric) of the baseline.

    Raises UserError when the run cannot be compared: other data, or trials the
    baseline has and the run lacks.
    """
    info = store.info()
    config = info.config.to_dict()
    # A baseline from an earlier version ran with the settings added since at
    # their defaults.
    recorded = with_later_defaults(baseline["config"])
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
    tolerance = baseline["tolerance"]
    verdicts = []
    for written, metrics in baseline["metrics"].items():
        configuration = str(Configuration.parse(written))
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
            if base_mean is None or run_mean is None:
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
            if change < -tolerance["absolute"] and real:
                status = "worse"
            elif change > tolerance["absolute"] and real:
                status = "improved"
            else:
                status = "unchanged"
            verdicts.append(
                Verdict(configuration, metric, base_mean, run_mean, p_value, status)
            )
    return verdicts + _external_verdicts(store, baseline)


def to_text(verdicts: list[Verdict]) -> str:
    lines = [
        f"{'configuration':<26}{'metric':<22}{'baseline':>9}{'run':>9}"
        f"{'change':>9}{'p':>8}  verdict"
    ]
    for verdict in verdicts:
        p = "-" if verdict.p_value is None else f"{verdict.p_value:.3f}"
        lines.append(
            f"{verdict.configuration:<26}{verdict.metric:<22}{verdict.baseline:>9.3f}"
            f"{verdict.run:>9.3f}{verdict.change:>+9.3f}{p:>8}  {verdict.status}"
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
