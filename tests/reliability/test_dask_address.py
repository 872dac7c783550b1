"""A Dask scheduler address that cannot be one: one line and exit 2 at once,
not a 60 s hang and a traceback when the half-made Client is collected."""

from __future__ import annotations

import subprocess
import sys

import pytest

from benchmarks.core.errors import UserError
from benchmarks.grid.executors import _check_address

#: Well under the 60 s a half-made Client hung for when it was collected.
SECONDS = 45


@pytest.mark.parametrize(
    "address",
    ["not an address", "tcp://127.0.0.1", "host", "tcp://h:port", "foo://h:1"],
)
def test_a_malformed_address_is_refused_in_one_line(address):
    with pytest.raises(UserError, match="not a Dask scheduler address") as caught:
        _check_address(address)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"--scheduler {address}: ")


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1:8786", "10.0.0.2:8786", "tls://h:8786", "inproc://x"]
)
def test_a_well_formed_address_passes(address):
    _check_address(address)


@pytest.mark.parametrize("address", ["not an address", "tcp://127.0.0.1"])
def test_the_run_exits_at_once_without_a_traceback(address, tmp_path):
    command = [sys.executable, "-m", "benchmarks", "run", "xgb", "--executor"]
    command += ["dask", "--scheduler", address, "--out", str(tmp_path / "runs")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, done.stderr
    assert "not a Dask scheduler address" in errors[0]
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr
