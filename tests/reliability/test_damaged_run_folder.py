"""A damaged trial record or score file: one line naming it and the fix from
every reader, then a resumed run sets it aside and computes the same figures."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.analysis.leaderboard import leaderboard_of
from benchmarks.cli import main
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.runner import run
from benchmarks.grid.verify import run_folder_problems
from tests.harness.conftest import TINY


@pytest.fixture
def finished(image_folder, tmp_path, monkeypatch):
    monkeypatch.setitem(PROFILES, "quick", TINY)
    monkeypatch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path / "cache"))
    config = RunConfig(data=str(image_folder), models=("xgb",), strategies=("none",))
    store = run(config, tmp_path / "runs", write=lambda line: None)
    return config, store, leaderboard_of(store)


@pytest.mark.parametrize("damage", ["truncated record", "garbled scores"])
def test_a_damaged_trial_is_named_then_set_aside_and_recomputed(
    finished, tmp_path, capsys, damage
):
    config, store, before = finished
    record = store.trials_dir / "xgb__none__fold0.json"
    scores = store.trials_dir / "xgb__none__fold0.npz"
    if damage == "truncated record":
        record.write_text(record.read_text()[:40])
        named = record
    else:
        data = bytearray(scores.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
        scores.write_bytes(bytes(data))
        named = scores
    capsys.readouterr()
    assert main(["report", str(store.run_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{named}: damaged" in err and "run the grid's command again" in err

    lines: list[str] = []
    again = run(config, tmp_path / "runs", write=lines.append)
    assert (
        "trial xgb__none__fold0: its record is damaged; moved to damaged/, "
        "computing it again"
    ) in lines
    assert sorted(path.name for path in (again.run_dir / "damaged").iterdir()) == (
        sorted({"xgb__none__fold0.json", "xgb__none__fold0.npz"})
    )
    pd.testing.assert_frame_equal(
        leaderboard_of(again).drop(columns="wall_seconds"),
        before.drop(columns="wall_seconds"),
    )


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("manifest.parquet", lambda path: path.write_bytes(path.read_bytes()[:100])),
        ("audit.json", lambda path: path.unlink()),
        ("audit.json", lambda path: path.write_text("{")),
    ],
)
def test_a_lost_or_damaged_run_input_is_named_then_written_again(
    finished, tmp_path, capsys, name, damage
):
    config, store, before = finished
    path = store.path(name)
    damage(path)
    capsys.readouterr()
    assert main(["report", str(store.run_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}: damaged" in err

    again = run(config, tmp_path / "runs", write=lambda line: None)
    assert main(["report", str(again.run_dir)]) == 0
    pd.testing.assert_frame_equal(
        leaderboard_of(again).drop(columns="wall_seconds"),
        before.drop(columns="wall_seconds"),
    )


def test_verify_names_what_is_damaged_and_changes_nothing(finished, tmp_path, capsys):
    _, store, _ = finished
    capsys.readouterr()
    assert main(["verify", str(store.run_dir)]) == 0
    assert capsys.readouterr().out.endswith(
        "0 damaged in the run folder (run the grid's command again to redo them), "
        "0 damaged cache entries (rebuilt when next needed)\n"
    )
    record = store.trials_dir / "xgb__none__final.json"
    record.write_text("{")
    cache = tmp_path / "cache"
    entries = [sorted(cache.glob(f"{kind}-*"))[0] for kind in ("images", "masks")]
    entries[0].with_name(entries[0].name + ".sha256").write_text("0" * 64)
    entries[1].write_text(entries[1].read_text().replace("0", "1"))
    before = record.read_text(), [entry.read_bytes() for entry in entries]
    assert main(["verify", str(store.run_dir)]) == 1
    out = capsys.readouterr().out
    assert f"{record}: damaged" in out
    for entry in entries:
        assert f"{entry}: damaged or without its digest" in out
    assert out.splitlines()[-1] == (
        "1 damaged in the run folder (run the grid's command again to redo them), "
        "2 damaged cache entries (rebuilt when next needed)"
    )
    assert (record.read_text(), [entry.read_bytes() for entry in entries]) == before


@pytest.mark.slow
def test_a_damaged_embedding_is_set_aside_with_its_network_and_redone(
    image_folder, tmp_path, monkeypatch
):
    """A truncated embeddings/cnn__none__fold0.npy: the hybrid that reads it
    failed on every rerun, since the network's trial still counted as done."""
    monkeypatch.setitem(PROFILES, "quick", TINY)
    monkeypatch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path / "cache"))
    config = RunConfig(
        data=str(image_folder), models=("cnn", "hybrid"), strategies=("none",)
    )
    store = run(config, tmp_path / "runs", write=lambda line: None)
    before = leaderboard_of(store)
    embedding = store.embedding_path("cnn__none__fold0")
    embedding.write_bytes(embedding.read_bytes()[:-64])
    (store.trials_dir / "hybrid__none__fold0.json").unlink()
    damaged = store.damaged_trials()
    assert list(damaged) == ["cnn__none__fold0"]
    assert damaged["cnn__none__fold0"].startswith(f"{embedding}: damaged (")
    named = [
        line for line in run_folder_problems(store.run_dir) if str(embedding) in line
    ]
    assert named == [damaged["cnn__none__fold0"]]  # verify names it once
    lines: list[str] = []
    again = run(config, tmp_path / "runs", write=lines.append)
    assert not any("FAILED" in line for line in lines)
    assert "embeddings-cnn__none__fold0.npy" in {
        path.name for path in (again.run_dir / "damaged").iterdir()
    }
    pd.testing.assert_frame_equal(
        leaderboard_of(again).drop(columns="wall_seconds"),
        before.drop(columns="wall_seconds"),
    )
