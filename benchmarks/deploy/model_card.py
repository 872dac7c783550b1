"""MODEL_CARD.md: what a model folder is for and how far to trust it, in plain
words, written by ``train`` from model.json alone.

Every figure in the card is read from model.json, so the card never says
more than the folder records, and a test can read each figure back.
"""

from __future__ import annotations

from collections.abc import Iterable

MODEL_CARD = "MODEL_CARD.md"


def _interval(values: Iterable[float] | None) -> str:
    if not values:
        return ""
    low, high = values
    return f" [95% CI {low:.3f}, {high:.3f}]"


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _sources(metadata: dict) -> list[str]:
    training = metadata["training"]
    by_source = training.get("class_counts_by_source") or {}
    lines = [
        f"Trained on {training['images']} images (the run's cross-validation "
        f"images; its Test split was held out) from {training['dataset']}."
    ]
    if not by_source:
        by_source = {"all sources": training["class_counts"]}
    lines += ["", "| source | images | classes |", "|---|---|---|"]
    for source, counts in by_source.items():
        shown = ", ".join(f"{name} {count}" for name, count in counts.items())
        lines.append(f"| {source} | {sum(counts.values())} | {shown} |")
    return lines


def _shortcuts(metadata: dict) -> list[str]:
    audit = metadata.get("shortcut_audit")
    if not audit:
        return ["The run recorded no shortcut audit."]
    probes = ", ".join(
        f"{name} {auc:.2f}" for name, auc in audit["probe_melanoma_auc"].items()
    )
    if audit["flagged"]:
        verdict = (
            f"Flagged: the {', '.join(audit['flagged'])} probe(s) predict melanoma "
            "without looking at the lesion (a probe is a small model that sees "
            "only what is not the lesion: the colour around it, the frame and "
            "corners, or the file's format; melanoma AUC at or above "
            f"{audit['warning_auc']:.2f}), so figures measured on this data may "
            "not carry over to other clinics' images."
        )
    else:
        verdict = (
            "Not flagged: no probe (a small model that sees only what is not "
            "the lesion: the colour around it, the frame and corners, or the "
            "file's format) "
            f"reached melanoma AUC {audit['warning_auc']:.2f}."
        )
    return [verdict, "", f"Probes' melanoma AUC: {probes}."]


def _figures(metadata: dict) -> list[str]:
    evaluation = metadata.get("evaluation") or {}
    held_out, external = evaluation.get("held_out", []), evaluation.get("external", [])
    if not held_out and not external:
        return [
            "The run had neither several sources nor external sets: the only "
            "figures are its own cross-validation, which says how the model does "
            "on more images like its training images, not on another clinic's."
        ]
    lines = []
    if held_out:
        milder = (
            " With two sources, the other source's held-out scores came from a "
            "model trained on this one, so this is a milder test than a new site."
            if len(held_out) == 2
            else ""
        )
        lines += [
            "Leave-source-out: each source scored by this configuration trained "
            "on the other sources only (lesion-level bootstrap intervals). "
            "Sensitivity and specificity are at the threshold set by the rule "
            "below on the other sources' held-out scores, as a threshold is "
            f"carried to a new site.{milder}",
            "",
            "| held-out source | trained on | images (melanomas) | melanoma AUC | "
            "sensitivity | specificity |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {row['held_out']} | {row['trained_on']} | {row['n']} "
            f"({row['n_melanoma']}) | {_figure(row['melanoma_auc'])}"
            f"{_interval(row['melanoma_auc_ci'])} | "
            f"{_figure(row.get('carried_sensitivity'))}"
            f"{_interval(row.get('carried_sensitivity_ci'))} | "
            f"{_figure(row.get('carried_specificity'))}"
            f"{_interval(row.get('carried_specificity_ci'))} |"
            for row in held_out
        ]
        lines += [
            "",
            "A source's image count here can differ from the training table's: "
            "a copy of an image found in two sources, with the other photos of "
            "its lesion, is held out with the first source that has it, so that "
            "no fold trains on what it scores.",
            "",
        ]
    if external:
        lines += [
            "External sets, scored by this very model's fit and never trained "
            "on; sensitivity and specificity at the saved threshold, unchanged:",
            "",
            "| external set | images (melanomas) | melanoma AUC | sensitivity | "
            "specificity |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {row['external']} | {row['n']} ({row['n_melanoma']}) | "
            f"{_figure(row['melanoma_auc'])}{_interval(row['melanoma_auc_ci'])} | "
            f"{_figure(row['sensitivity'])}{_interval(row['sensitivity_ci'])} | "
            f"{_figure(row['specificity'])}{_interval(row['specificity_ci'])} |"
            for row in external
        ]
    return lines


def _threshold(metadata: dict) -> list[str]:
    point = metadata["threshold"]
    positive = metadata["positive_class"]
    low, high = point["specificity_ci"]
    return [
        f"URGENT at {positive} probability >= {point['threshold']:.4f}. It was "
        f"set on the run's out-of-fold scores (each image scored by a fold model "
        f"that did not train on it) as the highest score that flags at least "
        f"{point['target_sensitivity']:.0%} of the {point['n_positive']} "
        f"{positive} images; it flagged {point['sensitivity']:.1%} of them and "
        f"left {point['specificity']:.1%} [95% CI {low:.1%}, {high:.1%}] of "
        f"{point['n_negative']} others unflagged.",
        "",
        "This holds for images like the training images. At a new site, set the "
        "site's own threshold from a few dozen labelled images "
        "(`triage --calibrate FILE`), or flag the top of the list "
        '(`triage --flag-top N`); docs/triage.md, "Using a model at a new site".',
    ]


def _chosen(metadata: dict) -> str:
    rule = metadata["selection"]["rule"]
    if rule == "--config":
        return "chosen by --config"
    return f"chosen as the best by {rule}"


def model_card(metadata: dict) -> str:
    """MODEL_CARD.md's text for the model that ``metadata`` (model.json) describes."""
    configuration = f"{metadata['model']}:{metadata['strategy']}"
    training = metadata["training"]
    lines = [
        f"# Model card: {configuration}",
        "",
        f"Made by melanoma-bench `train` from run {training['run_id']} "
        f"(profile {training['profile']}, seed {training['seed']}, "
        f"cross-validation {training['cross_validation']}); {_chosen(metadata)}.",
        "",
        "## Intended use",
        "",
        "Ordering a dermatologist's review of dermoscopic images, likely "
        "melanomas first (`triage`). It is decision support, not a diagnosis: "
        "every image still needs a dermatologist's review, and an image it does "
        "not flag is not thereby benign. Not for clinical images taken without "
        "a dermoscope, nor for patients' self-photos.",
    ]
    if training.get("synthetic"):
        lines += [
            "",
            "**Not for clinical use: trained on synthetic data.** It has never "
            "seen a real lesion.",
        ]
    lines += ["", "## Training data", "", *_sources(metadata)]
    lines += ["", "## Shortcut audit", "", *_shortcuts(metadata)]
    lines += ["", "## How well it carries over", "", *_figures(metadata)]
    lines += ["", "## The URGENT threshold", "", *_threshold(metadata)]
    lines += [
        "",
        "## Known failures",
        "",
        "What the suite's families have done on its development data "
        "(docs/generalization.md), not figures of this model; the figures above "
        "are this model's.",
        "",
        "- **New sites.** Another clinic's dermoscope, light and patients change "
        "the scores: on images from a clinic the training data lacked, the "
        "suite's models have ranked melanomas much worse than in "
        "cross-validation, and a threshold carried over from the training "
        "images has flagged nearly every image (specificity below 0.10). "
        "`triage` warns when the images look unlike the training images; then "
        "trust neither the threshold nor the figures above until the site's "
        "own labelled images confirm them.",
        "- **Excised nevi.** Nevi that were cut out because they looked "
        "suspicious are the hard cases: against them, the suite's models have "
        "ranked melanomas barely better than chance (AUC about 0.56-0.67). "
        "Expect such nevi to be flagged, and melanomas that look like them to "
        "be missed.",
        "- **Classes it never saw.** An image of a kind its training data lacks "
        "gets one of the training classes anyway.",
    ]
    return "\n".join(lines) + "\n"
