"""The command line: its parser, one-line errors, and the commands this version has."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys

import pytest

from benchmarks.cli import main, make_parser
from benchmarks.grid.config import PROFILES, RunConfig
from tests.conftest import tree_state, trial_record

COMMANDS = ["run", "audit", "report", "compare", "train", "triage", "list", "data"]


def test_help_lists_every_command_in_workflow_order(capsys):
    with pytest.raises(SystemExit) as exit_info:
        make_parser().parse_args(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    positions = [help_text.index(f"    {name} ") for name in COMMANDS]
    assert positions == sorted(positions)


def test_audit_writes_the_table_and_json(image_folder, tmp_path, capsys):
    out = tmp_path / "audit.json"
    assert main(["audit", "--data", str(image_folder), "--json", str(out)]) == 0
    assert "duplicate groups (identical images)" in capsys.readouterr().out
    facts = json.loads(out.read_text("utf-8"))
    assert (facts["duplicate_groups"], facts["conflicting_groups"]) == (2, 1)
    assert facts["train_test_leaks"] == 1


def test_audit_strict_fails_on_unreadable_files(image_folder):
    (image_folder / "Train" / "melanoma" / "broken.jpg").write_bytes(b"\xff\xd8junk")
    assert main(["audit", "--data", str(image_folder)]) == 0
    assert main(["audit", "--data", str(image_folder), "--strict"]) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["audit", "--data", "{tmp}/nowhere"], "nowhere: no such file or folder"),
        (["audit", "--data", "{tmp}", "--near-threshold", "99"], "choose from 0 to 32"),
        (["data", "synth", "--out", "{tmp}", "--scale", "0"], "--scale 0"),
        (["train", "--run", "{tmp}", "--out", "{tmp}/m"], "not a run folder"),
        (
            ["train", "--run", "{tmp}/gone", "--out", "{tmp}/m"],
            "{tmp}/gone: no such folder; name a run folder",
        ),
        (
            ["triage", "--model", "{tmp}/m", "--images", "{tmp}", "--out", "{tmp}/o"],
            "--model {tmp}/m: no such folder",
        ),
    ],
    ids=[
        "missing-path",
        "threshold",
        "scale",
        "train-run",
        "train-no-run",
        "triage-model",
    ],
)
def test_user_mistakes_are_one_line_exit_2(tmp_path, capsys, argv, message):
    code = main([part.format(tmp=tmp_path) for part in argv])
    captured = capsys.readouterr()
    assert code == 2
    assert message.format(tmp=tmp_path) in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_data_synth_writes_an_auditable_folder(tmp_path, capsys):
    out = tmp_path / "synth"
    argv = ["data", "synth", "--out", str(out), "--scale", "0.1", "--size", "48"]
    assert main(argv) == 0
    assert "synthetic images" in capsys.readouterr().out
    assert (out / "Train" / "melanoma").is_dir()
    assert (out / "masks" / "Train" / "melanoma").is_dir()
    assert main(["audit", "--data", str(out)]) == 0
    assert "Audit of synthetic: " in capsys.readouterr().out


def test_data_synth_never_writes_into_a_users_folder(image_folder, capsys):
    before = tree_state(image_folder)
    assert main(["data", "synth", "--out", str(image_folder)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert tree_state(image_folder) == before


def test_list_datasets_shows_the_registry(capsys):
    assert main(["list", "datasets"]) == 0
    out = capsys.readouterr().out
    assert "isic9" in out and "ham10000" in out and "melanoma class: mel" in out


def test_list_models_and_strategies_name_the_grid(capsys):
    from benchmarks.data.preprocessing import PREPROCESSING
    from benchmarks.grid.families import FAMILIES
    from benchmarks.grid.strategies import STRATEGIES

    assert main(["list", "models"]) == 0
    models = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert models == list(FAMILIES)
    assert main(["list", "strategies"]) == 0
    strategies = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert strategies == [*STRATEGIES, "imblearn:NAME"]
    assert main(["list", "preprocessing"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == list(PREPROCESSING)


def _record(key: str, figure: float) -> dict:
    model, strategy, fold = key.split("__")
    figures = {
        "melanoma_sensitivity_at_80_specificity": figure,
        "balanced_accuracy": figure,
    }
    figures.update(
        dict.fromkeys(
            ("macro_f1", "melanoma_sensitivity", "melanoma_specificity"), figure
        ),
        melanoma_auc=figure,
    )
    return trial_record(
        model,
        strategy,
        int(fold.removeprefix("fold")),
        figures,
        train={"balanced_accuracy": 1.0},
        gap={"balanced_accuracy": 1.0 - figure},
    ).to_json()


def test_list_runs_shows_date_data_profile_models_best_and_progress(
    tmp_path, capsys, monkeypatch
):
    import pandas as pd

    from benchmarks.grid.store import RunStore

    assert main(["list", "runs", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"no runs in {tmp_path}\n"
    run_dir = tmp_path / "quick-0123456789ab"
    (run_dir / "trials").mkdir(parents=True)
    config = {
        "run_id": "quick-0123456789ab",
        "dataset": "isic9+ham",
        "config": RunConfig(
            data=("isic9=/data/isic9", "ham=/data/ham.csv"),
            models=("xgb", "cnn"),
            strategies=("none",),
            cv="stratified",
        ).to_dict(),
        "profile": dataclasses.asdict(PROFILES["quick"]),
        "data_fingerprint": "0123456789abcdef",
        "positive_class": "melanoma",
        "classes": ["melanoma", "nevus"],
        "grid": [["xgb", "none"], ["cnn", "none"]],
    }
    (run_dir / "config.json").write_text(json.dumps(config), "utf-8")
    pd.DataFrame({"split": ["train", "test"]}).to_parquet(run_dir / "manifest.parquet")
    for key, figure in (
        ("xgb__none__fold0", 0.8),
        ("xgb__none__fold1", 0.7),
        ("cnn__none__fold0", 0.5),
    ):
        record = json.dumps(_record(key, figure))
        (run_dir / "trials" / f"{key}.json").write_text(record, "utf-8")
    (run_dir / "trials" / ".xgb__none__fold2.json.tmp").write_text("", "utf-8")
    synthetic = tmp_path / "quick-fedcba987654"
    (synthetic / "trials").mkdir(parents=True)
    config.update(
        run_id="quick-fedcba987654",
        dataset="synthetic",
        config=RunConfig(models=("xgb",), strategies=("none",)).to_dict(),
        grid=[["xgb", "none"]],
    )
    (synthetic / "config.json").write_text(json.dumps(config), "utf-8")
    damaged = tmp_path / "quick-damaged"
    damaged.mkdir()
    (damaged / "config.json").write_text("{", "utf-8")
    reads: list[str] = []
    records = RunStore.records
    monkeypatch.setattr(
        RunStore,
        "records",
        lambda self: reads.append(self.run_dir.name) or records(self),
    )
    assert main(["list", "runs", "--out", str(tmp_path)]) == 0
    # The leaderboard and the verdict share one reading of the trial records.
    assert reads.count("quick-0123456789ab") == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["run", "date", "(UTC)"]
    row = next(line for line in lines if line.startswith("quick-0123456789ab"))
    # 3 of 8 trials: 2 folds and the final fit of each of two configurations.
    assert row.split()[3:9] == [
        "isic9,ham",
        "quick",
        "3/8",
        "xgb:none",
        "0.750",
        "xgb,cnn",
    ]
    assert re.search(r" 20\d\d-\d\d-\d\d \d\d:\d\d ", row)
    # Then the verdict's lines, indented under the run's: so far, for an
    # unfinished run.
    assert lines[lines.index(row) + 1] == (
        "    So far, 3 of 8 trials: the finished run may choose otherwise."
    )
    verdict = lines[lines.index(row) + 2 : lines.index(row) + 5]
    assert [line[:8] for line in verdict] == ["    Use ", "    Carr", "    CNN "]
    assert verdict[0].startswith("    Use xgb:none: melanoma sensitivity 0.750 [")
    row = next(line for line in lines if line.startswith("quick-fedcba987654"))
    # No manifest: the total is unknown; no finished trial: no best yet.
    assert row.split()[3:8] == ["synthetic", "quick", "0/?", "-", "xgb"]
    row = next(line for line in lines if line.startswith("quick-damaged"))
    assert "unreadable run folder: its config.json is damaged" in row


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "0.1.0"


def test_features_exports_a_named_table(image_folder, tmp_path, capsys):
    import numpy as np
    import pandas as pd

    out = tmp_path / "features.parquet"
    argv = ["features", "--data", str(image_folder), "--out", str(out)]
    assert main([*argv, "--size", "64"]) == 0
    table = pd.read_parquet(out)
    assert len(table) == 20
    assert list(table.columns[:4]) == ["file", "label", "split", "sha256"]
    assert "Train/café <b>/c0.jpg" in set(table["file"])
    values = table.iloc[:, 4:].to_numpy()
    assert values.shape[1] > 100 and np.isfinite(values).all()
    assert f"wrote 20 rows x {values.shape[1]} features" in capsys.readouterr().out
    # An earlier table is replaced; a user's other file of that name never is.
    assert main([*argv, "--size", "64"]) == 0
    mine = tmp_path / "mine.parquet"
    mine.write_text("my notes, not a table\n")
    argv = ["features", "--data", str(image_folder), "--out", str(mine)]
    assert main([*argv, "--size", "64"]) == 2
    assert "exists and is not a Parquet file" in capsys.readouterr().err
    assert mine.read_text() == "my notes, not a table\n"


def test_features_wants_a_parquet_name(image_folder, tmp_path, capsys):
    out = tmp_path / "features.csv"
    assert main(["features", "--data", str(image_folder), "--out", str(out)]) == 2
    assert "name a .parquet file" in capsys.readouterr().err
