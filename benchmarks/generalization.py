"""Does it carry over? Each configuration's cross-validated, Test and external
figures side by side, with the decision ``train`` would make.

The external sensitivity and specificity are taken at the melanoma threshold
chosen from the run's out-of-fold scores, as ``train`` chooses it, never from
the external set itself; intervals resample whole lesions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.configuration import Configuration, Trial
from benchmarks.errors import UserError
from benchmarks.external import DROP_FINDING, bootstrap
from benchmarks.store import RunInfo, RunStore
from benchmarks.threshold import TARGET_SENSITIVITY, choose_operating_point
from benchmarks.training import out_of_fold_scores


def _external_rows(store: RunStore, name: str) -> pd.DataFrame:
    return store.manifest(name)


def generalization_table(
    store: RunStore, info: RunInfo, board: pd.DataFrame, records: list[dict]
) -> pd.DataFrame:
    """One row per (configuration, external set) whose final fit scored it."""
    finals = {r["key"]: r for r in records if r["fold"] == "final" and "external" in r}
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
        for name, figures in finals[key]["external"].items():
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


def held_out_table(
    store: RunStore, info: RunInfo, board: pd.DataFrame, records: list[dict]
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
    rows = []
    for record in records:
        configuration = Configuration(record["model"], record["strategy"])
        if record["fold"] == "final" or str(configuration) not in configurations:
            continue
        held_out = info.sources[record["fold"]]
        scores = store.scores(record["key"])
        evaluated = scores["evaluation_rows"]
        is_positive = labels[evaluated] == info.positive
        figures = record["metrics"]["validation"]
        interval = None
        if is_positive.any() and not is_positive.all():
            interval = bootstrap(
                is_positive,
                scores["evaluation_proba"][:, column],
                np.zeros(len(evaluated), dtype=bool),
                groups[evaluated],
                seed=info.config.seed,
            )["melanoma_auc"]
        rows.append(
            {
                "configuration": str(configuration),
                "held_out": held_out,
                "trained_on": " + ".join(s for s in info.sources if s != held_out),
                "n": len(evaluated),
                "n_melanoma": int(is_positive.sum()),
                "melanoma_auc": figures["melanoma_auc"],
                "melanoma_auc_ci": interval,
                "melanoma_sensitivity_at_80_specificity": figures[
                    "melanoma_sensitivity_at_80_specificity"
                ],
                "balanced_accuracy": figures["balanced_accuracy"],
            }
        )
    order = {name: index for index, name in enumerate(board["configuration"])}
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["_order"] = frame["configuration"].map(order)
    return frame.sort_values(["_order", "held_out"]).drop(columns="_order")
