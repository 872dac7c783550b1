"""Does it carry over? Each configuration's cross-validated, Test and external
figures side by side, with the decision ``train`` would make.

The external sensitivity and specificity are taken at the melanoma threshold
chosen from the run's out-of-fold scores, as ``train`` chooses it, never from
the external set itself; intervals resample whole lesions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.core.errors import UserError
from benchmarks.data.external import DROP_FINDING, bootstrap
from benchmarks.grid.configuration import Trial
from benchmarks.grid.record import TrialRecord
from benchmarks.grid.store import RunInfo, RunStore, out_of_fold_scores
from benchmarks.scoring.threshold import (
    TARGET_SENSITIVITY,
    choose_operating_point,
    threshold_for_sensitivity,
)


def _external_rows(store: RunStore, name: str) -> pd.DataFrame:
    return store.manifest(name)


def generalization_table(
    store: RunStore, info: RunInfo, board: pd.DataFrame, records: list[TrialRecord]
) -> pd.DataFrame:
    """One row per (configuration, external set) whose final fit scored it."""
    finals = {r.key: r for r in records if r.is_final and r.external}
    if not finals:
        return pd.DataFrame()
    table = store.manifest()
    labels = table["label"].astype(str).to_numpy()
    column = info.classes.index(info.positive)
    cv = table["fold"].to_numpy() >= 0
    externals = {name: _external_rows(store, name) for name in info.external_names}
    rows = []
    for row in board.to_dict("records"):
        key = Trial(row["model"], row["strategy"], None).key
        if key not in finals:
            continue
        try:
            oof = out_of_fold_scores(
                store, table, row["model"], row["strategy"], column
            )
        except UserError:  # folds not finished: no threshold to carry over
            continue
        point = choose_operating_point(
            labels[cv] == info.positive,
            oof[cv],
            TARGET_SENSITIVITY,
            seed=info.config.seed,
        )
        scores = store.scores(key)
        for name, figures in finals[key].external.items():
            external = externals[name]
            is_positive = external["label"].to_numpy() == info.positive
            score = scores[f"external_{name}_proba"][:, column]
            flagged = score >= point.threshold
            intervals = bootstrap(
                is_positive,
                score,
                flagged,
                external["group"].astype(str).to_numpy(),
                seed=info.config.seed,
            )
            cv_auc = row["melanoma_auc_mean"]
            auc = figures["melanoma_auc"]
            rows.append(
                {
                    "configuration": row["configuration"],
                    "model": row["model"],
                    "strategy": row["strategy"],
                    "external": name,
                    "n": figures["n"],
                    "n_melanoma": figures["n_melanoma"],
                    "cv_melanoma_auc": cv_auc,
                    "test_melanoma_auc": row["test_melanoma_auc"],
                    "melanoma_auc": auc,
                    "melanoma_auc_ci": intervals["melanoma_auc"],
                    "melanoma_sensitivity_at_80_specificity": figures[
                        "melanoma_sensitivity_at_80_specificity"
                    ],
                    "balanced_accuracy": figures["balanced_accuracy"],
                    "ece": figures["ece"],
                    "threshold": point.threshold,
                    "sensitivity": float(flagged[is_positive].mean()),
                    "sensitivity_ci": intervals["sensitivity"],
                    "specificity": float((~flagged[~is_positive]).mean()),
                    "specificity_ci": intervals["specificity"],
                    "auc_drop": None if cv_auc is None or auc is None else cv_auc - auc,
                    "train_val_gap": row["train_val_gap_mean"],
                }
            )
    return pd.DataFrame(rows)


def findings(table: pd.DataFrame) -> list[str]:
    """Sentences for the top of the report: where CV figures do not carry over."""
    if table.empty:
        return []
    sentences = []
    for name, group in table.groupby("external", sort=False):
        dropped = group[group["auc_drop"].astype(float) > DROP_FINDING]
        if dropped.empty:
            continue
        worst = dropped.loc[dropped["auc_drop"].astype(float).idxmax()]
        low, high = worst["melanoma_auc_ci"] or (np.nan, np.nan)
        sentences.append(
            f"On {name}, melanoma AUC falls by more than {DROP_FINDING:.2f} from "
            f"cross-validation for {len(dropped)} of {len(group)} configurations; "
            f"worst {worst['configuration']}: {worst['cv_melanoma_auc']:.3f} in "
            f"cross-validation, {worst['melanoma_auc']:.3f} [95% CI {low:.3f}, "
            f"{high:.3f}] on {name}. Cross-validated figures on this data do not "
            "carry over to these images."
        )
    return sentences


#: A site's threshold, two ways: carried over from the other sources, and set
#: on the site's own scores (leaderboard columns held_out_NAME_...).
SITE_THRESHOLD_FIGURES = (
    "carried_sensitivity",
    "carried_specificity",
    "own_sensitivity",
    "own_specificity",
)


def _operating(
    is_positive: np.ndarray, score: np.ndarray, threshold: float | None
) -> tuple[float | None, float | None]:
    """Sensitivity and specificity of flagging ``score >= threshold``."""
    if threshold is None:
        return None, None
    flagged = score >= threshold
    sensitivity = float(flagged[is_positive].mean()) if is_positive.any() else None
    negative = ~is_positive
    specificity = float((~flagged[negative]).mean()) if negative.any() else None
    return sensitivity, specificity


def _threshold(is_positive: np.ndarray, score: np.ndarray) -> float | None:
    """The melanoma threshold ``train`` would save from these scores (flag
    ``TARGET_SENSITIVITY`` of the melanomas); None without a melanoma."""
    if not is_positive.any():
        return None
    return threshold_for_sensitivity(score[is_positive], TARGET_SENSITIVITY)


def site_thresholds(
    store: RunStore, info: RunInfo, records: list[TrialRecord]
) -> dict[tuple[str, int], dict]:
    """Leave-source-out: for each (configuration, fold), the held-out source's
    sensitivity and specificity at the threshold carried over from the other
    sources (set as ``train`` sets its saved one, on their out-of-fold
    scores) and at the threshold the same rule sets on its own scores.

    Why: a clinic gets the carried-over threshold; its own is what it would
    get by setting the threshold on its own labelled images. The gap between
    the two is what a new site loses by not calibrating.
    """
    if not info.leave_source_out:
        return {}
    table = store.manifest()
    is_melanoma = table["label"].astype(str).to_numpy() == info.positive
    column = info.classes.index(info.positive)
    by_configuration: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {}
    for record in records:
        if record.is_final:
            continue
        scores = store.scores(record.key)
        rows = np.asarray(scores["evaluation_rows"])
        configuration = str(record.configuration)
        by_configuration.setdefault(configuration, {})[record.fold] = (
            rows,
            np.asarray(scores["evaluation_proba"][:, column], dtype=float),
        )
    figures = {}
    for configuration, folds in by_configuration.items():
        for fold, (rows, score) in folds.items():
            others = [other for key, other in folds.items() if key != fold]
            is_positive = is_melanoma[rows]
            carried = None
            if others:
                carried = _threshold(
                    np.concatenate([is_melanoma[r] for r, _ in others]),
                    np.concatenate([s for _, s in others]),
                )
            own = _threshold(is_positive, score)
            carried_figures = _operating(is_positive, score, carried)
            own_figures = _operating(is_positive, score, own)
            figures[configuration, fold] = {
                "carried_threshold": carried,
                "own_threshold": own,
                **dict(
                    zip(
                        SITE_THRESHOLD_FIGURES,
                        (*carried_figures, *own_figures),
                        strict=True,
                    )
                ),
            }
    return figures


def with_site_thresholds(
    board: pd.DataFrame, store: RunStore, info: RunInfo, records: list[TrialRecord]
) -> pd.DataFrame:
    """``board`` with held_out_NAME_carried_sensitivity (and _specificity,
    own_sensitivity, own_specificity) per held-out source; unchanged outside
    leave-source-out runs."""
    figures = site_thresholds(store, info, records)
    if not figures or board.empty:
        return board
    columns = {
        f"held_out_{name}_{figure}": [
            figures.get((configuration, fold), {}).get(figure)
            for configuration in board["configuration"]
        ]
        for fold, name in enumerate(info.sources)
        for figure in SITE_THRESHOLD_FIGURES
    }
    return board.assign(**columns)


def held_out_table(
    store: RunStore, info: RunInfo, board: pd.DataFrame, records: list[TrialRecord]
) -> pd.DataFrame:
    """Leave-source-out: one row per (configuration, held-out source), the
    figures of the model trained on the other sources, with a 95% interval of
    melanoma AUC resampling whole lesions."""
    if not info.leave_source_out:
        return pd.DataFrame()
    table = store.manifest()
    labels = table["label"].astype(str).to_numpy()
    groups = table["group"].astype(str).to_numpy()
    column = info.classes.index(info.positive)
    configurations = set(board["configuration"])
    thresholds = site_thresholds(store, info, records)
    rows = []
    for record in records:
        configuration = record.configuration
        if record.is_final or str(configuration) not in configurations:
            continue
        held_out = info.sources[record.fold]
        scores = store.scores(record.key)
        evaluated = scores["evaluation_rows"]
        is_positive = labels[evaluated] == info.positive
        figures = record.metrics.validation
        site = thresholds.get((str(configuration), record.fold), {})
        score = np.asarray(scores["evaluation_proba"][:, column], dtype=float)
        carried = site.get("carried_threshold")
        intervals: dict = {}
        if is_positive.any() and not is_positive.all():
            intervals = bootstrap(
                is_positive,
                score,
                np.zeros(len(evaluated), dtype=bool)
                if carried is None
                else score >= carried,
                groups[evaluated],
                seed=info.config.seed,
            )
        rows.append(
            {
                "configuration": str(configuration),
                "model": record.model,
                "held_out": held_out,
                "trained_on": " + ".join(s for s in info.sources if s != held_out),
                "n": len(evaluated),
                "n_melanoma": int(is_positive.sum()),
                "melanoma_auc": figures["melanoma_auc"],
                "melanoma_auc_ci": intervals.get("melanoma_auc"),
                "melanoma_sensitivity_at_80_specificity": figures[
                    "melanoma_sensitivity_at_80_specificity"
                ],
                "balanced_accuracy": figures["balanced_accuracy"],
                **{name: site.get(name) for name in SITE_THRESHOLD_FIGURES},
                "carried_sensitivity_ci": intervals.get("sensitivity")
                if carried is not None
                else None,
                "carried_specificity_ci": intervals.get("specificity")
                if carried is not None
                else None,
            }
        )
    order = {name: index for index, name in enumerate(board["configuration"])}
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["_order"] = frame["configuration"].map(order)
    return frame.sort_values(["_order", "held_out"]).drop(columns="_order")


def family_by_source(
    held_out: pd.DataFrame, sources: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Leave-source-out: each family's best melanoma AUC (over its strategies)
    on each held-out source, families as rows in leaderboard order, sources as
    columns; which family wins on which source is each column's maximum."""
    if held_out.empty:
        return pd.DataFrame()
    auc = held_out.assign(melanoma_auc=held_out["melanoma_auc"].astype(float))
    table = auc.pivot_table(
        index="model", columns="held_out", values="melanoma_auc", aggfunc="max"
    )
    families = list(dict.fromkeys(held_out["model"]))
    shown = [name for name in sources if name in set(held_out["held_out"])]
    return table.reindex(
        index=families, columns=shown or list(dict.fromkeys(held_out["held_out"]))
    )
