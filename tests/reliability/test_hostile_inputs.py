"""What a hostile folder or a shared disk can do to the suite: formula cells in
a CSV, image ids that leave the image folder, file modes, unreadable files."""

from __future__ import annotations

import logging
import os
import stat

import pandas as pd
import pytest

from benchmarks.core.cache import atomic_write_json
from benchmarks.core.errors import UserError
from benchmarks.core.spreadsheet import csv_bytes, neutralised
from benchmarks.data.datasets import load_manifest
from tests.conftest import write_image


def test_cells_a_spreadsheet_would_evaluate_are_written_as_text(tmp_path):
    table = pd.DataFrame(
        {
            "file": ['=HYPERLINK("http://x")', "+1", "-cmd", "@SUM(A1)", "a.jpg"],
            "probability": [-0.5, 0.1, 0.2, 0.3, 0.4],
        }
    )
    safe = neutralised(table)
    assert safe["file"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-cmd",
        "'@SUM(A1)",
        "a.jpg",
    ]
    assert safe["probability"].tolist() == [-0.5, 0.1, 0.2, 0.3, 0.4]
    path = tmp_path / "out.csv"
    path.write_bytes(csv_bytes(table))
    assert pd.read_csv(path)["file"].str[0].isin(["'", "a"]).all()


def test_csv_image_ids_outside_the_image_folder_are_reported_not_opened(tmp_path):
    images = tmp_path / "data" / "images"
    write_image(images / "in.jpg", 1)
    secret = write_image(tmp_path / "outside" / "secret.jpg", 2)
    table = pd.DataFrame(
        {
            "image_id": ["in", "../../outside/secret.jpg", str(secret)],
            "dx": ["mel", "nv", "nv"],
        }
    )
    table.to_csv(tmp_path / "data" / "metadata.csv", index=False)
    manifest = load_manifest(tmp_path / "data" / "metadata.csv", images=images)
    assert manifest["readable"].tolist() == [True, False, False]
    assert (
        manifest["error"][1:] == "outside the image folder (--images); not opened"
    ).all()
    assert (manifest["sha256"][1:] == "").all()  # never read


def test_written_files_follow_the_umask_not_a_temporary_files_0600(tmp_path):
    path = tmp_path / "facts.json"
    atomic_write_json(path, {"a": 1})
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_a_run_names_the_unreadable_files_it_skips(tmp_path, caplog, monkeypatch):
    from benchmarks.grid.config import PROFILES, RunConfig
    from benchmarks.grid.runner import prepare
    from tests.harness.conftest import TINY

    monkeypatch.setitem(PROFILES, "quick", TINY)
    monkeypatch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "lesions"
    for label in ("melanoma", "nevus"):
        for index in range(4):
            write_image(
                root / "Train" / label / f"{index}.jpg", 10 * index + len(label)
            )
    (root / "Train" / "nevus" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    config = RunConfig(data=str(root), models=("xgb",), strategies=("none",))
    with caplog.at_level(logging.WARNING, logger="benchmarks"):
        prepare(config, tmp_path / "runs")
    assert "skipping 1 unreadable file(s): broken.jpg" in caplog.text
    with pytest.raises(UserError, match="1 unreadable file"):
        prepare(
            RunConfig(data=str(root), models=("xgb",), strict=True), tmp_path / "r2"
        )


def test_a_pixel_bomb_is_an_unreadable_file_found_from_its_header(tmp_path):
    from PIL import Image

    folder = tmp_path / "lesions" / "Train"
    for label in ("melanoma", "nevus"):
        write_image(folder / label / "ok.jpg", len(label))
    bomb = folder / "nevus" / "bomb.png"
    Image.new("1", (12000, 12000)).save(bomb)
    assert bomb.stat().st_size < 100_000
    manifest = load_manifest(tmp_path / "lesions")
    row = manifest[manifest["path"].str.endswith("bomb.png")].iloc[0]
    assert not row["readable"]
    assert row["error"] == "12000x12000 pixels, over the 64 megapixel limit"


def test_single_class_data_stops_before_any_trial(tmp_path, monkeypatch, capsys):
    from benchmarks.cli import main

    monkeypatch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "lesions"
    for index in range(6):
        write_image(root / "Train" / "melanoma" / f"{index}.jpg", index)
    runs = tmp_path / "runs"
    assert main(["run", "xgb", "--data", str(root), "--out", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "hold 1 class (melanoma); a benchmark needs two or more" in err
    assert not any(runs.iterdir())  # no run folder, no trial


def test_broken_and_looping_links_are_reported_not_passed_over(tmp_path):
    folder = tmp_path / "lesions" / "Train"
    for label in ("melanoma", "nevus"):
        write_image(folder / label / "ok.jpg", len(label))
    (folder / "nevus" / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (folder / "nevus" / "a.jpg").symlink_to(folder / "nevus" / "b.jpg")
    (folder / "nevus" / "b.jpg").symlink_to(folder / "nevus" / "a.jpg")
    manifest = load_manifest(tmp_path / "lesions")
    errors = dict(
        zip(
            manifest["path"].str.rsplit("/", n=1).str[-1],
            manifest["error"],
            strict=True,
        )
    )
    assert errors["gone.jpg"] == "broken link"
    assert errors["a.jpg"] == errors["b.jpg"] == "Too many levels of symbolic links"
    assert errors["ok.jpg"] == ""


def test_a_header_only_csv_says_so(tmp_path):
    (tmp_path / "metadata.csv").write_text("lesion_id,image_id,dx\n")
    with pytest.raises(UserError, match="a header and no rows; list one image per row"):
        load_manifest(tmp_path / "metadata.csv")


def test_class_names_the_font_lacks_do_not_flood_the_output():
    import io
    import warnings

    import matplotlib.pyplot as plt

    from reports._figures import _png

    figure, axes = plt.subplots()
    axes.set_title("黑色素瘤 / 痣")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.savefig(io.BytesIO(), format="png")  # as drawn without the filter
        assert any("missing from" in str(item.message) for item in caught)
        caught.clear()
        assert _png(figure).startswith("data:image/png;base64,")
    assert not caught
