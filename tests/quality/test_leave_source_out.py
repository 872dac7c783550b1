"""Leave-source-out on isic9 + ham10000-dev: each source scored by models
trained on the other, the pick made by those figures, and the model `train`
writes from it is the one `triage` runs.

The steps of `run xgb-invariant,linear-invariant --strategies none --data
../shared/data/isic9 --data ../shared/data/ham10000-dev/metadata.csv --profile
quick`, `train` and `triage`. The features of each source are cached as a run
on it alone caches them. About 3 minutes on 2 cores.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmarks.analysis.leaderboard import leaderboard_of
from benchmarks.deploy.model_dir import load_model
from benchmarks.deploy.training import train
from benchmarks.deploy.triage import triage
from benchmarks.grid.config import RunConfig
from benchmarks.grid.runner import run
from tests.conftest import HAM10000_DEV, ISIC9, requires_ham10000_dev, requires_isic9


@pytest.mark.isic9
@pytest.mark.slow
@requires_isic9
@requires_ham10000_dev
def test_isic9_to_ham10000_dev_is_reported_and_its_pick_is_what_triage_runs(
    isic9_cache, tmp_path, record_property
):
    config = RunConfig(
        data=(f"isic9={ISIC9}", f"ham={HAM10000_DEV / 'metadata.csv'}"),
        models=("xgb-invariant", "linear-invariant"),
        strategies=("none",),
    )
    store = run(
        config, tmp_path / "runs", cache=str(isic9_cache), write=lambda line: None
    )
    board = leaderboard_of(store)
    audit = json.loads(store.path("audit.json").read_text("utf-8"))
    assert audit["sources"]["ham"]["melanoma"] == 231
    for row in board.to_dict("records"):
        # Trained on isic9 alone, scored on every ham10000-dev image.
        auc = row["held_out_ham_melanoma_auc"]
        record_property(f"{row['configuration']} isic9->ham AUC", f"{auc:.4f}")
        assert auc >= 0.75

    folder, metadata = train(store.run_dir, tmp_path / "model", cache=str(isic9_cache))
    best = board[board["best"]].iloc[0]
    assert (metadata["model"], metadata["strategy"]) == (
        best["model"],
        best["strategy"],
    )
    assert metadata["training"]["sources"] == ["isic9", "ham"]
    assert metadata["training"]["cross_validation"] == "leave-source-out"

    images = tmp_path / "test-images"
    for path in sorted((ISIC9 / "Test" / "melanoma").glob("*.jpg"))[:8]:
        target = images / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path.resolve())
    result = triage(load_model(folder), images, tmp_path / "out")
    worklist = pd.read_csv(tmp_path / "out" / "worklist.csv")
    assert result.scored == len(worklist) == 8
