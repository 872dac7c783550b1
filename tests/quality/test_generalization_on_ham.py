"""Does the default pick of an isic9-only run carry over to HAM10000 images?

The steps of `run xgb,xgb-invariant,linear-invariant --data ../shared/data/isic9
--external ../shared/data/ham10000-dev/metadata.csv --profile quick`, then
`train` (its default pick) and `triage` of the external images; the
report's verdict and summary figure fit its first screen. On isic9 the
shortcut audit flags the data (the colour and surround probes reach melanoma
AUC 0.90), so the default pick comes from the families that cannot see the
camera; `run all` adds only families that can, so it picks the same. About 4
minutes on 2 cores.

Measured (docs/generalization.md): linear-invariant:none, ham10000-dev melanoma
AUC 0.813 [0.780, 0.842], sensitivity 0.887 and specificity 0.589 at the saved
threshold, where the shortcut-reading models score 0.55-0.64.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks.deploy.model_dir import load_model
from benchmarks.deploy.training import train
from benchmarks.deploy.triage import triage
from benchmarks.grid import families
from benchmarks.grid.config import RunConfig
from benchmarks.grid.runner import run
from reports import write_report
from tests.browser import chromium, loaded
from tests.conftest import HAM10000_DEV, ISIC9, requires_ham10000_dev, requires_isic9
from tests.reports.test_report_layout import VIEWPORTS, assert_first_screen


@pytest.mark.isic9
@pytest.mark.slow
@requires_isic9
@requires_ham10000_dev
def test_the_default_pick_carries_over_to_ham10000_dev(
    isic9_cache, tmp_path, record_property
):
    config = RunConfig(
        data=str(ISIC9),
        models=("xgb", "xgb-invariant", "linear-invariant"),
        external=(("ham10000-dev", str(HAM10000_DEV / "metadata.csv")),),
    )
    store = run(
        config, tmp_path / "runs", cache=str(isic9_cache), write=lambda line: None
    )
    audit = json.loads(store.path("audit.json").read_text("utf-8"))
    assert audit["shortcuts"]["flagged"], "the shortcut audit no longer flags isic9"
    assert audit["external"]["ham10000-dev"]["scored"] >= 1600

    write_report(store.run_dir)
    # Where a browser is installed (as in CI): the first screen of this run.
    for width, height in VIEWPORTS if chromium() else ():
        with loaded(store.run_dir / "report.html") as shown:
            shown.page.set_viewport_size({"width": width, "height": height})
            assert_first_screen(shown.page)
    folder, metadata = train(store.run_dir, tmp_path / "model", cache=str(isic9_cache))
    record_property("chosen", f"{metadata['model']}:{metadata['strategy']}")
    assert families.family(metadata["model"]).acquisition_invariant
    external_auc = metadata["external"]["ham10000-dev"]["melanoma_auc"]

    images = tmp_path / "ham-images"
    kept = pd.read_parquet(store.external_dir("ham10000-dev") / "manifest.parquet")
    for name, label in zip(kept["file"], kept["label"], strict=True):
        target = images / label / name.split("/")[-1]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to((HAM10000_DEV / name).resolve())
    triage(load_model(folder), images, tmp_path / "out")
    worklist = pd.read_csv(tmp_path / "out" / "worklist.csv", keep_default_na=False)
    truth = worklist["file"].str.split("/").str[0].to_numpy() == "melanoma"
    urgent = (worklist["flag"] == "URGENT").to_numpy()
    sensitivity, specificity = urgent[truth].mean(), (~urgent[~truth]).mean()
    for name, value in (
        ("ham_melanoma_auc", external_auc),
        ("ham_sensitivity", sensitivity),
        ("ham_specificity", specificity),
    ):
        record_property(name, f"{value:.4f}")

    assert len(worklist) == len(kept) and np.isclose(truth.sum(), 230, atol=5)
    assert external_auc >= 0.80
    assert sensitivity >= 0.80
    assert specificity >= 0.40
