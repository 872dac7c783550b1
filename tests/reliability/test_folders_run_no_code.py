"""A run or model folder that names a ``module:factory`` plug-in: nothing it
names is imported; a folder that needs one is refused in one line naming it,
and ``--dry-run`` refuses a plug-in path rather than run its code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.core.errors import UserError
from benchmarks.deploy.model_dir import load_model
from tests.conftest import resign

EVIL = "hostile_plugin_{tag}.evil:factory"


def plant(root: Path, tag: str, monkeypatch) -> tuple[str, Path]:
    """A package whose import writes a marker file, importable from ``root``:
    its ``module:factory`` path and the marker."""
    marker = root / f"{tag}-ran"
    package = root / f"hostile_plugin_{tag}"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "evil.py").write_text(
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).write_text('ran')\n"
        "def factory():\n    raise SystemExit(0)\n"
    )
    monkeypatch.syspath_prepend(str(root))
    return EVIL.format(tag=tag), marker


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_model_folder_that_needs_its_own_plug_in_is_refused_not_run(
    finished, tmp_path, monkeypatch, capsys
):
    path, marker = plant(tmp_path / "code", "model", monkeypatch)
    folder = Path(shutil.copytree(finished.xgb, tmp_path / "mm"))

    def renamed(metadata: dict) -> None:
        metadata["plugins"] = [path]
        metadata["model"] = "evil"
        metadata["files"] = {"evil": metadata["files"].pop("xgb")}
        metadata["formats"] = {"evil": metadata["formats"].pop("xgb")}

    resign(folder, renamed)
    with pytest.raises(UserError, match=rf"plug-in {path}: .*--plugin {path}"):
        load_model(folder)
    images = str(finished.data / "Test")
    out = str(tmp_path / "worklist")
    arguments = ["--model", str(folder), "--images", images, "--out", out]
    assert main(["triage", *arguments]) == 2
    assert path in one_line(capsys)
    assert not marker.exists()


def test_a_plug_in_a_model_folder_names_beside_an_installed_family_is_not_run(
    finished, tmp_path, monkeypatch, capsys
):
    path, marker = plant(tmp_path / "code", "extra", monkeypatch)
    folder = Path(shutil.copytree(finished.xgb, tmp_path / "mm"))
    resign(folder, lambda metadata: metadata.update(plugins=[path]))
    images = str(finished.data / "Test")
    out = str(tmp_path / "worklist")
    main(["triage", "--model", str(folder), "--images", images, "--out", out])
    assert not marker.exists()


def test_list_runs_imports_nothing_a_run_folder_names(
    finished, tmp_path, monkeypatch, capsys
):
    path, marker = plant(tmp_path / "code", "run", monkeypatch)
    runs = tmp_path / "runs"
    run_dir = Path(shutil.copytree(finished.run_dir, runs / finished.run_dir.name))
    config = run_dir / "config.json"
    recorded = json.loads(config.read_text("utf-8"))
    recorded["config"]["models"].append(path)
    config.write_text(json.dumps(recorded), encoding="utf-8")

    assert main(["list", "runs", "--out", str(runs)]) == 0
    assert run_dir.name in capsys.readouterr().out
    assert not marker.exists()


def test_dry_run_refuses_a_plug_in_path_rather_than_run_it(
    finished, tmp_path, monkeypatch, capsys
):
    path, marker = plant(tmp_path / "code", "dry", monkeypatch)
    arguments = ["run", f"xgb,{path}", "--data", str(finished.data), "--dry-run"]
    assert main([*arguments, "--out", str(tmp_path / "runs")]) == 2
    err = one_line(capsys)
    assert f"naming the plug-in {path} runs its code" in err
    assert not marker.exists()
