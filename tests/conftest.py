"""Shared fixtures: small image folders made on the fly, and the real isic9 set."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.grid.configuration import Trial
from benchmarks.grid.record import Metrics, Timings, TrialRecord

#: The checkout: tests run commands from here, where ``examples`` imports.
ROOT = Path(__file__).resolve().parents[1]

SEED = 0
ISIC9 = Path(
    os.environ.get(
        "MELANOMA_BENCH_ISIC9",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "isic9",
    )
)
HAM10000_DEV = Path(
    os.environ.get(
        "MELANOMA_BENCH_HAM10000_DEV",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "ham10000-dev",
    )
)
requires_ham10000_dev = pytest.mark.skipif(
    not (HAM10000_DEV / "metadata.csv").is_file(),
    reason="the external set is not at ../shared/data/ham10000-dev (set "
    "MELANOMA_BENCH_HAM10000_DEV to its folder to run these tests)",
)
DERM7PT_DEV = Path(
    os.environ.get(
        "MELANOMA_BENCH_DERM7PT_DEV",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "derm7pt-dev",
    )
)
requires_derm7pt_dev = pytest.mark.skipif(
    not (DERM7PT_DEV / "metadata.csv").is_file(),
    reason="the third source is not at ../shared/data/derm7pt-dev (set "
    "MELANOMA_BENCH_DERM7PT_DEV to its folder to run these tests)",
)
requires_isic9 = pytest.mark.skipif(
    not ISIC9.is_dir(),
    reason="the real isic9 set is not at ../shared/data/isic9 "
    "(set MELANOMA_BENCH_ISIC9 to its folder to run these tests)",
)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test writes its cache to a temporary folder, never the user's."""
    monkeypatch.setenv("MELANOMA_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _one_trial_at_a_time(monkeypatch):
    """Runs a test starts compute one trial at a time unless it asks for more
    (--jobs): pytest's own process and monkeypatches stay where trials run."""
    monkeypatch.setenv("MELANOMA_BENCH_JOBS", "1")


@pytest.fixture(scope="session")
def isic9_cache(tmp_path_factory) -> Path:
    """One cache for all isic9 tests, so the set is hashed once per session.

    MELANOMA_BENCH_ISIC9_CACHE names a folder to use instead: CI's isic9
    regression check then reads the images and features the tests decoded.
    """
    folder = os.environ.get("MELANOMA_BENCH_ISIC9_CACHE")
    return Path(folder) if folder else tmp_path_factory.mktemp("isic9-cache")


def lesion_image(seed: int, size: int = 48) -> Image.Image:
    """A distinct small picture: a dark blob at a random place on a random skin."""
    rng = np.random.default_rng(seed)
    pixels = np.empty((size, size, 3), dtype=np.uint8)
    pixels[:] = rng.integers(120, 230, size=3)
    yy, xx = np.mgrid[:size, :size]
    centre = rng.integers(size // 4, 3 * size // 4, size=2)
    radius = rng.integers(size // 8, size // 3)
    inside = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 < radius**2
    pixels[inside] = rng.integers(20, 110, size=3)
    pixels = pixels + rng.integers(0, 25, size=pixels.shape, dtype=np.uint8)
    return Image.fromarray(pixels)


def write_image(path: Path, seed: int, size: int = 48) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lesion_image(seed, size).save(path)
    return path


def write_class_folders(root: Path, counts: dict[str, int], seed: int) -> Path:
    """Train/<class>/ with ``counts`` images each and one Test image per class,
    64 px, seeded from ``seed`` on."""
    for label, count in counts.items():
        for index in range(count):
            write_image(root / "Train" / label / f"{label[0]}{index}.jpg", seed, 64)
            seed += 1
        write_image(root / "Test" / label / f"t{label[0]}.jpg", seed, 64)
        seed += 1
    return root


@pytest.fixture
def image_folder(tmp_path) -> Path:
    return make_image_folder(tmp_path / "lesions")


def make_image_folder(root: Path) -> Path:
    """Train/Test class folders with awkward names, one conflict and one leak.

    Train: 'melanoma' 6, 'nevus naevus' 6 (spaces), 'café <b>' 4 (unicode, HTML).
    Copies: melanoma/m0.jpg == nevus naevus/n0.jpg (conflict, in Train);
    Test/melanoma/t0.jpg == Train/melanoma/m1.jpg (leak).
    """
    seed = 100
    for label, count in (("melanoma", 6), ("nevus naevus", 6), ("café <b>", 4)):
        for index in range(count):
            prefix = label[0]
            write_image(root / "Train" / label / f"{prefix}{index}.jpg", seed)
            seed += 1
    for label in ("melanoma", "nevus naevus"):
        for index in range(2):
            write_image(root / "Test" / label / f"t{index}.jpg", seed)
            seed += 1
    conflict = root / "Train" / "nevus naevus" / "n0.jpg"
    conflict.write_bytes((root / "Train" / "melanoma" / "m0.jpg").read_bytes())
    leak = root / "Test" / "melanoma" / "t0.jpg"
    leak.write_bytes((root / "Train" / "melanoma" / "m1.jpg").read_bytes())
    return root


def tree_state(root: Path) -> dict[str, tuple[int, bytes]]:
    """Each file's modification time and bytes, to prove nothing was changed."""
    return {
        str(path): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def resign(folder: Path, change) -> None:
    """Change model.json and recompute its checksum, as an attacker would."""
    path = folder / "model.json"
    metadata = json.loads(path.read_text("utf-8"))
    change(metadata)
    path.write_text(json.dumps(metadata), encoding="utf-8")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    sums = folder / "SHA256SUMS"
    lines = [
        f"{digest}  model.json" if line.endswith("  model.json") else line
        for line in sums.read_text().splitlines()
    ]
    sums.write_text("\n".join(lines) + "\n")


def trial_record(
    model: str,
    strategy: str,
    fold: int | None,
    validation: dict | None = None,
    train: dict | None = None,
    gap: dict | None = None,
    wall_seconds: float = 1.0,
    **fields,
) -> TrialRecord:
    """A trial record of the figures a test gives, every other field empty."""
    values = {
        "key": Trial(model, strategy, fold).key,
        "model": model,
        "strategy": strategy,
        "fold": fold,
        "evaluated_on": "test" if fold is None else "validation",
        "seed": SEED,
        "n_train": 0,
        "n_evaluated": 0,
        "n_fitted": 0,
        "n_synthetic": 0,
        "class_counts_before": {},
        "class_counts_after": {},
        "metrics": Metrics(train or {}, validation),
        "gap": gap or {},
        "curves": {},
        "timings": Timings(0.0, 0.0, wall_seconds, None, 0.0),
        "versions": {},
    }
    return TrialRecord(**{**values, **fields})


def scored_record(
    model: str,
    strategy: str,
    fold: int | None,
    bacc: float,
    auc: float = 0.8,
    gap: float | None = 0.1,
    **fields,
) -> TrialRecord:
    """A fold's record scoring ``bacc`` as balanced accuracy and melanoma
    sensitivity at 80% specificity, ``auc`` as melanoma AUC, 0.5 elsewhere,
    with train-val gap ``gap``."""
    from benchmarks.analysis.leaderboard import FOLD_METRICS

    validation = {name: 0.5 for name in FOLD_METRICS}
    validation.update(
        balanced_accuracy=bacc,
        melanoma_auc=auc,
        melanoma_sensitivity_at_80_specificity=bacc,
    )
    return trial_record(
        model,
        strategy,
        fold,
        validation,
        train={"balanced_accuracy": bacc + (gap or 0.0)},
        gap={"balanced_accuracy": gap},
        **fields,
    )


def bench(
    *arguments: str, cwd: Path = ROOT, path: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess:
    """``python -m benchmarks ARGUMENTS`` in a new process that imports this
    checkout (and ``examples``) and the folders in ``path``."""
    search = os.pathsep.join(str(folder) for folder in (ROOT, *path))
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *arguments],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": search},
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def succeeded(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"{done.args}\n{done.stdout}\n{done.stderr}"
    return done
