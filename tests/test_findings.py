"""The hostile inputs and faults a new user found (issue "One compiled chip ..."), one test
each beyond the simulator faults of test_faults.py: outputs that cannot be written, killed and
resumed runs, paths that leave their folder, sizes nothing bounded, complex numbers, shell
quoting and processes left behind."""

import contextlib
import errno
import io
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from codesign.calibration.spec import load_spec
from codesign.cli import main
from codesign.deq import random_core
from codesign.deq.checkpoint import load_npz_core, save_npz_core
from codesign.errors import InputError, SizeError
from tests.fakes import fake_ngspice
from tests.test_faults import one_line_error


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def core_file(tmp_path, rng):
    return save_npz_core(tmp_path / "core.npz", random_core(8, 4, 0.6, rng))


def verify(core_file, out, *extra):
    return cli("verify", core_file, "--samples", "12", "--neuron", "opamp", "--workers", "1",
               "--out", out, *extra)


# 5. outputs that cannot be written, and work that must not be lost

def test_a_full_disk_is_one_line_and_the_rerun_reuses_the_finished_spice_work(
        tmp_path, core_file, monkeypatch):
    real_replace = os.replace

    def full_disk(src, dst):
        if Path(dst).name == "equilibria.parquet":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(src, dst)

    monkeypatch.setattr("codesign.files.os.replace", full_disk)
    one_line_error(verify(core_file, tmp_path / "v"), "No space left on device",
                   "equilibria.parquet")
    assert json.loads((tmp_path / "v" / "run.json").read_text())["status"] == "failed"
    monkeypatch.setattr("codesign.files.os.replace", real_replace)
    # an ngspice that fails every run: the re-run can only succeed from the stored samples
    monkeypatch.setenv("CODESIGN_NGSPICE", str(fake_ngspice(tmp_path, "crash")))
    result = verify(core_file, tmp_path / "v")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "v" / "run.json").read_text())["status"] == "complete"


def test_an_unwritable_or_mistyped_out_is_refused_before_any_spice_work(tmp_path, core_file,
                                                                       monkeypatch):
    monkeypatch.setenv("CODESIGN_NGSPICE", str(fake_ngspice(tmp_path, "crash")))
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    one_line_error(verify(core_file, afile), "is a file")
    one_line_error(verify(core_file, afile / "sub"), "cannot write into --out")
    one_line_error(cli("export", core_file, "--out", afile / "net"), "cannot write")


def test_a_zero_byte_store_entry_is_simulated_again(tmp_path, core_file):
    assert verify(core_file, tmp_path / "v").exit_code == 0
    store = tmp_path / "v" / "spice" / "store"
    victim = sorted(store.glob("*.npz"))[0]
    victim.write_bytes(b"")
    result = verify(core_file, tmp_path / "v")
    assert result.exit_code == 0, result.output
    assert victim.with_suffix(".npz.bad").is_file() and victim.stat().st_size > 0


def test_a_zero_byte_or_wrong_inputs_file_is_one_line(tmp_path, core_file):
    (tmp_path / "empty.npy").write_bytes(b"")
    one_line_error(verify(core_file, tmp_path / "v", "--inputs", tmp_path / "empty.npy"),
                   "cannot read inputs")
    np.savez(tmp_path / "e.npz", e=np.zeros((2, 4)))
    (tmp_path / "e.npz").rename(tmp_path / "e.npy")
    one_line_error(verify(core_file, tmp_path / "v", "--inputs", tmp_path / "e.npy"),
                   ".npz archive")
    np.save(tmp_path / "s.npy", np.array([["a", "b", "c", "d"]]))
    one_line_error(verify(core_file, tmp_path / "v", "--inputs", tmp_path / "s.npy"),
                   "must be numbers")
    np.save(tmp_path / "none.npy", np.zeros((0, 4)))
    one_line_error(verify(core_file, tmp_path / "v", "--inputs", tmp_path / "none.npy"),
                   "no rows")


# 6. a killed verify never looks complete, and resumes

def test_a_failed_rerun_removes_the_earlier_results(tmp_path, core_file, monkeypatch):
    assert verify(core_file, tmp_path / "v").exit_code == 0
    assert (tmp_path / "v" / "summary.json").is_file()
    monkeypatch.setenv("CODESIGN_NGSPICE", str(fake_ngspice(tmp_path, "hang")))
    one_line_error(verify(core_file, tmp_path / "v", "--seed", "5", "--timeout", "1"),
                   "timed out")
    assert not (tmp_path / "v" / "summary.json").exists()
    assert not (tmp_path / "v" / "equilibria.parquet").exists()
    assert json.loads((tmp_path / "v" / "run.json").read_text())["status"] == "failed"


@pytest.mark.slow(seconds=30)
def test_a_killed_verify_resumes_without_redoing_finished_samples(tmp_path, rng):
    core = save_npz_core(tmp_path / "core.npz", random_core(24, 8, 0.9, rng))
    out = tmp_path / "v"
    command = [sys.executable, "-m", "codesign.cli", "verify", str(core), "--samples", "160",
               "--neuron", "opamp", "--analysis", "tran", "--workers", "1", "--out", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    store = out / "spice" / "store"
    deadline = time.time() + 120
    while len(list(store.glob("*.npz"))) < 20 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in store.glob("*.npz")}
    assert 0 < len(before) < 160, "the verification must be killed part way"
    assert json.loads((out / "run.json").read_text())["status"] == "running"
    assert not (out / "summary.json").exists()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    after = {p.name: p.stat().st_mtime_ns for p in store.glob("*.npz")}
    assert len(after) >= 160 and all(after[name] == t for name, t in before.items())
    assert json.loads((out / "summary.json").read_text())["samples"] == 160


# 7. paths stay inside their folder

def test_a_spec_name_cannot_leave_the_calibration_folder(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('name = "../../escape"\n[circuit]\nneuron = "ideal"\n')
    with pytest.raises(InputError, match="not a plain name"):
        load_spec(spec)
    one_line_error(cli("calibrate", "--spec", spec, "--out", tmp_path / "p.json"),
                   "not a plain name")


# 8. sizes are bounded before anything is allocated or written

def _inflating_npz(path: Path, n: int) -> Path:
    """An .npz of a few MB whose W is n x n zeros (8 n^2 bytes once loaded)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("W.npy", "w", force_zip64=True) as handle:
            np.lib.format.write_array_header_1_0(
                handle, {"descr": "<f8", "fortran_order": False, "shape": (n, n)})
            rows = bytes(8 * n * 100)
            for _ in range(n // 100):
                handle.write(rows)
        for name, array in (("U", np.zeros((n, 4))), ("b", np.zeros(n))):
            buffer = io.BytesIO()
            np.save(buffer, array)
            zf.writestr(f"{name}.npy", buffer.getvalue())
    return path


def test_a_small_npz_that_inflates_to_a_huge_core_is_refused(tmp_path):
    path = _inflating_npz(tmp_path / "big.npz", 20000)
    assert path.stat().st_size < 50e6
    with pytest.raises(SizeError, match="n=20000.*--force"):
        load_npz_core(path)
    one_line_error(cli("verify", path, "--out", tmp_path / "v"), "n=20000", "--force")


def test_a_huge_spec_or_grid_is_refused_with_its_estimate(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('[circuit]\nneuron = "opamp"\nn = 20000\n')
    with pytest.raises(SizeError, match="n=20000"):
        load_spec(spec)
    values = ", ".join(str(1e3 + k) for k in range(1000))
    spec.write_text(f'[circuit]\nneuron = "opamp"\n[sweep]\ndc_gain = [{values}]\n'
                    f'tau_s = [{", ".join(str(1e-7 + k * 1e-9) for k in range(1000))}]\n')
    with pytest.raises(SizeError, match="1,000,000 grid points"):
        load_spec(spec)
    one_line_error(cli("calibrate", "--spec", spec, "--out", tmp_path / "p.json"),
                   "grid points")


# 9. complex numbers, shell quoting, processes and folders left behind

def test_complex_weights_and_inputs_are_refused(tmp_path, rng):
    core = random_core(4, 2, 0.5, rng)
    np.savez(tmp_path / "c.npz", W=core.W + 1j * 0.1, U=core.U, b=core.b)
    one_line_error(cli("export", tmp_path / "c.npz", "--out", tmp_path / "o"), "complex")
    good = save_npz_core(tmp_path / "good.npz", core)
    np.save(tmp_path / "e.npy", np.zeros((2, 2)) + 0.5j)
    one_line_error(cli("verify", good, "--inputs", tmp_path / "e.npy", "--out", tmp_path / "v"),
                   "complex")


def test_the_printed_run_command_is_shell_quoted(tmp_path, core_file):
    out = tmp_path / "it's a net"
    result = cli("export", core_file, "--neuron", "ideal", "--out", out)
    assert result.exit_code == 0, result.output
    run = json.loads((out / "manifest.json").read_text())["run"]
    assert shlex.split(run) == ["cd", str(out), "&&", "ngspice", "crossbar.cir"]
    assert f"run: {run}" in result.output


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found |= {int(p) for p in text.split()}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@pytest.mark.slow
def test_a_sigkilled_calibration_leaves_no_worker_behind(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('name = "orphans"\n[circuit]\nneuron = "opamp"\n[probes]\nsizes = [24]\n'
                    'rho = [0.5]\ncores = 60\nholdout_cores = 2\nsamples = 8\ntransients = 8\n')
    work = tmp_path / "work"
    command = [sys.executable, "-m", "codesign.cli", "calibrate", "--spec", str(spec), "--out",
               str(tmp_path / "p.json"), "--work", str(work), "--workers", "2"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 120
        while (len(list((work / "store").glob("*.npz"))) < 4 and time.time() < deadline
               and proc.poll() is None):
            time.sleep(0.05)
        family = _children(proc.pid)
        family |= {grandchild for child in family for grandchild in _children(child)}
        assert family, "the sweep's workers must be running"
        os.kill(proc.pid, signal.SIGKILL)  # the main process only, as `kill -9 PID` does
        proc.wait()
        deadline = time.time() + 10
        while any(_alive(pid) for pid in family) and time.time() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in family if _alive(pid)]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
