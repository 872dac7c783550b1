"""The command line: its parser, one-line errors, and the commands this version has."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from benchmarks.cli import main, make_parser
from benchmarks.config import PROFILES, RunConfig
from tests.conftest import tree_state

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
            ["triage", "--model", "{tmp}/m", "--images", "{tmp}", "--out", "{tmp}/o"],
            "--model {tmp}/m: no such folder",
        ),
    ],
    ids=["missing-path", "threshold", "scale", "train-run", "triage-model"],
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
    from benchmarks.families import FAMILIES
    from benchmarks.preprocessing import PREPROCESSING
    from benchmarks.strategies import STRATEGIES

    assert main(["list", "models"]) == 0
    models = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert models == list(FAMILIES)
    assert main(["list", "strategies"]) == 0
    strategies = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert strategies == [*STRATEGIES, "imblearn:NAME"]
    assert main(["list", "preprocessing"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == list(PREPROCESSING)


def test_list_runs_counts_finished_trials(tmp_path, capsys):
    assert main(["list", "runs", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"no runs in {tmp_path}\n"
    run_dir = tmp_path / "quick-0123456789ab"
    (run_dir / "trials").mkdir(parents=True)
    config = {
        "run_id": "quick-0123456789ab",
        "dataset": "isic9",
        "config": RunConfig().to_dict(),
        "profile": dataclasses.asdict(PROFILES["quick"]),
        "data_fingerprint": "0123456789abcdef",
        "positive_class": "melanoma",
        "classes": ["melanoma", "nevus"],
        "grid": [["xgb", "none"]],
    }
    (run_dir / "config.json").write_text(json.dumps(config), "utf-8")
    damaged = tmp_path / "quick-damaged"
    damaged.mkdir()
    (damaged / "config.json").write_text("{", "utf-8")
    for key in ("xgb__none__fold0", "xgb__none__fold1"):
        (run_dir / "trials" / f"{key}.json").write_text("{}", "utf-8")
    (run_dir / "trials" / ".xgb__none__fold2.json.tmp").write_text("", "utf-8")
    assert main(["list", "runs", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "quick-0123456789ab" in out and "isic9" in out and " 2 trials done" in out
    assert "quick-damaged" in out and "unreadable config.json" in out


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


def test_features_wants_a_parquet_name(image_folder, tmp_path, capsys):
    out = tmp_path / "features.csv"
    assert main(["features", "--data", str(image_folder), "--out", str(out)]) == 2
    assert "name a .parquet file" in capsys.readouterr().err
