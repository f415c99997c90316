"""Simulator faults, from fake ngspice programs (tests/fakes.py): a result counts only when it is
complete and finite, a hang is stopped by the time-out, a failed job is recorded and retried,
and no fault ends in a traceback, a hang or a wrong result."""

import json
import time

import numpy as np
import pytest
from click.testing import CliRunner

from codesign.calibration.calibrate import calibrate, plan
from codesign.calibration.spec import load_spec
from codesign.chip.chip import Chip
from codesign.circuit import circuit_config
from codesign.cli import main
from codesign.deq import random_core
from codesign.deq.checkpoint import save_npz_core
from codesign.errors import NgspiceNotFoundError, SimulationError
from codesign.jobs import LocalExecutor, Pool
from codesign.simulator import get_simulator
from codesign.simulator.batch import run_jobs
from codesign.simulator.ngspice import find_ngspice
from codesign.simulator.store import ResultStore
from tests.fakes import fake_ngspice

SPEC = """
name = "faults"
[circuit]
neuron = "opamp"
[probes]
sizes = [6]
rho = [0.5]
cores = 2
holdout_cores = 1
samples = 3
transients = 0
[fit]
adam_steps = 5
lbfgs_steps = 5
"""


def one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def core_file(tmp_path, rng):
    return save_npz_core(tmp_path / "core.npz", random_core(6, 3, 0.5, rng))


def verify(core_file, out, *extra):
    return CliRunner().invoke(main, ["verify", str(core_file), "--samples", "8", "--workers",
                                     "1", "--neuron", "opamp", "--out", str(out),
                                     *map(str, extra)])


@pytest.mark.parametrize(("behaviour", "message"), [
    ("nan", "non-finite values"),
    ("zeros", "bias reference reads 0 V"),
    ("short", "truncated"),
    ("missing", "no vector v(zp0)"),
    ("partial", "no raw file written"),
    ("crash", "exit status 3"),
])
def test_an_unusable_result_is_a_one_line_error_and_never_a_result(
        tmp_path, core_file, monkeypatch, behaviour, message):
    monkeypatch.setenv("CODESIGN_NGSPICE", str(fake_ngspice(tmp_path, behaviour)))
    one_line_error(verify(core_file, tmp_path / "v"), message)
    assert not (tmp_path / "v" / "summary.json").exists()
    marker = json.loads((tmp_path / "v" / "run.json").read_text())
    assert marker["status"] == "failed" and message in marker["error"]  # never complete


def test_a_hanging_ngspice_is_killed_at_the_timeout_and_the_run_stops(tmp_path, core_file,
                                                                      monkeypatch):
    monkeypatch.setenv("CODESIGN_NGSPICE", str(fake_ngspice(tmp_path, "hang")))
    start = time.monotonic()
    one_line_error(verify(core_file, tmp_path / "v", "--timeout", "1", "--workers", "2"),
                   "timed out after 1 s")
    assert time.monotonic() - start < 30  # not 3 chunks one after another, not 600 s


def test_a_hang_on_version_is_a_one_line_error(tmp_path, core_file, monkeypatch):
    monkeypatch.setenv("CODESIGN_NGSPICE", str(fake_ngspice(tmp_path, "hang-version")))
    one_line_error(verify(core_file, tmp_path / "v", "--timeout", "1"), "did not answer within")
    with pytest.raises(NgspiceNotFoundError, match="did not answer"):
        find_ngspice(str(tmp_path / "ngspice-hang-version"), timeout_s=0.5)


def test_the_process_backend_kills_the_other_chunks_when_one_fails(tmp_path, rng):
    sim = get_simulator("process", workers=2, timeout_s=1,
                        executable=str(fake_ngspice(tmp_path, "hang")))
    chip = Chip(random_core(4, 2, 0.5, rng), circuit_config("opamp"), simulator=sim)
    start = time.monotonic()
    with pytest.raises(SimulationError, match="timed out"):
        chip.operating_points(np.zeros((16, 2)), tmp_path / "run")
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("behaviour", ["nan", "missing", "short"])
def test_bad_calibration_results_are_failed_jobs_and_are_retried(tmp_path, monkeypatch,
                                                                  behaviour):
    (tmp_path / "s.toml").write_text(SPEC)
    spec = load_spec(tmp_path / "s.toml")
    jobs = plan(spec).jobs
    store = ResultStore(tmp_path / "store")
    monkeypatch.setenv("CODESIGN_NGSPICE", str(fake_ngspice(tmp_path, behaviour)))
    stats = run_jobs(jobs, store, LocalExecutor(2, Pool.FORK))
    assert stats.ran == 0 and len(stats.failed) == len(jobs)  # the sweep went on
    assert not list(store.root.glob("*.npz"))  # nothing stored as finished
    assert all(store.error(j.key) and store.error_path(j.key).with_suffix(".cir").is_file()
               for j in jobs)
    monkeypatch.delenv("CODESIGN_NGSPICE")
    again = run_jobs(jobs, store, LocalExecutor(2, Pool.FORK))
    assert again.ran == len(jobs) and not again.failed  # every failed job was retried


def test_failed_jobs_leave_no_temporary_folders(tmp_path, monkeypatch):
    import tempfile

    (tmp_path / "s.toml").write_text(SPEC)
    jobs = plan(load_spec(tmp_path / "s.toml")).jobs
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("CODESIGN_NGSPICE", str(fake_ngspice(tmp_path, "crash")))
    stats = run_jobs(jobs, ResultStore(tmp_path / "store"), LocalExecutor(2, Pool.FORK))
    assert len(stats.failed) == len(jobs)
    assert list(scratch.iterdir()) == []


def test_calibrate_refuses_to_write_a_sweep_point_as_the_base_point(tmp_path, monkeypatch):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC + "[sweep]\ndc_gain = [1e3]\n")
    # every base-point deck (A0 = 1e5) fails; the sweep point's (A0 = 1e3) run for real
    monkeypatch.setenv("CODESIGN_NGSPICE", str(fake_ngspice(tmp_path, "fail-if", "a0=100000")))
    result = CliRunner().invoke(main, ["calibrate", "--spec", str(spec), "--out",
                                       str(tmp_path / "p.json"), "--work", str(tmp_path / "w")])
    one_line_error(result, "base point", "failed")
    assert not (tmp_path / "p.json").exists()
    cal = calibrate(load_spec(spec), tmp_path / "w", LocalExecutor(2, Pool.FORK))
    assert [p.index for p in cal.points] == [1]
    with pytest.raises(SimulationError, match="base point"):
        cal.base  # noqa: B018
