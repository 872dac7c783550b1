"""Generalization: each configuration's final fit scored on external sets it
never saw, beside its cross-validated and Test figures."""

from __future__ import annotations

from sklearn.metrics import roc_curve

from benchmarks.grid.store import RunStore
from benchmarks.scoring.threshold import TARGET_SENSITIVITY
from reports._figures import _best_per_family, _png, colours, plt
from reports._section import Section
from reports._tables import RunTables
from reports.sections._cells import _interval, _sortable

#: The generalization table's cells: (shown as, column, its interval column).
_GENERALIZATION_CELLS = (
    ("cv", "cv_melanoma_auc", None),
    ("test", "test_melanoma_auc", None),
    ("auc", "melanoma_auc", "melanoma_auc_ci"),
    ("drop", "auc_drop", None),
    ("gap", "train_val_gap", None),
    ("sensitivity", "sensitivity", "sensitivity_ci"),
    ("specificity", "specificity", "specificity_ci"),
    ("balanced", "balanced_accuracy", None),
)


def _generalization_rows(tables: RunTables) -> list[dict]:
    rows = []
    for row in tables.generalization.to_dict("records"):
        shown = {
            name: row[name] for name in ("configuration", "external", "n", "n_melanoma")
        }
        for name, column, interval in _GENERALIZATION_CELLS:
            shown[name] = _interval(row[column], row[interval] if interval else None)
            shown[f"{name}_sort"] = _sortable(row[column])
        rows.append(shown)
    return rows


def external_curves(tables: RunTables, store: RunStore) -> str:
    """Melanoma ROC curves on each external set of each family's best
    configuration (by the leaderboard's rule), one panel per set."""
    table = tables.generalization
    if table.empty:
        return ""
    best = set(_best_per_family(tables))
    names = list(dict.fromkeys(table["external"]))
    palette = colours(tables.models)
    positive = tables.classes.index(tables.positive)
    figure, axes = plt.subplots(
        1,
        len(names),
        figsize=(5.2 * len(names), 4.4),
        squeeze=False,
        layout="constrained",
    )
    for axis, name in zip(axes.flat, names, strict=True):
        labels = store.manifest(name)
        truth = labels["label"].to_numpy() == tables.positive
        for row in table[table["external"] == name].itertuples():
            if (row.model, row.strategy) not in best or row.melanoma_auc is None:
                continue
            key = f"{row.model}__{row.strategy}__final"
            score = store.scores(key)[f"external_{name}_proba"][:, positive]
            fpr, tpr, _ = roc_curve(truth, score)
            axis.plot(
                fpr,
                tpr,
                color=palette[row.model],
                label=f"{row.configuration} (AUC {row.melanoma_auc:.3f})",
            )
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":")
        axis.set_xlabel("1 - specificity")
        axis.set_ylabel("sensitivity")
        axis.set_title(f"{tables.positive} on {name}", fontsize=10)
        axis.legend(fontsize=8, loc="lower right")
        axis.grid(alpha=0.3)
    return _png(figure)


def context(tables: RunTables, store: RunStore) -> dict | None:
    rows = _generalization_rows(tables)
    if not rows:
        return None
    return {
        "external_sets": [
            {
                "name": name,
                "scored": facts["scored"],
                "dropped": facts["in_training_data"],
            }
            for name, facts in tables.audit.get("external", {}).items()
        ],
        "target_sensitivity": f"{TARGET_SENSITIVITY:.0%}",
        "rows": rows,
        "curves": external_curves(tables, store),
    }


SECTION = Section("generalization", "Generalization", "generalization.html", context)
