"""A real Dask cluster on localhost (`dask scheduler` and two `dask worker` processes, as a user
starts them): a calibration sweep and a verification through it give the same bits as the local
pool, a worker killed mid-sweep loses no finished job while the sweep completes, a scheduler
killed mid-sweep ends the run in one line marked failed, and a local cluster leaves nothing in
the temporary folder."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from codesign.calibration.calibrate import plan
from codesign.calibration.spec import load_spec
from codesign.cli import main
from codesign.deq import random_core
from codesign.deq.checkpoint import save_npz_core
from codesign.jobs import DaskExecutor, LocalExecutor, Pool
from codesign.simulator.batch import run_jobs
from codesign.simulator.store import ResultStore

ROOT = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).with_name("dask"))
CODESIGN = str(Path(sys.executable).with_name("codesign"))

SPEC = """
name = "cluster"
[circuit]
neuron = "opamp"
[probes]
sizes = [{n}]
rho = [0.5]
cores = {cores}
holdout_cores = 1
samples = 3
transients = {transients}
[fit]
adam_steps = 5
lbfgs_steps = 5
"""


def _wait(condition, seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError(f"{what} within {seconds} s")
        time.sleep(0.2)


@pytest.fixture
def cluster(tmp_path):
    """(address, worker processes) of a scheduler and two single-threaded workers, no nanny
    (so a killed worker stays dead)."""
    from distributed import Client

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(file)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait(file.exists, 60, "the scheduler wrote no address")
        address = json.loads(file.read_text())["address"]
        workers = [subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny",
                                     "--no-dashboard", "--name", f"w{k}"], env=env, cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for k in range(2)]
        procs += workers
        with Client(address, timeout=60) as client:
            _wait(lambda: len(client.scheduler_info()["workers"]) == 2, 90,
                  "two workers did not join")
        yield address, workers, procs[0]
    finally:
        for proc in reversed(procs):
            proc.kill()
            proc.wait()


def _spec(tmp_path, **values):
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.format(**{"n": 6, "cores": 2, "transients": 1, **values}))
    return load_spec(path)


def test_a_sweep_and_a_verification_on_the_cluster_match_the_local_pool(cluster, tmp_path,
                                                                        rng):
    address, _, _ = cluster
    jobs = plan(_spec(tmp_path)).jobs
    local, remote = ResultStore(tmp_path / "local"), ResultStore(tmp_path / "remote")
    assert run_jobs(jobs, local, LocalExecutor(2, Pool.FORK)).ran == len(jobs)
    with DaskExecutor(address) as cluster_jobs:
        stats = run_jobs(jobs, remote, cluster_jobs)
    assert stats.ran == len(jobs) and not stats.failed
    for key in (k for job in jobs for k in job.sample_keys):
        a, b = local.load(key), remote.load(key)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

    core = save_npz_core(tmp_path / "core.npz", random_core(16, 4, 0.7, rng))
    tables = {}
    for name, where in (("local", ["--workers", "2"]), ("cluster", ["--scheduler", address])):
        result = CliRunner().invoke(main, ["verify", str(core), "--samples", "300", "--neuron",
                                           "opamp", "--table-format", "csv", "--out",
                                           str(tmp_path / f"verify-{name}"), *where])
        assert result.exit_code == 0, result.output
        tables[name] = pd.read_csv(tmp_path / f"verify-{name}" / "equilibria.csv")
    assert len(tables["local"]) == 300 * 16
    np.testing.assert_array_equal(tables["cluster"].z_spice, tables["local"].z_spice)


@pytest.mark.slow(seconds=90)
def test_a_worker_killed_mid_sweep_loses_no_finished_job(cluster, tmp_path):
    address, workers, _ = cluster
    spec_path = tmp_path / "spec.toml"
    _spec(tmp_path, n=24, cores=8, transients=3)
    work = tmp_path / "work"
    run = subprocess.Popen([CODESIGN, "calibrate", "--spec", str(spec_path), "--out",
                            str(tmp_path / "fit.json"), "--work", str(work), "--scheduler",
                            address], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        store = work / "store"
        _wait(lambda: len(list(store.glob("*.npz"))) >= 2, 240, "no job finished")
        workers[0].send_signal(signal.SIGKILL)
        finished = {p: p.stat().st_mtime_ns for p in store.glob("*.npz")}
        output, _ = run.communicate(timeout=600)
    finally:
        run.kill()
    assert run.returncode == 0, output
    total = sum(len(job.jobs) for job in plan(load_spec(spec_path)).jobs)
    assert len(list(store.glob("*.npz"))) == total and not list(store.glob("*.error.json"))
    assert {p: p.stat().st_mtime_ns for p in finished} == finished


def test_a_scheduler_lost_mid_run_is_one_line_and_marks_the_run_failed(cluster, tmp_path):
    address, _, scheduler = cluster
    spec_path = tmp_path / "spec.toml"
    _spec(tmp_path, n=24, cores=8, transients=3)
    work = tmp_path / "work"
    run = subprocess.Popen([CODESIGN, "calibrate", "--spec", str(spec_path), "--out",
                            str(tmp_path / "fit.json"), "--work", str(work), "--scheduler",
                            address], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        _wait(lambda: len(list((work / "store").glob("*.npz"))) >= 2, 240, "no job finished")
        scheduler.kill()
        output, _ = run.communicate(timeout=300)
    finally:
        run.kill()
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert run.returncode == 2 and len(errors) == 1 and "Traceback" not in output, output
    assert "lost the Dask scheduler" in errors[0] and "re-run" in errors[0]
    marker = json.loads((work / "run.json").read_text())
    assert marker["status"] == "failed" and "lost the Dask scheduler" in marker["error"]
    assert list((work / "store").glob("*.npz"))  # what finished is kept


def test_a_local_dask_calibration_leaves_no_scratch_space(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    spec_path = tmp_path / "spec.toml"
    _spec(tmp_path, n=6, cores=1, transients=0)
    done = subprocess.run([CODESIGN, "calibrate", "--spec", str(spec_path), "--out",
                           str(tmp_path / "fit.json"), "--work", str(tmp_path / "work"),
                           "--scheduler", "local-dask", "--workers", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(scratch)})
    assert done.returncode == 0, done.stdout + done.stderr
    left = [p.name for p in scratch.iterdir() if "dask" in p.name or "codesign" in p.name]
    assert left == []  # no dask-scratch-space, no codesign chunk folders
