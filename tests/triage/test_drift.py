"""triage says when the images it scores are unlike the model's training images."""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from benchmarks.cli import main
from benchmarks.deploy.model_dir import load_model
from benchmarks.deploy.triage import PAGE, triage
from benchmarks.scoring.drift import (
    SKIN_FEATURES,
    shift,
    size_shift,
    size_statistics,
    statistics,
)


def test_a_shift_or_many_outliers_is_named_and_alike_images_are_not():
    rng = np.random.default_rng(0)
    training = rng.normal([50, 10, 20], [5, 2, 3], size=(500, 3))
    reference = statistics(training, "skin colour", list(SKIN_FEATURES))
    alike = rng.normal([50, 10, 20], [5, 2, 3], size=(100, 3))
    assert shift(reference, alike) is None
    bluer = alike - [0, 0, 6]
    sentence = shift(reference, bluer)
    assert "100 images are unlike the model's training images" in sentence
    assert re.search(
        r"\(skin colour: the skin's yellowness \(CIELab b\) differs by 2\.\d "
        "training standard",
        sentence,
    )
    mixed = alike.copy()  # a third from cameras far brighter or darker, no net shift
    mixed[:15] += [25, 0, 0]
    mixed[15:30] -= [25, 0, 0]
    assert re.search(
        r"by 0\.\d training .* 3\d% of images lie beyond 3", shift(reference, mixed)
    )


def _cast(folder, out, gains) -> None:
    for path in folder.rglob("*.jpg"):
        pixels = np.asarray(Image.open(path).convert("RGB"), dtype=float) * gains
        target = out / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(target)


def test_triage_warns_about_other_cameras_not_about_the_training_images(
    tiny_run, xgb_model, cnn_model, tmp_path, capsys
):
    for folder in (xgb_model, cnn_model):
        model = load_model(folder)
        assert model.metadata["input_statistics"]["n"] == 22
        same = triage(model, tiny_run.data / "Train", tmp_path / folder.name / "same")
        assert same.warning is None
    cast = tmp_path / "green-cast"
    _cast(tiny_run.data / "Train", cast, np.array([0.3, 1.0, 0.3]))
    for folder in (xgb_model, cnn_model):
        result = triage(load_model(folder), cast, tmp_path / folder.name / "cast")
        assert "unlike the model's training images" in result.warning
        assert 'id="drift"' in (result.out / PAGE).read_text("utf-8")
    argv = ["triage", "--model", str(xgb_model), "--images", str(cast)]
    assert main([*argv, "--out", str(tmp_path / "cli")]) == 0
    err = capsys.readouterr().err
    assert "melanoma-bench: warning: these 22 images are unlike" in err


def test_another_shape_or_size_is_named_and_the_same_is_not():
    reference = size_statistics(np.full(50, 180), np.full(50, 180))
    assert reference["median_aspect"] == 1.0
    assert size_shift(reference, np.array([[180, 180], [200, 190]])) is None
    sentence = size_shift(reference, np.tile([600, 450], (30, 1)))
    assert sentence.startswith("these 30 images are typically 600x450 (aspect 1.33)")
    assert "180x180 (aspect 1.00, medians)" in sentence
    assert "squashed to a square" in sentence
    # Square again, but over four times the side: another scale of lesion,
    # and nothing is squashed.
    larger = size_shift(reference, np.tile([800, 800], (5, 1)))
    assert "typically 800x800" in larger
    assert "another scale" in larger and "squashed" not in larger


def test_triage_warns_when_the_files_are_shaped_unlike_the_training_images(
    tiny_run, xgb_model, tmp_path
):
    model = load_model(xgb_model)
    trained = model.metadata["image_size"]
    wide = tmp_path / "wide"
    wide.mkdir()
    for index, path in enumerate(sorted(tiny_run.data.rglob("*.jpg"))[:6]):
        image = Image.open(path).convert("RGB")
        width = round(trained["median_height"] * 4 / 3)
        image.resize((width, round(trained["median_height"]))).save(
            wide / f"{index}.jpg"
        )
    result = triage(model, wide, tmp_path / "out")
    assert "(aspect 1.33) where the model's training images were" in result.warning
