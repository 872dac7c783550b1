"""What a run refuses before its grid starts, in one line with exit 2, and
what --dry-run refuses the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.core.errors import UserError
from benchmarks.data.datasets import load_manifest
from benchmarks.data.sources import load_sources, named_path
from tests.conftest import write_image


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path / "cache"))


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["run", "dry-run"])
def test_a_sampler_a_fold_is_too_small_for_is_refused_before_any_trial(
    image_folder, tmp_path, capsys, dry_run
):
    """Two folds leave two 'café <b>' images in a training part; ADASYN's five
    neighbours cannot be found there."""
    runs = tmp_path / "runs"
    command = ["run", "xgb", "--data", str(image_folder), "--folds", "2"]
    command += ["--strategies", "none,imblearn:ADASYN", "--out", str(runs)]
    assert main(command + dry_run) == 2
    err = _one_line(capsys)
    assert "--strategies imblearn:ADASYN: cannot run on fold " in err
    assert "smallest class café <b> has 2 image(s)" in err
    assert "choose imblearn:RandomOverSampler or smote" in err
    assert not runs.exists() or not any(runs.iterdir())


def _ham_csv(folder: Path, rows: list[tuple[str, str]]) -> Path:
    """A HAM10000-format CSV beside its images (one per distinct id)."""
    for index, image_id in enumerate(dict.fromkeys(image_id for image_id, _ in rows)):
        write_image(folder / f"{image_id}.jpg", index)
    csv = folder / "meta.csv"
    csv.write_text(
        "image_id,dx\n" + "".join(f"{image_id},{dx}\n" for image_id, dx in rows)
    )
    return csv


@pytest.mark.parametrize("text", ["meta.csv", "./meta.csv"])
def test_a_csv_in_the_current_folder_is_named_after_it(tmp_path, monkeypatch, text):
    folder = tmp_path / "clinic"
    _ham_csv(folder, [("a", "mel"), ("b", "nv")])
    monkeypatch.chdir(folder)
    assert named_path(text, "--data") == ("clinic", text)
    manifest = load_sources((text,))
    assert sorted(manifest["label"]) == ["mel", "nv"]
    assert set(manifest["source"]) == {"clinic"}


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["run", "dry-run"])
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--external", "/missing"], "--external /missing: no such file or folder"),
        (["--positive-class", "nope"], "--positive-class nope: no such class"),
        (["--folds", "100"], "--folds 100: class "),
    ],
    ids=["external", "positive-class", "folds"],
)
def test_the_dry_run_refuses_what_the_run_refuses(
    image_folder, tmp_path, capsys, dry_run, options, expected
):
    runs = tmp_path / "runs"
    command = ["run", "xgb", "--data", str(image_folder), "--out", str(runs)]
    assert main(command + options + dry_run) == 2
    assert expected in _one_line(capsys)
    assert not runs.exists() or not any(runs.iterdir())


def test_models_alone_names_the_grid(image_folder, tmp_path, capsys):
    command = ["run", "--models", "xgb", "--strategies", "none", "--folds", "2"]
    command += ["--data", str(image_folder), "--out", str(tmp_path), "--dry-run"]
    assert main(command) == 0
    assert "families: xgb 3" in capsys.readouterr().out
    assert main(["run", "--out", str(tmp_path)]) == 2
    assert "run: name the models" in _one_line(capsys)


def test_repeated_csv_ids_are_kept_once_and_counted_in_one_line(tmp_path, caplog):
    rows = [("a", "mel"), ("b", "nv"), ("a", "mel"), ("c", "nv"), ("a", "nv")]
    csv = _ham_csv(tmp_path / "clinic", rows)
    manifest = load_manifest(csv)
    assert sorted(manifest["path"].str.rsplit("/", n=1).str[-1]) == [
        "a.jpg",
        "b.jpg",
        "c.jpg",
    ]
    assert manifest.set_index(manifest["path"].str[-5:])["label"]["a.jpg"] == "mel"
    lines = [r.message for r in caplog.records if "repeat an image id" in r.message]
    assert len(lines) == 1 and ": 2 row(s) repeat an image id" in lines[0]


def test_a_csv_whose_ids_name_no_file_is_refused_before_it_is_read(
    tmp_path, monkeypatch
):
    """200,000 rows of ids that name nothing: refused from a sample of them,
    before any row is looked for or hashed."""
    folder = tmp_path / "clinic"
    write_image(folder / "real.jpg", 1)
    ids = [f"{index:016x}" for index in range(200_000)]
    (folder / "meta.csv").write_text(
        "image_id,dx\n" + "".join(f"{image_id},nv\n" for image_id in ids)
    )

    def never(*args, **kwargs):
        raise AssertionError("every row was read")

    monkeypatch.setattr("benchmarks.data.datasets.build_manifest", never)
    with pytest.raises(UserError) as refused:
        load_manifest(folder / "meta.csv")
    message = str(refused.value)
    assert "0 of 500 image ids checked (such as '0000000000000000')" in message
    assert "check the CSV, --images and --id-column" in message


def test_a_plug_in_factory_that_raises_is_one_line(tmp_path, monkeypatch, capsys):
    package = tmp_path / "raising_plugins"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "family.py").write_text(
        "def factory():\n    raise RuntimeError('no weights here')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    command = ["run", "raising_plugins.family:factory", "--out", str(tmp_path)]
    assert main(command) == 2
    assert (
        "raising_plugins.family:factory: the plug-in's factory raised "
        "RuntimeError: no weights here; fix the plug-in or leave it out"
    ) in _one_line(capsys)
