"""`segment`: the feature masks written at the image's size and scored against
expert masks; and the figure on a fixed ham10000-dev sample."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from benchmarks.cli import main
from benchmarks.data.segment import (
    FAILED_JACCARD,
    at_size,
    audit_line,
    mask_audit,
    scores,
    segment_folder,
    summary,
)
from features import lesion_mask, mask_unreliable
from features._learned_mask import in_fitting_half
from tests.conftest import (
    HAM10000_DEV,
    SEED,
    requires_ham10000_dev,
    write_class_folders,
)

#: Images of the fixed ham10000-dev sample the figure is guarded on.
SAMPLE = 150
#: The least mean Jaccard the guard allows on it: the issue's bar, 0.80, would
#: let the outline fall back most of the way to Otsu's 0.71 unnoticed.
SAMPLE_MEAN = 0.83
#: The most of them below 0.65 the guard allows: the sample's 8, and two more.
SAMPLE_FAILED = 10 / SAMPLE


def _lesion_image(width: int, height: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Skin with a brown ellipse and a paler rim, and the ellipse's true mask."""
    rng = np.random.default_rng(seed)
    image = np.empty((height, width, 3), np.float32)
    image[:] = (224, 180, 160)
    truth = np.zeros((height, width), np.uint8)
    centre = (width // 2 + int(rng.integers(-5, 6)), height // 2)
    axes = (width // 5, height // 6)
    cv2.ellipse(truth, centre, axes, 15, 0, 360, 1, -1)
    inner = np.zeros_like(truth)
    cv2.ellipse(inner, centre, (axes[0] * 2 // 3, axes[1] * 2 // 3), 15, 0, 360, 1, -1)
    image[truth == 1] = (170, 120, 95)
    image[inner == 1] = (110, 70, 50)
    image += rng.normal(0, 4, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), truth.astype(bool)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path, dict[str, np.ndarray]]:
    images, truth = tmp_path / "images", tmp_path / "truth"
    images.mkdir()
    truth.mkdir()
    truths = {}
    for index, (stem, suffix) in enumerate(
        (("a", "_segmentation"), ("b", "_lesion"), ("c", ""))
    ):
        image, mask = _lesion_image(240, 180, SEED + index)
        Image.fromarray(image).save(images / f"{stem}.png")
        Image.fromarray(mask.astype(np.uint8) * 255).save(truth / f"{stem}{suffix}.png")
        truths[stem] = mask
    return images, truth, truths


def test_scores_count_overlap() -> None:
    mask = np.zeros((10, 10), bool)
    truth = np.zeros((10, 10), bool)
    mask[:, :5] = True
    truth[:, :4] = True
    jaccard, dice = scores(mask, truth)
    assert jaccard == pytest.approx(40 / 50)
    assert dice == pytest.approx(80 / 90)
    assert scores(np.zeros((4, 4), bool), np.zeros((4, 4), bool)) == (1.0, 1.0)


def test_masks_written_at_image_size_and_scored(folders, tmp_path, capsys) -> None:
    images, truth, truths = folders
    out = tmp_path / "masks"
    args = ["segment", "--images", str(images), "--truth", str(truth)]
    code = main([*args, "--out", str(out), "--jobs", "1"])
    assert code == 0
    for stem, expected in truths.items():
        written = np.asarray(Image.open(out / f"{stem}.png"))
        assert written.shape == (180, 240)
        assert set(np.unique(written)) <= {0, 255}
        assert scores(written == 255, expected)[0] > 0.85
    with open(out / "segment.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["image"] for row in rows] == ["a.png", "b.png", "c.png"]
    assert [row["truth"] for row in rows] == [
        "a_segmentation.png",
        "b_lesion.png",
        "c.png",
    ]
    assert all(float(row["jaccard"]) > 0.85 for row in rows)
    assert all(float(row["dice"]) >= float(row["jaccard"]) for row in rows)
    printed = capsys.readouterr().out
    assert "3 masks written" in printed and "0.0% below 0.65" in printed


def test_mask_is_the_features_mask(folders, tmp_path) -> None:
    """One code path: the written mask is the features' mask at the image's size."""
    from benchmarks.data.images import decode_resized

    images, _, _ = folders
    table = segment_folder(images, tmp_path, n_jobs=1)
    assert "jaccard" not in table
    square = decode_resized(images / "a.png", 180)
    _, mask, _ = lesion_mask(square)
    written = np.asarray(Image.open(tmp_path / "a.png")) == 255
    np.testing.assert_array_equal(written, at_size(mask, (240, 180)))


def test_summary_counts_failed_masks() -> None:
    import pandas as pd

    table = pd.DataFrame(
        {
            "image": ["a", "b", "c", "d"],
            "error": [""] * 4,
            "fallback": [False, False, True, False],
            "unreliable": [False, False, True, False],
            "jaccard": [0.9, 0.8, 0.1, 0.7],
            "dice": [0.95, 0.9, 0.2, 0.8],
        }
    )
    line = summary(table)
    assert "1 look unreliable (25.0%)" in line
    unreadable = pd.DataFrame({"image": ["x"], "error": ["truncated image"]})
    assert summary(unreadable) == "no masks written: all 1 images were unreadable"
    assert "Jaccard mean 0.625, median 0.750, 25.0% below 0.65" in line


@pytest.mark.parametrize(
    ("area", "edge", "fallback", "expected"),
    [
        ((40, 60), False, False, False),
        ((40, 60), False, True, True),
        ((49, 51), False, False, True),  # covers almost nothing
        ((0, 100), False, False, True),  # almost everything
        ((30, 70), True, False, True),  # most of the frame's edge
    ],
)
def test_mask_unreliable(area, edge, fallback, expected) -> None:
    mask = np.zeros((100, 100), bool)
    mask[area[0] : area[1], area[0] : area[1]] = True
    if edge:
        mask[:, :2] = mask[:, -2:] = mask[:2, :] = True
    assert mask_unreliable(mask, fallback) is expected


def test_audit_counts_unreliable_masks() -> None:
    lesions = [_lesion_image(180, 180, SEED + k)[0] for k in range(3)]
    blank = np.full((180, 180, 3), 200, np.uint8)  # no lesion: the fallback
    facts = mask_audit(np.stack([*lesions, blank]), n_jobs=1)
    assert facts == {"images": 4, "unreliable": 1, "unreliable_share": 0.25}
    line = audit_line(facts)
    assert "lesion masks that look unreliable" in line and "1 (25.0% of 4" in line


def test_errors_are_one_line(tmp_path, capsys) -> None:
    assert main(["segment", "--images", str(tmp_path / "no"), "--out", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--images" in err and "no such folder" in err
    (tmp_path / "empty").mkdir()
    assert main(["segment", "--images", str(tmp_path / "empty"), "--out", "x"]) == 2
    assert "no .jpg" in capsys.readouterr().err


def test_truth_without_any_match_is_an_error(folders, tmp_path, capsys) -> None:
    images, _, _ = folders
    other = tmp_path / "other"
    other.mkdir()
    args = ["segment", "--images", str(images), "--truth", str(other)]
    assert main([*args, "--out", str(tmp_path / "m"), "--jobs", "1"]) == 2
    assert "no mask for any image" in capsys.readouterr().err


def _sums(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_masks_never_replace_the_users_images_or_masks(folders, tmp_path, capsys):
    images, truth, _ = folders
    before = {"images": _sums(images), "truth": _sums(truth)}
    args = ["segment", "--images", str(images), "--truth", str(truth), "--jobs", "1"]
    assert main([*args, "--out", str(images)]) == 2
    assert "the --images folder" in capsys.readouterr().err
    assert main([*args, "--out", str(truth)]) == 2
    assert "the --truth folder" in capsys.readouterr().err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "b.png").write_bytes(b"a user's own file")
    assert main([*args, "--out", str(mine)]) == 2
    error = capsys.readouterr().err
    assert "holds b.png, which segment did not write" in error
    assert _sums(mine) == {"b.png": b"a user's own file"}
    assert {"images": _sums(images), "truth": _sums(truth)} == before
    # A folder segment wrote is its own: a second run replaces its masks.
    out = tmp_path / "masks"
    assert main([*args, "--out", str(out)]) == 0
    assert main([*args, "--out", str(out)]) == 0
    assert sorted(_sums(out)) == ["a.png", "b.png", "c.png", "segment.csv"]


def test_an_unusable_expert_mask_leaves_its_image_unscored(folders, tmp_path, capsys):
    images, truth, _ = folders
    (truth / "a_segmentation.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    Image.new("L", (100, 100)).save(truth / "b_lesion.png")  # 1:1 for a 4:3 image
    out = tmp_path / "masks"
    args = ["segment", "--images", str(images), "--truth", str(truth), "--jobs", "1"]
    assert main([*args, "--out", str(out)]) == 0
    with open(out / "segment.csv", newline="") as stream:
        rows = {row["image"]: row for row in csv.DictReader(stream)}
    assert rows["a.png"]["truth_error"].startswith("not a readable mask image")
    assert rows["b.png"]["truth_error"] == "100x100, not the shape of its 240x180 image"
    assert rows["a.png"]["jaccard"] == rows["b.png"]["jaccard"] == ""
    assert rows["c.png"]["truth_error"] == "" and float(rows["c.png"]["jaccard"]) > 0.85
    printed = capsys.readouterr().out
    assert "unusable expert mask b_lesion.png: 100x100" in printed
    assert "2 expert masks unusable" in printed and "against 1 expert masks" in printed


@pytest.mark.isic9
@pytest.mark.slow
@requires_ham10000_dev
def test_masks_match_experts_on_lesions_the_segmenter_never_saw(tmp_path) -> None:
    """The figure docs/features.md states, guarded on a fixed sample of the
    half of ham10000-dev's lesions the learned outline was not fitted on: on
    that half mean Jaccard 0.853 and 6.7% below 0.65; on this sample 0.852
    and 8 images below. A mask that gets worse fails it."""
    table = pd.read_csv(HAM10000_DEV / "metadata.csv", dtype=str)
    unseen = sorted(table.loc[~table["lesion_id"].map(in_fitting_half), "image_id"])
    rng = np.random.default_rng(SEED)
    chosen = sorted(rng.choice(len(unseen), SAMPLE, replace=False))
    images = tmp_path / "images"
    images.mkdir()
    for index in chosen:
        name = f"{unseen[index]}.jpg"
        (images / name).symlink_to(HAM10000_DEV / "images" / name)
    table = segment_folder(images, tmp_path, HAM10000_DEV / "masks", n_jobs=1).dropna(
        subset=["jaccard"]
    )
    assert len(table) == SAMPLE
    assert table["jaccard"].mean() >= SAMPLE_MEAN
    assert (table["jaccard"] < FAILED_JACCARD).mean() <= SAMPLE_FAILED


def test_a_second_mask_audit_of_unchanged_data_segments_nothing(
    tmp_path, monkeypatch
) -> None:
    from benchmarks.data import segment
    from benchmarks.data.datasets import load_manifest

    root = write_class_folders(tmp_path / "data", {"melanoma": 3, "nevus": 3}, SEED)
    manifest = load_manifest(str(root))
    first = segment.audit_masks(manifest, cache=str(tmp_path / "cache"), n_jobs=1)
    assert first["images"] == int(manifest["readable"].sum()) > 0

    def segments(*args, **kwargs):
        raise AssertionError("segmented again")

    monkeypatch.setattr(segment, "mask_audit", segments)
    again = segment.audit_masks(manifest, cache=str(tmp_path / "cache"), n_jobs=1)
    assert again == first
    with pytest.raises(AssertionError, match="segmented again"):
        segment.audit_masks(manifest, cache=str(tmp_path / "other"), n_jobs=1)
