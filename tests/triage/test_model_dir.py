"""Model folders: checksums refuse missing or altered files; versions warn."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.core.errors import UserError
from benchmarks.deploy.model_dir import ModelVersionWarning, _load_estimator, load_model
from tests.conftest import resign


@pytest.fixture
def copy(xgb_model, tmp_path) -> Path:
    return Path(shutil.copytree(xgb_model, tmp_path / "model"))


def test_a_fresh_model_loads_without_warnings(xgb_model, recwarn):
    model = load_model(xgb_model)
    assert set(model.estimators) == {"xgb"}
    assert not [w for w in recwarn if issubclass(w.category, ModelVersionWarning)]


@pytest.mark.parametrize("name", ["xgb.xgboost.json", "model.json", "SHA256SUMS"])
def test_a_missing_file_is_refused_by_name(copy, name):
    (copy / name).unlink()
    with pytest.raises(UserError, match=rf"{name}: missing.*re-create it with train"):
        load_model(copy)


@pytest.mark.parametrize("name", ["xgb.xgboost.json", "model.json"])
def test_an_altered_file_is_refused_by_name(copy, name):
    data = (copy / name).read_bytes()
    (copy / name).write_bytes(data.replace(b"0.", b"1.", 1))
    with pytest.raises(UserError, match=rf"{name}: does not match its checksum"):
        load_model(copy)


def test_a_checksum_list_without_a_file_is_refused(copy):
    sums = copy / "SHA256SUMS"
    sums.write_text(
        "".join(
            line + "\n" for line in sums.read_text().splitlines() if "xgb" not in line
        )
    )
    with pytest.raises(UserError, match=r"does not list xgb\.xgboost\.json"):
        load_model(copy)
    sums.write_text("not a checksum line\n")
    with pytest.raises(UserError, match="line 1 is not"):
        load_model(copy)


def test_another_package_version_warns(copy):
    def older(metadata):
        metadata["versions"]["melanoma-bench"] = "0.0.1"

    resign(copy, older)
    with pytest.warns(ModelVersionWarning, match=r"melanoma-bench 0\.0\.1 \(now "):
        model = load_model(copy)
    assert model.estimators["xgb"] is not None


def test_other_features_are_refused(copy):
    def other_extractor(metadata):
        metadata["inputs"]["features"]["extractor_version"] = "0.1"

    resign(copy, other_extractor)
    with pytest.raises(UserError, match=r"feature extractor version 0\.1"):
        load_model(copy)


def test_triage_command_refuses_an_altered_model_in_one_line(copy, tmp_path, capsys):
    (copy / "xgb.xgboost.json").write_bytes(b"{}")
    argv = ["triage", "--model", str(copy), "--images", str(tmp_path)]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not match its checksum" in err
    assert not (tmp_path / "out").exists()


def test_triage_command_prints_the_version_warning_in_one_line(copy, tmp_path, capsys):
    resign(copy, lambda metadata: metadata["versions"].update(xgboost="1.0"))
    images = tmp_path / "images"
    images.mkdir()
    argv = ["triage", "--model", str(copy), "--images", str(images)]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "melanoma-bench: warning: " in err and "xgboost 1.0 (now" in err


def test_a_folder_in_an_earlier_format_is_refused_naming_its_version(copy):
    resign(copy, lambda metadata: metadata.update(format_version=1))
    with pytest.raises(UserError, match=r"model format 1, from an earlier .* train"):
        load_model(copy)


def test_a_binary_checksum_list_or_a_schema_error_is_one_line(copy):
    (copy / "SHA256SUMS").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(UserError, match=r"SHA256SUMS: not text \(damaged\)"):
        load_model(copy)


def test_a_model_json_without_its_fields_is_refused_by_name(xgb_model, tmp_path):
    folder = Path(shutil.copytree(xgb_model, tmp_path / "schema"))
    resign(folder, lambda metadata: metadata.pop("formats"))
    with pytest.raises(UserError, match=r"model.json: formats must give the format"):
        load_model(folder)
    other = Path(shutil.copytree(xgb_model, tmp_path / "inputs"))
    resign(other, lambda data: data["inputs"].pop("image_cache_version"))
    with pytest.raises(UserError, match=r"model.json: lacks what this version reads"):
        load_model(other)


def test_a_calibrated_xgboost_model_round_trips(tmp_path):
    """``--calibration`` wraps XGBoost in scikit-learn's calibrator, saved with
    skops: our estimator and XGBoost's booster inside must load again."""
    import skops.io
    from sklearn.calibration import CalibratedClassifierCV

    from models import XGBoostClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4)).astype(np.float32)
    y = np.where(X[:, 0] + rng.normal(scale=0.5, size=120) > 0, "melanoma", "nevus")
    calibrated = CalibratedClassifierCV(
        XGBoostClassifier(n_estimators=20), method="isotonic", cv=3
    ).fit(X, y)
    path = tmp_path / "xgb.skops"
    skops.io.dump(calibrated, path)

    loaded = _load_estimator("skops", path, "benchmarks")

    np.testing.assert_array_equal(loaded.predict_proba(X), calibrated.predict_proba(X))


def test_a_skops_file_with_a_foreign_type_is_refused_in_one_line(tmp_path):
    import skops.io
    from sklearn.pipeline import Pipeline

    path = tmp_path / "other.skops"
    skops.io.dump(Pipeline([("step", _Foreign())]), path)

    with pytest.raises(UserError, match=r"holds type .*_Foreign.*refusing") as error:
        _load_estimator("skops", path, "benchmarks")
    assert "cannot be loaded" not in str(error.value)


class _Foreign:
    def fit(self, X, y=None):
        return self
