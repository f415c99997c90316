"""Calibration against real ngspice runs: specs, the fit (held-out cores), the result store and
its resumable sweeps (process pool, SIGKILL half way, Dask LocalCluster), failures recorded."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from codesign.calibration.calibrate import calibrate, plan
from codesign.calibration.spec import load_spec
from codesign.errors import InputError
from codesign.jobs import LOCAL_DASK, DaskExecutor, LocalExecutor, Pool
from codesign.simulator.batch import SpiceJob, run_jobs
from codesign.simulator.store import ResultStore

POOL = LocalExecutor(2, Pool.FORK)

SMALL = """
name = "small-{neuron}"
[circuit]
neuron = "{neuron}"
{extra}
[probes]
sizes = [12]
rho = [0.5, 0.9]
cores = 2
holdout_cores = 1
samples = 8
transients = {transients}
[fit]
adam_steps = 80
lbfgs_steps = 30
tran_steps = 0
tran_lbfgs_steps = 40
"""


def write_spec(tmp_path: Path, neuron: str, extra: str = "", transients: int = 0) -> Path:
    path = tmp_path / f"{neuron}.toml"
    path.write_text(SMALL.format(neuron=neuron, extra=extra, transients=transients))
    return path


@pytest.mark.parametrize(("text", "message"), [
    ("name = 'x'\n[circuit]\nneuron = 'opamp'\ngain = 3\n", "unknown \\[circuit\\] setting 'gain'"),
    ("[probes]\nsizes = [8]\nrho = [1.5]\n", "rho must lie in"),
    ("[probes]\nsize = [8]\n", r"\[probes\]: unknown keys \['size'\]"),
    ("[sweep]\ndc_gain = 1e3\n", "non-empty list"),
    ("[circuit]\nneuron = 'spice'\n", "unknown neuron level"),
    ("name = \n", "not valid TOML"),
])
def test_bad_specs_name_the_problem(tmp_path, text, message):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(InputError, match=message):
        load_spec(bad)


@pytest.mark.slow(seconds=45)
def test_transistor_fit_beats_the_ideal_proxy_on_held_out_cores(tmp_path):
    spec = load_spec(write_spec(tmp_path, "transistor", transients=2))
    cal = calibrate(spec, tmp_path / "work", POOL)
    ev = cal.base.evaluation
    hold = ev.holdout
    assert hold.calibrated.rms < 0.005  # 0.5 % of full scale
    assert hold.calibrated.rms * 10 < hold.ideal.rms
    assert 0.9 < cal.base.params.amplitude < 1.0  # the pair's swing is below I_tail R_c
    assert ev.settling_holdout.max_abs_rel_error < 0.10
    # the same spec again: every SPICE job is already in the store
    again = calibrate(spec, tmp_path / "work", POOL)
    assert again.sweep.ran == 0 and again.sweep.skipped == again.sweep.total


def test_low_gain_opamp_with_rails_is_fitted_tightly(tmp_path):
    spec = load_spec(write_spec(tmp_path, "opamp", "dc_gain = 1e3\nrail_fs = 0.9"))
    cal = calibrate(spec, tmp_path / "work", POOL)
    assert cal.base.evaluation.holdout.calibrated.rms < 0.001
    assert cal.base.params.rail_high_fs == pytest.approx(0.9, abs=0.01)


def test_a_failing_job_is_recorded_and_the_sweep_goes_on(tmp_path):
    spec = load_spec(write_spec(tmp_path, "opamp"))
    good = plan(spec).jobs[:2]
    deck = good[0].deck
    broken_deck = dataclasses.replace(deck, text=deck.text + "xbad 1 2 nosuchmodel\n")
    broken = SpiceJob(broken_deck, good[0].jobs, "op")
    store = ResultStore(tmp_path / "store")
    stats = run_jobs(good + [broken], store, POOL)
    assert stats.failed == [broken.key] and stats.ran == 2
    record = store.error(broken.key)
    assert "nosuchmodel" in record["error"] + record["stdout"] + record["stderr"]
    assert all(store.has(key) for t in good for key in t.sample_keys)


SWEEP = """
name = "resume"
[circuit]
neuron = "ideal"
[probes]
sizes = [6]
rho = [0.5]
cores = 100
holdout_cores = 20
samples = 2
transients = 0
[fit]
adam_steps = 5
lbfgs_steps = 0
"""


def _store_files(store: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in store.glob("*.npz")}


@pytest.mark.slow(seconds=25)
def test_sweep_killed_half_way_resumes_without_redoing_jobs(tmp_path):
    spec_path = tmp_path / "resume.toml"
    spec_path.write_text(SWEEP)
    work = tmp_path / "work"
    command = [sys.executable, "-m", "codesign.cli", "calibrate", "--spec", str(spec_path),
               "--out", str(tmp_path / "p.json"), "--work", str(work), "--workers", "2"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    store = work / "store"
    deadline = time.time() + 120
    while len(_store_files(store)) < 120 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _store_files(store)
    assert 0 < len(before) < 240, "the sweep must be killed half way (120 jobs of 2 samples)"
    jobs = plan(load_spec(spec_path)).jobs
    done = sum(all(f"{k}.npz" in before for k in j.sample_keys) for j in jobs)
    out = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    after = _store_files(store)
    assert len(after) == 240
    assert all(after[name] == mtime for name, mtime in before.items())  # nothing redone
    assert f"{done} already done" in out.stdout
    assert f"{120 - done} run" in out.stdout


@pytest.mark.slow
def test_the_same_sweep_on_a_dask_local_cluster(tmp_path):
    spec_path = tmp_path / "resume.toml"
    spec_path.write_text(SWEEP.replace("cores = 100", "cores = 6").replace(
        "holdout_cores = 20", "holdout_cores = 2"))
    spec = load_spec(spec_path)
    pool = calibrate(spec, tmp_path / "pool", POOL)
    with DaskExecutor(LOCAL_DASK, 2) as cluster:
        dask = calibrate(spec, tmp_path / "dask", cluster)
    assert dask.sweep.ran == pool.sweep.ran == 8 and dask.sweep.scheduler == "Dask at local-dask"
    for name in _store_files(tmp_path / "pool" / "store"):
        a = np.load(tmp_path / "pool" / "store" / name)
        b = np.load(tmp_path / "dask" / "store" / name)
        np.testing.assert_array_equal(a["z"], b["z"])
