"""A trial record reads and writes back the JSON the store has always written."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.core.cache import atomic_write_json
from benchmarks.core.errors import UserError
from benchmarks.grid.configuration import Configuration
from benchmarks.grid.record import RecordFormatError, TrialRecord, by_configuration
from benchmarks.grid.store import RunStore
from tests.conftest import trial_record

#: Records written by the store before records were typed: a fold trial with
#: importance, a combining family's fold (parts, no explanation timing) and a
#: CNN's final fit (curves, Test figures).
WRITTEN_BEFORE = Path(__file__).parent / "records"


def _written(record: TrialRecord, path: Path) -> bytes:
    atomic_write_json(path, record.to_json())
    return path.read_bytes()


@pytest.mark.parametrize("name", sorted(p.name for p in WRITTEN_BEFORE.glob("*.json")))
def test_a_record_written_before_reads_and_writes_back_byte_for_byte(name, tmp_path):
    original = (WRITTEN_BEFORE / name).read_bytes()
    record = TrialRecord.from_json(json.loads(original))
    assert record.key == Path(name).stem
    assert _written(record, tmp_path / name) == original


def test_the_fixtures_cover_each_kind_of_record():
    records = {
        path.stem: TrialRecord.from_json(json.loads(path.read_text("utf-8")))
        for path in WRITTEN_BEFORE.glob("*.json")
    }
    fusion = records["fusion__none__fold0"]
    assert fusion.parts == ("xgb__none__fold0", "cnn__none__fold0")
    assert fusion.timings.explain_seconds is None and fusion.fold == 0
    final = records["cnn__none__final"]
    assert final.is_final and final.evaluated_on == "test"
    assert final.evaluated is final.metrics.test and final.metrics.validation is None
    assert final.curves["unit"] == "epoch" and final.importance is None
    assert records["linear-invariant__none__fold0"].importance


def test_optional_fields_round_trip(tmp_path):
    record = trial_record(
        "xgb",
        "smote",
        None,
        train={"balanced_accuracy": 0.9},
        external={"clinic": {"melanoma_auc": 0.7}},
        resampling_notes=("fewer neighbours",),
    )
    data = json.loads(_written(record, tmp_path / "r.json"))
    assert data["fold"] == "final" and data["resampling_notes"] == ["fewer neighbours"]
    assert "importance" not in data and "parts" not in data
    assert "validation" not in data["metrics"]
    assert TrialRecord.from_json(data) == record


def test_a_record_of_a_later_format_is_refused_naming_its_format(tmp_path):
    store = RunStore(tmp_path)
    data = {**trial_record("xgb", "none", 0, {}).to_json(), "format": 2}
    store.trials_dir.mkdir()
    atomic_write_json(store.trials_dir / "xgb__none__fold0.json", data)
    with pytest.raises(RecordFormatError) as refused:
        store.records()
    message = str(refused.value)
    assert "xgb__none__fold0.json: trial record format 2" in message
    assert "reads format 1" in message and "\n" not in message
    # Not damage: the store never sets it aside for a resume to overwrite.
    with pytest.raises(RecordFormatError):
        store.set_aside_damaged()
    assert (store.trials_dir / "xgb__none__fold0.json").is_file()


def test_a_file_that_is_not_a_record_is_damaged(tmp_path):
    store = RunStore(tmp_path)
    store.trials_dir.mkdir()
    (store.trials_dir / "x.json").write_text('{"key": "x"}', "utf-8")
    with pytest.raises(UserError, match=r"x\.json: damaged \(not a trial record"):
        store.records()
    (why,) = store.damaged_trials().values()
    assert why.startswith(f"{store.trials_dir / 'x.json'}: damaged (not a trial record")


def test_records_group_by_configuration_in_the_order_they_come():
    records = [
        trial_record("xgb", "none", 0),
        trial_record("cnn", "none", 0),
        trial_record("xgb", "none", None),
        trial_record("xgb", "smote", 1),
        trial_record("xgb", "none", 1),
    ]
    grouped = by_configuration(records)
    assert list(grouped) == [
        Configuration("xgb", "none"),
        Configuration("cnn", "none"),
        Configuration("xgb", "smote"),
    ]
    assert [r.fold for r in grouped[Configuration("xgb", "none")]] == [0, None, 1]
    assert replace(records[0], fold=None).trial.key == "xgb__none__final"
