"""A site's URGENT threshold: set from its labelled images (--calibrate), or the
top of the list (--flag-top); and a warning not to trust the model's own when
the images are unlike its training images."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pandas as pd
import pytest

from benchmarks.cli import main
from benchmarks.core.errors import UserError
from benchmarks.deploy.model_dir import load_model
from benchmarks.deploy.triage import triage
from benchmarks.scoring.site_threshold import (
    parse_flag_top,
    read_calibration,
    top_count,
)
from benchmarks.scoring.threshold import choose_operating_point
from tests.conftest import write_image

CLASSES = ["melanoma", "nevus", "vascular lesion"]


@pytest.fixture(scope="module")
def xgb(xgb_only_model):
    return load_model(xgb_only_model)


def _labelled(root, counts: dict[str, int], seed: int = 5000) -> list[tuple]:
    rows = []
    for label, count in counts.items():
        for index in range(count):
            path = root / f"{label[0]}{index}.jpg"
            write_image(path, seed)
            seed += 1
            rows.append((path, label))
    return rows


def _csv(path, rows, relative_to=None) -> None:
    pd.DataFrame(
        {
            "file": [
                str(p.relative_to(relative_to)) if relative_to else str(p)
                for p, _ in rows
            ],
            "label": [label for _, label in rows],
        }
    ).to_csv(path, index=False)


@pytest.mark.parametrize(
    ("text", "scored", "flagged"),
    [("3", 10, 3), ("30", 10, 10), ("10%", 5, 1), ("50%", 9, 5), ("100%", 4, 4)],
)
def test_flag_top_counts_images_or_a_share_rounded_up(text, scored, flagged):
    assert top_count(parse_flag_top(text), scored) == flagged


@pytest.mark.parametrize("text", ["0", "-2", "2.5", "150%", "ten", "0%"])
def test_a_bad_flag_top_is_a_user_error(text):
    with pytest.raises(UserError, match="--flag-top"):
        parse_flag_top(text)


def test_calibration_files_are_read_relative_to_the_csv(tmp_path):
    rows = _labelled(tmp_path / "site" / "img", {"melanoma": 2, "nevus": 3})
    _csv(tmp_path / "site" / "labels.csv", rows, relative_to=tmp_path / "site")
    images = read_calibration(tmp_path / "site" / "labels.csv", CLASSES, "melanoma")
    assert images.paths == [path.resolve() for path, _ in rows]
    assert images.labels.tolist() == [label for _, label in rows]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns="label"), "no column 'label'"),
        (lambda t: t.rename(columns={"file": "path"}), "no column 'file'"),
        (lambda t: t.assign(label="mole"), "label 'mole' is not a class"),
        (lambda t: t.assign(label="nevus"), "no melanoma images"),
        (
            lambda t: t.assign(label="melanoma"),
            "only melanoma images, no other lesions",
        ),
        (lambda t: t.assign(file="gone.jpg"), "line 2: 'gone.jpg' is not a file"),
        (
            lambda t: pd.concat([t, t.iloc[[0]].assign(label="nevus")]),
            "line 6: .* is the image of line 2 again",
        ),
        (lambda t: t.iloc[:0], "no rows"),
    ],
)
def test_a_bad_calibration_csv_is_one_clear_error(tmp_path, change, message):
    rows = _labelled(tmp_path, {"melanoma": 2, "nevus": 2})
    _csv(tmp_path / "labels.csv", rows)
    table = change(pd.read_csv(tmp_path / "labels.csv"))
    table.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(UserError, match=message):
        read_calibration(tmp_path / "bad.csv", CLASSES, "melanoma")


def _folder_sums(folder) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
    }


def test_calibration_sets_the_sites_threshold_and_scores_the_rest(
    xgb, xgb_only_model, tmp_path, capsys
):
    site = tmp_path / "site"
    labelled = _labelled(site / "labelled", {"melanoma": 5, "nevus": 6}, seed=6000)
    others = _labelled(site / "new", {"melanoma": 2, "nevus": 3}, seed=7000)
    _csv(tmp_path / "labels.csv", labelled)
    before = _folder_sums(xgb_only_model)

    # What the model scores the labelled images, and the threshold train's
    # rule sets on them.
    triage(xgb, site / "labelled", tmp_path / "scores")
    scored = pd.read_csv(tmp_path / "scores" / "worklist.csv")
    truth = scored["file"].str.startswith("m").to_numpy()
    target = xgb.metadata["threshold"]["target_sensitivity"]
    expected = choose_operating_point(
        truth, scored["melanoma_probability"], target, seed=0
    )

    result = triage(xgb, site, tmp_path / "out", calibrate=tmp_path / "labels.csv")
    worklist = pd.read_csv(tmp_path / "out" / "worklist.csv")
    assert sorted(worklist["file"]) == sorted(f"new/{p.name}" for p, _ in others)
    used = worklist["threshold"].unique()
    assert len(used) == 1 and used[0] == pytest.approx(expected.threshold, abs=1e-5)
    assert (worklist["threshold_from"] == "calibrated on labels.csv").all()
    urgent = worklist["melanoma_probability"] >= expected.threshold - 1e-6
    assert (worklist["flag"] == "URGENT").tolist() == urgent.tolist()

    copy = json.loads((tmp_path / "out" / "model.json").read_text("utf-8"))
    record = copy["triage"]
    assert record["threshold_from"] == "calibrated on labels.csv"
    assert record["calibration"]["images"] == 11
    assert record["calibration"]["n_positive"] == 5
    assert record["calibration"]["specificity_ci"][0] <= expected.specificity
    assert record["model_threshold"] == xgb.metadata["threshold"]["threshold"]
    assert copy["threshold"] == xgb.metadata["threshold"]  # the model's, untouched
    page = (tmp_path / "out" / "worklist.html").read_text("utf-8")
    assert "set for this site from 11 labelled images (5 melanoma images)" in page
    # Chosen on those 5, so its in-sample share comes with what 5 can say.
    flagged = round(expected.sensitivity * 5)
    low, high = record["calibration"]["sensitivity_ci_exact"]
    assert f"it flagged {flagged} of the 5 melanoma images" in page
    assert 0.0 < low < expected.sensitivity <= high <= 1.0
    assert f"pin that share down only to {low:.0%}-{high:.0%} (exact 95% CI" in page
    assert "labels.csv" in result.threshold_note
    # The labelled images are accounted for: left out, listed with their scores.
    assert "11 labelled images left out of the list" in page
    listed = pd.read_csv(tmp_path / "out" / "calibration_scores.csv")
    assert len(listed) == 11 and (listed["label"] == "melanoma").sum() == 5
    assert listed["melanoma_probability"].is_monotonic_decreasing
    on_csv = listed["melanoma_probability"] >= expected.threshold - 1e-6
    assert (listed["flag"] == "URGENT").tolist() == on_csv.tolist()
    assert not worklist["threshold_untrusted"].any()
    argv = ["triage", "--model", str(xgb_only_model), "--images", str(site)]
    labels = ["--calibrate", str(tmp_path / "labels.csv")]
    assert main([*argv, "--out", str(tmp_path / "cli"), *labels]) == 0
    assert (
        f"  {tmp_path / 'cli' / 'calibration_scores.csv'}\n" in capsys.readouterr().out
    )
    assert _folder_sums(xgb_only_model) == before


def test_calibrate_refuses_a_csv_where_it_writes_its_scores(xgb, tmp_path):
    labelled = _labelled(tmp_path / "site", {"melanoma": 2, "nevus": 2})
    # An earlier triage's folder, whose listed scores would make a valid CSV.
    triage(xgb, tmp_path / "site", tmp_path / "out")
    _csv(tmp_path / "out" / "calibration_scores.csv", labelled)
    before = (tmp_path / "out" / "calibration_scores.csv").read_bytes()
    with pytest.raises(UserError, match="writes the calibration's scores"):
        triage(
            xgb,
            tmp_path / "site",
            tmp_path / "out",
            calibrate=tmp_path / "out" / "calibration_scores.csv",
        )
    assert (tmp_path / "out" / "calibration_scores.csv").read_bytes() == before


def test_flag_top_flags_the_top_of_the_list(xgb, tmp_path):
    _labelled(tmp_path / "new", {"melanoma": 3, "nevus": 4})
    triage(xgb, tmp_path / "new", tmp_path / "out", flag_top="3")
    worklist = pd.read_csv(tmp_path / "out" / "worklist.csv", keep_default_na=False)
    assert worklist["flag"].tolist() == ["URGENT"] * 3 + [""] * 4
    assert worklist["threshold"].iloc[0] == worklist["melanoma_probability"].iloc[2]
    assert (worklist["threshold_from"] == "flag-top 3").all()
    page = (tmp_path / "out" / "worklist.html").read_text("utf-8")
    assert "the top 3 of the list" in page
    cut = worklist["melanoma_probability"].iloc[2]
    assert f"the lowest URGENT probability is {cut:.4f}" in page


def _unlike(model):
    """The model as if its training images' skin had been far from these."""
    statistics = dict(model.metadata["input_statistics"])
    statistics["mean"] = [value + 100 for value in statistics["mean"]]
    metadata = {**model.metadata, "input_statistics": statistics}
    return dataclasses.replace(model, metadata=metadata)


def test_with_drift_the_page_says_not_to_trust_the_models_threshold(xgb, tmp_path):
    _labelled(tmp_path / "new", {"melanoma": 2, "nevus": 2})
    result = triage(_unlike(xgb), tmp_path / "new", tmp_path / "plain")
    assert result.warning.endswith(
        "the model's threshold and figures may not hold for them"
    )
    page = (tmp_path / "plain" / "worklist.html").read_text("utf-8")
    assert 'id="untrusted"' in page and "--flag-top" in page
    # The CSV and the copy of model.json say it too, for tools that read no page.
    plain = pd.read_csv(tmp_path / "plain" / "worklist.csv")
    assert plain["threshold_untrusted"].all()
    record = json.loads((tmp_path / "plain" / "model.json").read_text("utf-8"))
    assert record["triage"]["threshold_untrusted"] is True
    assert record["triage"]["drift_warning"] == result.warning
    top = triage(_unlike(xgb), tmp_path / "new", tmp_path / "top", flag_top="50%")
    assert top.warning.endswith(
        "URGENT here is the top of the list, not that threshold"
    )
    page = (tmp_path / "top" / "worklist.html").read_text("utf-8")
    assert 'id="drift"' in page and 'id="untrusted"' not in page
    assert not pd.read_csv(tmp_path / "top" / "worklist.csv")[
        "threshold_untrusted"
    ].any()
    labelled = _labelled(tmp_path / "labelled", {"melanoma": 2, "nevus": 2}, seed=5)
    _csv(tmp_path / "labels.csv", labelled)
    site = triage(
        _unlike(xgb),
        tmp_path / "new",
        tmp_path / "site",
        calibrate=tmp_path / "labels.csv",
    )
    assert site.warning.endswith(
        "URGENT here uses this site's own threshold, set on its labelled images"
    )
    assert "the model's threshold" not in site.warning
    # Without drift the model's threshold stands unqualified.
    triage(xgb, tmp_path / "new", tmp_path / "same")
    assert 'id="untrusted"' not in (tmp_path / "same" / "worklist.html").read_text()


def test_calibrate_mistakes_are_one_line_errors(xgb_only_model, tmp_path, capsys):
    _labelled(tmp_path / "new", {"melanoma": 1, "nevus": 1})
    (tmp_path / "labels.csv").write_text("path,label\nx.jpg,melanoma\n")
    argv = ["triage", "--model", str(xgb_only_model), "--images", str(tmp_path / "new")]
    out = ["--out", str(tmp_path / "out")]
    assert main([*argv, *out, "--calibrate", str(tmp_path / "labels.csv")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no column 'file'" in error
    assert not (tmp_path / "out").exists()  # a refused triage leaves no folder
    both = ["--calibrate", str(tmp_path / "labels.csv"), "--flag-top", "5"]
    assert main([*argv, *out, *both]) == 2
    assert "choose one" in capsys.readouterr().err
