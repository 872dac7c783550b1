"""The cost model, its timing history and the ETA it gives as trials finish."""

from __future__ import annotations

import json
import re

import pytest

from benchmarks.grid import estimate, families, runner
from benchmarks.grid.config import PROFILES, RunConfig
from benchmarks.grid.configuration import Trial
from benchmarks.grid.progress import GridProgress, minutes
from tests.conftest import trial_record

QUICK, FULL = PROFILES["quick"], PROFILES["full"]


def _trials(model: str, n: int) -> list[Trial]:
    return [Trial(model, "none", fold) for fold in range(n)]


def _shrunk(n: int, ratio: float, towards: float = 1.0) -> float:
    """``ratio`` measured over ``n`` trials, pulled towards ``towards``."""
    return n / (n + 1) * ratio + 1 / (n + 1) * towards


def test_eta_blends_measured_times_into_the_model():
    """Predicted 10 s a trial; the first two take 20 s: the rest of the family
    is corrected towards 20 s, shrunk while few were measured."""
    trials = _trials("cnn", 6)
    guess = estimate.Estimate(dict.fromkeys(trials, 10.0))
    assert guess.remaining(trials) == pytest.approx(60.0)
    guess.observe(trials[0], 20.0)
    # One measurement of ratio 2: the run's ratio is 1.5, the family's 1.75.
    assert guess.ratio("cnn") == pytest.approx(_shrunk(1, 2.0, _shrunk(1, 2.0)))
    assert guess.ratio("cnn") == pytest.approx(1.75)
    assert guess.remaining(trials[1:]) == pytest.approx(5 * 17.5)
    guess.observe(trials[1], 20.0)
    assert guess.ratio("cnn") == pytest.approx(_shrunk(2, 2.0, _shrunk(2, 2.0)))
    # A trial 4 s into its predicted span has that much less left.
    left = guess.remaining(trials[2:], in_flight=4.0)
    assert left == pytest.approx(4 * 10.0 * guess.ratio("cnn") - 4.0)


def test_one_family_measured_corrects_the_others_less():
    xgb, cnn = _trials("xgb", 3), _trials("cnn", 3)
    guess = estimate.Estimate({**dict.fromkeys(xgb, 2.0), **dict.fromkeys(cnn, 30.0)})
    for trial in xgb:
        guess.observe(trial, 4.0)  # the machine runs at half the assumed speed
    assert guess.ratio("xgb") == pytest.approx(_shrunk(3, 2.0, _shrunk(3, 2.0)))
    assert guess.ratio("cnn") == pytest.approx(_shrunk(3, 2.0))
    assert 1.0 < guess.ratio("cnn") < guess.ratio("xgb")
    # A variant costs what its family does.
    assert guess.ratio("xgb@shades-of-gray") == guess.ratio("xgb")


def test_jobs_divide_the_remaining_time():
    trials = _trials("xgb", 4)
    guess = estimate.Estimate(dict.fromkeys(trials, 10.0))
    assert guess.remaining(trials, jobs=2) == pytest.approx(20.0)
    assert guess.remaining(trials[:1], in_flight=3.0, jobs=4) == pytest.approx(7.0)
    assert guess.remaining([], jobs=2) == 0.0


def test_work_grows_with_images_epochs_and_input_size():
    cnn, seed = families.family("cnn"), families.family("seed-cnn")
    xgb, fusion = families.family("xgb"), families.family("fusion")
    small = estimate.trial_work(cnn, QUICK, 400, 600)
    assert small.kind == "images"
    assert estimate.trial_work(cnn, QUICK, 4000, 6000).units > 5 * small.units
    assert estimate.trial_work(cnn, FULL, 400, 600).units > 3 * small.units
    # The reference network reads 180x180 images.
    assert estimate.trial_work(seed, FULL, 400, 600).units > small.units
    trees = estimate.trial_work(xgb, QUICK, 400, 600)
    assert trees.kind == "table"
    assert estimate.trial_work(xgb, FULL, 400, 600).units == 5 * trees.units
    assert estimate.trial_work(fusion, QUICK, 400, 600) == estimate.Work("combine", 1)


@pytest.mark.parametrize(
    ("model", "n_train", "n_scored", "seconds"),
    [
        # isic9, full profile, 5 folds, a fold's fit (docs/speed.md, 2-core
        # AMD EPYC, 2026-11-30): cnn 164 s and seed-cnn 599 s two at a time
        # (2 threads each on 2 cores: half that alone), xgb 10.5 s.
        ("cnn", 1793, 2241, 82.0),
        ("seed-cnn", 1793, 2241, 300.0),
        ("xgb", 1793, 2241, 10.5),
    ],
)
def test_priors_give_the_trials_timed_on_two_cores(model, n_train, n_scored, seconds):
    """With no history, a trial's prior is within 30% of its measured time."""
    work = estimate.trial_work(families.family(model), FULL, n_train, n_scored)
    prior = estimate.Rates().seconds(model, "none", work)
    assert prior == pytest.approx(seconds, rel=0.30)


def test_priors_scale_with_the_work_not_a_fixed_cost():
    """A fresh machine's estimate of a 10x larger data set is several times
    longer, and a longer profile costs more: the priors' overheads are small."""
    rates = estimate.Rates()
    for model in ("cnn", "seed-cnn", "xgb"):
        family = families.family(model)

        def prior(profile, n_train, family=family, model=model):
            work = estimate.trial_work(family, profile, n_train, n_train)
            return rates.seconds(model, "none", work)

        assert prior(QUICK, 3750) > 4 * prior(QUICK, 375)
        assert prior(FULL, 1800) > 2 * prior(QUICK, 1800)


def test_history_calibrates_this_machine_only(tmp_path):
    cache = str(tmp_path)
    trial = Trial("cnn", "none", 0)
    work = estimate.Work("images", 100.0)
    seconds = estimate.OVERHEAD["images"] + 100.0 * 0.5
    estimate.record_timings([estimate.timing_entry(trial, work, seconds)], cache)
    history = estimate.read_history(cache)
    assert len(history) == 1
    rates = estimate.Rates.of(history)
    assert rates.rate("cnn", "none", "images") == pytest.approx(0.5)
    assert rates.rate("cnn@lesion-crop", "smote", "images") == pytest.approx(0.5)
    assert rates.rate("transfer", "none", "images") == pytest.approx(0.5)  # kind
    assert rates.rate("xgb", "none", "table") == estimate.PRIOR_RATES["table"]
    elsewhere = estimate.Rates.of([{**history[0], "machine": "elsewhere"}])
    prior = estimate.PRIOR_RATES["images"]
    assert elsewhere.rate("cnn", "none", "images") == prior


def test_history_keeps_the_latest_and_survives_damage(tmp_path):
    cache = str(tmp_path)
    trial, work = Trial("xgb", "none", 0), estimate.Work("table", 1.0)
    entries = [
        estimate.timing_entry(trial, work, float(second))
        for second in range(estimate.HISTORY_KEEP + 5)
    ]
    estimate.record_timings(entries, cache)
    kept = estimate.read_history(cache)
    assert [entry["seconds"] for entry in kept] == [
        float(second) for second in range(5, estimate.HISTORY_KEEP + 5)
    ]
    estimate.history_path(cache).write_text("{not json", "utf-8")
    assert estimate.read_history(cache) == []
    estimate.history_path(cache).write_text(json.dumps({"version": 0}), "utf-8")
    assert estimate.read_history(cache) == []


def test_grid_progress_lines_carry_the_eta():
    class Done:
        def __init__(self, wall: float) -> None:
            self.record = trial_record(
                "xgb", "none", 0, {"balanced_accuracy": 0.5}, wall_seconds=wall
            )

    trials = _trials("xgb", 3)
    lines: list[str] = []
    guess = estimate.Estimate(dict.fromkeys(trials, 60.0))
    with GridProgress(trials, 3, guess, lines.append) as shown:
        assert shown.eta() == pytest.approx(180.0, abs=1.0)
        shown.finished(trials[0], Done(120.0))
    assert lines[0].startswith("trial 1/3 xgb__none__fold0: validation")
    # Two left, each now 60 s x 1.75.
    assert lines[0].endswith(f"ETA {minutes(210.0)}")
    assert shown.history[0][0] == 1


def test_a_final_fit_without_a_test_split_shows_what_it_scored():
    class Done:
        record = trial_record("xgb", "none", None, wall_seconds=30.0)

    trials = _trials("xgb", 1)
    lines: list[str] = []
    guess = estimate.Estimate(dict.fromkeys(trials, 60.0))
    with GridProgress(trials, 1, guess, lines.append) as shown:
        shown.finished(trials[0], Done())
    assert f"scored the external sets in {minutes(30.0)}" in lines[0]


def test_dry_run_describes_the_grid_and_runs_nothing(image_folder, tmp_path):
    config = RunConfig(
        data=(str(image_folder),),
        models=("xgb", "cnn"),
        strategies=("none",),
        folds=2,
    )
    out = tmp_path / "runs"
    text = runner.dry_run(config, out, report=False)
    assert "grid: 6 trials" in text
    assert "families: xgb 3, cnn 3" in text
    assert "final fits: 2, scoring Test" in text
    assert "(new)" in text
    assert "estimated wall time: " in text and "for 6 trials, 1 at a time" in text
    assert "from priors" in text
    assert not out.exists() or not any(out.iterdir())
    # Once a cnn trial was timed on this machine, the estimate says so.
    work = estimate.Work("images", 10.0)
    estimate.record_timings([estimate.timing_entry(Trial("cnn", "none", 0), work, 9.0)])
    assert "calibrated by timings recorded on this machine" in runner.dry_run(
        config, out, report=False
    )


@pytest.fixture
def two_cores(monkeypatch):
    import models.machine

    monkeypatch.setattr(models.machine, "available_cores", lambda: 2)


def test_side_by_side_trials_share_the_cores(two_cores):
    """On 2 cores two CNN trials (2 threads each) take twice as long each; two
    XGBoost trials (1 thread each) no longer; on 8 cores neither slows."""
    assert estimate.contention("images", 1) == 1.0
    assert estimate.contention("images", 2) == 2.0
    assert estimate.contention("table", 2) == 1.0
    assert estimate.contention("table", 4) == 2.0
    assert estimate.contention("images", 2, cores=8) == 1.0


def test_a_trial_is_estimated_from_recent_timings_of_its_size(two_cores, tmp_path):
    """Timings of the same family, strategy and about the same work answer
    directly (the latest ones); other sizes go through the rate model."""
    cache = str(tmp_path)
    trial = Trial("xgb", "none", 0)
    old = [estimate.timing_entry(trial, estimate.Work("table", 1.0), 9.0)] * 20
    recent = [
        estimate.timing_entry(trial, estimate.Work("table", units), seconds)
        for units, seconds in ((1.0, 3.0), (1.1, 4.0), (0.9, 2.0))
    ]
    estimate.record_timings(old + recent, cache)
    rates = estimate.Rates.of(estimate.read_history(cache))
    near = estimate.NEAR_RECENT
    expected = sorted([9.0] * (near - 3) + [3.0, 4.0, 2.0])
    middle = (expected[(near - 1) // 2] + expected[near // 2]) / 2
    assert rates.seconds("xgb", "none", estimate.Work("table", 1.05)) == middle
    far = rates.seconds("xgb", "none", estimate.Work("table", 10.0))
    assert far == pytest.approx(
        estimate.OVERHEAD["table"] + 10.0 * rates.rate("xgb", "none", "table")
    )


def test_timings_taken_side_by_side_serve_any_jobs(two_cores, tmp_path):
    """A CNN trial timed at 30 s beside another (--jobs 2 on 2 cores) is a 15 s
    trial alone: --jobs 1 estimates 15 s a trial, --jobs 2 30 s a trial, two
    at a time, so the same wall time."""
    cache = str(tmp_path)
    trial, work = Trial("cnn", "none", 0), estimate.Work("images", 100.0)
    estimate.record_timings([estimate.timing_entry(trial, work, 30.0, jobs=2)], cache)
    rates = estimate.Rates.of(estimate.read_history(cache))
    trials = _trials("cnn", 4)
    works = dict.fromkeys(trials, work)
    alone = estimate.estimate_grid(works, rates, jobs=1)
    paired = estimate.estimate_grid(works, rates, jobs=2)
    assert alone.predicted[trials[0]] == pytest.approx(15.0)
    assert paired.predicted[trials[0]] == pytest.approx(30.0)
    assert alone.total(jobs=1) == pytest.approx(60.0)
    assert paired.total(jobs=2) == pytest.approx(60.0)


#: A plug-in family's declared boosting rounds: on image_folder's 2 folds (8
#: training rows each, 16 in the final fit) its trials average 600 s of work.
ROUNDS = 22_500_000


def _budgeted(rounds: int) -> families.Family:
    def make(context):
        raise AssertionError("a dry run fits nothing")

    return families.Family(
        name="budgeted",
        description="a plug-in declaring its own training budget",
        inputs=(families.FEATURES,),
        make=make,
        budget=lambda profile, n_train: families.Budget(rounds=rounds),
    )


def budgeted() -> families.Family:
    return _budgeted(ROUNDS)


def budgeted_twice() -> families.Family:
    return _budgeted(2 * ROUNDS)


def _seconds(text: str) -> int:
    """A progress.minutes() figure under an hour ('10m00s') in seconds."""
    match = re.fullmatch(r"(\d+)m(\d+)s", text)
    assert match, text
    return 60 * int(match.group(1)) + int(match.group(2))


def _dry_run_seconds(image_folder, out, factory: str) -> float:
    """The dry run's mean estimated seconds of a budgeted trial."""
    config = RunConfig(
        data=(str(image_folder),),
        models=(f"tests.harness.test_estimate:{factory}",),
        strategies=("none",),
        folds=2,
        jobs=1,
    )
    text = runner.dry_run(config, out, report=False)
    match = re.search(r"\(budgeted 3 x ~(\S+)\)", text)
    assert match, text
    return _seconds(match.group(1))


def test_a_plug_in_familys_estimate_follows_its_declared_budget(image_folder, tmp_path):
    """--dry-run prices a plug-in from the budget it declares, not a built-in's:
    its rounds over the rows (8, 8 and 16), and twice the rounds twice the time."""
    once = _dry_run_seconds(image_folder, tmp_path / "runs", "budgeted")
    rows = (8 + 8 + 16) / 3
    expected = estimate.OVERHEAD["table"] + rows * ROUNDS / 400 / 1000
    assert once == pytest.approx(expected, abs=1.0)
    twice = _dry_run_seconds(image_folder, tmp_path / "runs", "budgeted_twice")
    assert twice == pytest.approx(2 * once, rel=0.005)


def test_a_networks_declared_steps_and_batch_set_its_work():
    """An images family's work is its declared steps, each weighted by its
    batch and pixels against the unit step, plus one prediction pass."""

    def network(steps: int, batch: int) -> families.Family:
        return families.Family(
            name="own-net",
            description="a network declaring its steps",
            inputs=(families.IMAGES,),
            image_size=96,
            make=lambda context: None,
            budget=lambda profile, n_train: families.Budget(steps=steps, batch=batch),
        )

    pixels = (96 / estimate.UNIT_SIDE) ** 2
    predict = estimate.PREDICT_SHARE * 640 / estimate.UNIT_BATCH * pixels
    work = estimate.trial_work(network(100, 16), QUICK, 500, 640)
    step = estimate.STEP_FIXED + (1 - estimate.STEP_FIXED) * pixels * 16 / 32
    assert work == estimate.Work("images", 100 * step + predict)
    doubled = estimate.trial_work(network(200, 16), QUICK, 500, 640)
    assert doubled.units - predict == pytest.approx(2 * (work.units - predict))


def test_a_family_declaring_no_budget_is_priced_as_the_built_ins():
    """Without a declaration a network trains as the cnn and a table family
    as XGBoost (Family.budget's documented default)."""
    cnn, xgb = families.family("cnn"), families.family("xgb")
    bare_network = families.Family(
        "bare-net", "d", inputs=(families.IMAGES,), image_size=48, make=lambda c: None
    )
    bare_table = families.Family(
        "bare-table", "d", inputs=(families.FEATURES,), make=lambda c: None
    )
    for profile in (QUICK, FULL):
        for n_train in (7, 375, 1793):
            assert estimate.trial_work(
                bare_network, profile, n_train, n_train
            ) == estimate.trial_work(cnn, profile, n_train, n_train)
            assert estimate.trial_work(
                bare_table, profile, n_train, n_train
            ) == estimate.trial_work(xgb, profile, n_train, n_train)
