"""triage: every file scored or listed, most urgent first, as the run scored it."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import benchmarks.deploy.triage as triage_module
from benchmarks.cli import main
from benchmarks.core.errors import UserError
from benchmarks.data.images import decode_resized
from benchmarks.deploy.model_dir import load_model
from benchmarks.deploy.triage import triage
from benchmarks.grid.store import RunStore
from tests.browser import loaded, requires_chromium
from tests.conftest import lesion_image, write_image

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def xgb(xgb_model):
    return load_model(xgb_model)


def _read(out) -> tuple[pd.DataFrame, pd.DataFrame]:
    options = {"keep_default_na": False}
    return (
        pd.read_csv(out / "worklist.csv", **options),
        pd.read_csv(out / "unreadable.csv", **options),
    )


def _messy_folder(root):
    """Good images of several sizes and modes, and every kind of bad file."""
    write_image(root / "a.jpg", 1)
    write_image(root / "b.png", 2, size=300)
    write_image(root / "sub" / "deeper" / "c.jpeg", 3)
    lesion_image(4, size=64).convert("L").save(root / "grey.png")
    lesion_image(5, size=64).convert("RGBA").save(root / "alpha.png")
    lesion_image(6, size=64).resize((200, 120)).save(root / "wide.jpg")
    lesion_image(7).save(root / f"{HOSTILE}.png")
    data = (root / "a.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "text.jpg").write_text("not a picture")
    (root / "empty.png").write_bytes(b"")
    (root / "notes.txt").write_text("patient list")
    (root / ".hidden.jpg").write_text("ignored")
    return root


def _check_order(worklist: pd.DataFrame, threshold: float) -> None:
    probabilities = worklist["melanoma_probability"].to_numpy()
    assert (np.diff(probabilities) <= 0).all()
    assert worklist["rank"].tolist() == list(range(1, len(worklist) + 1))
    urgent = worklist["flag"] == "URGENT"
    assert (urgent == (probabilities >= threshold)).all()
    assert set(worklist["flag"]) <= {"URGENT", ""}


def test_bad_files_are_listed_apart_and_never_fatal(xgb, tmp_path):
    images = _messy_folder(tmp_path / "images")
    result = triage(xgb, images, tmp_path / "out", n_jobs=1)
    worklist, unreadable = _read(tmp_path / "out")
    good = ["a.jpg", "alpha.png", "b.png", "grey.png", "sub/deeper/c.jpeg"]
    assert sorted(worklist["file"]) == sorted([*good, f"{HOSTILE}.png", "wide.jpg"])
    reasons = dict(zip(unreadable["file"], unreadable["reason"], strict=True))
    assert reasons == {
        "empty.png": "zero-byte file",
        "notes.txt": "not an image file type (.txt)",
        "text.jpg": "not an image",
        "truncated.jpg": "truncated image",
    }
    assert (result.scored, result.unreadable) == (7, 4)
    assert result.urgent == (worklist["flag"] == "URGENT").sum()
    _check_order(worklist, xgb.metadata["threshold"]["threshold"])
    columns = ["predicted_class", "top1_class", "top2_class", "top3_class"]
    assert set(worklist[columns].to_numpy().ravel()) <= set(xgb.metadata["classes"])
    assert (worklist["predicted_class"] == worklist["top1_class"]).all()


def test_the_page_escapes_file_names_and_lists_bad_files(xgb, tmp_path):
    triage(xgb, _messy_folder(tmp_path / "images"), tmp_path / "out", n_jobs=1)
    html = (tmp_path / "out" / "worklist.html").read_text("utf-8")
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count('src="data:image/jpeg;base64,') == 7
    assert "truncated.jpg" in html and "zero-byte file" in html
    assert "http://" not in html and "https://" not in html


def test_an_empty_folder_gives_an_empty_worklist(xgb, tmp_path, capsys):
    (tmp_path / "images").mkdir()
    argv = ["--model", str(xgb.folder), "--images", str(tmp_path / "images")]
    assert main(["triage", *argv, "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "no files in" in captured.err
    assert "scored 0 images" in captured.out
    worklist, unreadable = _read(tmp_path / "out")
    assert worklist.empty and unreadable.empty
    assert list(worklist.columns[:5]) == [
        "rank",
        "file",
        "melanoma_probability",
        "flag",
        "predicted_class",
    ]
    html = (tmp_path / "out" / "worklist.html").read_text("utf-8")
    assert "No images were scored." in html


def test_a_missing_folder_is_a_one_line_error(xgb, tmp_path, capsys):
    with pytest.raises(UserError, match="no such folder"):
        triage(xgb, tmp_path / "nowhere", tmp_path / "out")
    argv = ["--model", str(xgb.folder), "--images", str(tmp_path / "nowhere")]
    assert main(["triage", *argv, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    (tmp_path / "labels.csv").write_text("file,label\n")
    with pytest.raises(UserError, match=r"labels\.csv: a file, not a folder"):
        triage(xgb, tmp_path / "labels.csv", tmp_path / "out")


@pytest.mark.parametrize("suffix", ["png", "jpg"])
def test_exif_orientation_scores_like_the_upright_pixels(xgb, tmp_path, suffix):
    """A photo stored sideways with an EXIF 'rotate 90' tag scores as the same
    photo stored upright."""
    images = tmp_path / "images"
    images.mkdir()
    sideways = lesion_image(11, size=64).resize((40, 60))
    sideways.paste((10, 10, 10), (0, 0, 40, 12))  # a dark band: not symmetric
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the viewer must rotate 90 degrees clockwise
    sideways.save(images / f"tagged.{suffix}", exif=exif.tobytes(), quality=95)
    # The pixels as stored (JPEG decoded once), turned the way the tag says.
    stored = Image.open(io.BytesIO((images / f"tagged.{suffix}").read_bytes()))
    upright = stored.convert("RGB").transpose(Image.Transpose.ROTATE_270)
    upright.save(images / "upright.png")

    for size in (48, 180):
        tagged = decode_resized(images / f"tagged.{suffix}", size)
        np.testing.assert_array_equal(
            tagged, decode_resized(images / "upright.png", size)
        )
        ignored = np.asarray(stored.convert("RGB").resize((size, size)))
        assert np.abs(tagged.astype(int) - ignored).mean() > 5  # the tag matters
    triage(xgb, images, tmp_path / "out", n_jobs=1)
    worklist, _ = _read(tmp_path / "out")
    scores = dict(zip(worklist["file"], worklist["melanoma_probability"], strict=True))
    assert scores[f"tagged.{suffix}"] == scores["upright.png"]


def test_workers_and_batches_do_not_change_the_worklist(xgb, tmp_path, monkeypatch):
    images = _messy_folder(tmp_path / "images")
    triage(xgb, images, tmp_path / "one", n_jobs=1)
    monkeypatch.setattr(triage_module, "CHUNK", 2)
    monkeypatch.setattr(triage_module, "BATCH", 3)
    lines = []
    triage(xgb, images, tmp_path / "two", n_jobs=2, write=lines.append)
    assert _read(tmp_path / "one")[0].equals(_read(tmp_path / "two")[0])
    assert _read(tmp_path / "one")[1].equals(_read(tmp_path / "two")[1])
    assert len(lines) >= 2 and lines[-1].startswith("[" + "#" * 24 + "] 10/10 files")


def test_an_output_folder_inside_the_images_is_not_scored(xgb, tmp_path):
    images = tmp_path / "images"
    write_image(images / "a.jpg", 1)
    triage(xgb, images, images / "out", n_jobs=1)
    result = triage(xgb, images, images / "out", n_jobs=1)
    assert (result.scored, result.unreadable) == (1, 0)


def test_a_users_own_worklist_or_model_folder_is_never_replaced(
    xgb, xgb_model, tmp_path, capsys
):
    images = tmp_path / "images"
    write_image(images / "a.jpg", 1)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "worklist.csv").write_text("my notes\n")
    with pytest.raises(UserError, match=r"holds worklist\.csv, which triage did not"):
        triage(xgb, images, mine, n_jobs=1)
    assert [p.name for p in mine.iterdir()] == ["worklist.csv"]
    assert (mine / "worklist.csv").read_text() == "my notes\n"
    # The model folder itself: its model.json is not a triage's copy.
    before = {p.name: p.read_bytes() for p in xgb_model.iterdir() if p.is_file()}
    argv = ["triage", "--model", str(xgb_model), "--images", str(images)]
    assert main([*argv, "--out", str(xgb_model)]) == 2
    assert "holds model.json, which triage did not write" in capsys.readouterr().err
    after = {p.name: p.read_bytes() for p in xgb_model.iterdir() if p.is_file()}
    assert after == before


@pytest.mark.parametrize(
    "name", ["xgb_model", "cnn_model", "hybrid_model", "fusion_model", "seed_cnn_model"]
)
def test_triage_scores_test_images_as_the_runs_final_fit(
    tiny_run, name, request, tmp_path
):
    model = load_model(request.getfixturevalue(name))
    triage(model, tiny_run.data / "Test", tmp_path / "out", n_jobs=1)
    worklist, unreadable = _read(tmp_path / "out")
    assert unreadable.empty
    store = RunStore(tiny_run.run_dir)
    key = f"{model.metadata['model']}__none__final"
    final = store.scores(key)
    table = pd.read_parquet(store.path("manifest.parquet"))
    files = table["file"].to_numpy()[final["evaluation_rows"]]
    expected = dict(zip(files, final["evaluation_proba"][:, 0], strict=True))
    got = dict(zip(worklist["file"], worklist["melanoma_probability"], strict=True))
    assert len(got) == len(expected) == 5
    for file, probability in got.items():
        assert probability == pytest.approx(expected[f"Test/{file}"], abs=1e-5)
    _check_order(worklist, model.metadata["threshold"]["threshold"])


@requires_chromium
def test_the_page_renders_in_headless_chromium(xgb, tmp_path):
    triage(xgb, _messy_folder(tmp_path / "images"), tmp_path / "out", n_jobs=1)
    worklist, _ = _read(tmp_path / "out")
    with loaded(tmp_path / "out" / "worklist.html") as shown:
        page = shown.page
        assert shown.errors == [] and shown.dialogs == []
        widths = page.eval_on_selector_all(
            "#worklist-table img", "images => images.map(image => image.naturalWidth)"
        )
        assert len(widths) == len(worklist) and min(widths) > 0
        assert page.locator("img[src='x']").count() == 0
        rows = page.locator("#worklist-table tbody tr")
        assert rows.count() == len(worklist)
        shown = [
            rows.nth(k).locator("td").nth(2).inner_text() for k in range(len(worklist))
        ]
        assert shown == worklist["file"].tolist()  # same order as the CSV
        urgent = (worklist["flag"] == "URGENT").sum()
        assert page.locator("#worklist-table tr.urgent").count() == urgent
        assert page.locator("#unreadable-table tbody tr").count() == 4
