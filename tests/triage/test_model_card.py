"""MODEL_CARD.md: train writes it into the model folder, checksummed, and every
figure in it is one model.json records."""

from __future__ import annotations

import json
import re

from benchmarks.deploy.model_card import MODEL_CARD, model_card
from benchmarks.deploy.model_dir import load_model


def _metadata(folder) -> dict:
    return json.loads((folder / "model.json").read_text("utf-8"))


def test_train_writes_the_card_and_checksums_it(xgb_only_model):
    card = (xgb_only_model / MODEL_CARD).read_text("utf-8")
    sums = (xgb_only_model / "SHA256SUMS").read_text("utf-8")
    assert f"  {MODEL_CARD}\n" in sums
    assert card == model_card(_metadata(xgb_only_model))
    load_model(xgb_only_model)  # the card is part of a valid folder


def test_the_card_states_model_json_figures(xgb_only_model):
    metadata = _metadata(xgb_only_model)
    card = (xgb_only_model / MODEL_CARD).read_text("utf-8")
    point = metadata["threshold"]
    assert f">= {point['threshold']:.4f}" in card
    low, high = point["specificity_ci"]
    assert f"{point['specificity']:.1%} [95% CI {low:.1%}, {high:.1%}]" in card
    assert f"of the {point['n_positive']} melanoma images" in card
    for source, counts in metadata["training"]["class_counts_by_source"].items():
        shown = ", ".join(f"{name} {count}" for name, count in counts.items())
        assert f"| {source} | {sum(counts.values())} | {shown} |" in card
    audit = metadata["shortcut_audit"]
    for name, auc in audit["probe_melanoma_auc"].items():
        assert f"{name} {auc:.2f}" in card
    for heading in ("Intended use", "Shortcut audit", "Known failures"):
        assert f"## {heading}" in card
    assert "New sites" in card and "Excised nevi" in card
    assert "not figures of this model" in card


def _with_evaluation(metadata: dict) -> dict:
    metadata = json.loads(json.dumps(metadata))
    metadata["evaluation"] = {
        "held_out": [
            {
                "held_out": "clinic-b",
                "trained_on": "clinic-a",
                "n": 400,
                "n_melanoma": 90,
                "melanoma_auc": 0.8123,
                "melanoma_auc_ci": [0.7651, 0.8544],
                "carried_sensitivity": 0.9667,
                "carried_sensitivity_ci": [0.91, 1.0],
                "carried_specificity": 0.117,
                "carried_specificity_ci": [0.09, 0.15],
            }
        ],
        "external": [
            {
                "external": "atlas",
                "n": 300,
                "n_melanoma": 70,
                "melanoma_auc": 0.7012,
                "melanoma_auc_ci": [0.6411, 0.7589],
                "threshold": 0.2,
                "sensitivity": 0.9,
                "sensitivity_ci": [0.82, 0.96],
                "specificity": 0.31,
                "specificity_ci": [0.25, 0.37],
            }
        ],
    }
    return metadata


def test_held_out_and_external_figures_come_with_their_intervals(xgb_only_model):
    card = model_card(_with_evaluation(_metadata(xgb_only_model)))
    assert (
        "| clinic-b | clinic-a | 400 (90) | 0.812 [95% CI 0.765, 0.854] | "
        "0.967 [95% CI 0.910, 1.000] | 0.117 [95% CI 0.090, 0.150] |"
    ) in card
    assert "milder test" not in card
    two = _with_evaluation(_metadata(xgb_only_model))
    held_out = two["evaluation"]["held_out"]
    held_out.append({**held_out[0], "held_out": "clinic-a", "trained_on": "clinic-b"})
    assert (
        "With two sources, the other source's held-out scores came from a model "
        "trained on this one" in model_card(two)
    )
    # A folder written before these columns were kept still gets its card.
    older = _with_evaluation(_metadata(xgb_only_model))
    for name in ("sensitivity", "specificity"):
        del older["evaluation"]["held_out"][0][f"carried_{name}"]
        del older["evaluation"]["held_out"][0][f"carried_{name}_ci"]
    assert "| 0.812 [95% CI 0.765, 0.854] | n/a | n/a |" in model_card(older)
    assert (
        "| atlas | 300 (70) | 0.701 [95% CI 0.641, 0.759] | "
        "0.900 [95% CI 0.820, 0.960] | 0.310 [95% CI 0.250, 0.370] |"
    ) in card


def test_without_other_sources_the_card_says_so(xgb_only_model):
    metadata = _metadata(xgb_only_model)
    assert metadata["evaluation"] == {"held_out": [], "external": []}
    card = (xgb_only_model / MODEL_CARD).read_text("utf-8")
    assert "neither several sources nor external sets" in card
    # Every number in the card is one model.json holds (or a fixed fact).
    assert not re.search(r"\bnan\b", card)
