"""What a hostile new user found in the commands added since the last hardening (issue "No run
destroys another's results ..."), one test per finding: a run folder that belongs to another
command is refused, never cleared; a design folder is only resumed as the same search; readers,
options and the Python API end in one line, never a traceback; the noise check on a tiny core
and beyond this machine's means; a Dask scheduler without workers; a time-out that grows. The
Dask scheduler lost mid-run and the local cluster's scratch space are in test_cluster.py, a
resumed design search after time-outs and a quote in its folder's name in test_design.py, the
readers' property tests in test_readers.py."""

import io
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import codesign
from codesign.cli import main
from codesign.deq import random_core
from codesign.deq.checkpoint import load_checkpoint, save_checkpoint, save_npz_core
from codesign.deq.model import DEQConfig, HybridDEQ
from codesign.design.settings import DesignSettings, SearchRecord, check_resume, file_sha256
from codesign.design.space import DesignSpace
from codesign.errors import CheckpointError, InputError
from codesign.files import jsonable
from codesign.run_folder import RunFolder
from tests.test_faults import one_line_error

ROOT = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).with_name("dask"))


def cli(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


@pytest.fixture
def core_file(tmp_path, rng):
    return save_npz_core(tmp_path / "core.npz", random_core(6, 3, 0.5, rng))


def finished_run(folder: Path, command: str, outputs: tuple[str, ...]) -> dict[str, bytes]:
    """A completed run of ``command`` in ``folder`` with ``outputs``: their contents."""
    with RunFolder(folder, command).start() as run:
        for name in outputs:
            (folder / name).write_text(f"{command} result {name}\n")
        run.complete([folder / name for name in outputs])
    return {name: (folder / name).read_bytes() for name in outputs}


DESIGN_OUTPUTS = ("chosen.json", "front.csv", "trials.csv", "energy.csv", "front.png",
                  "design.json", "breakdown.csv")
LOOP_OUTPUTS = ("summary.json", "rounds.csv", "baselines.csv", "parity.csv")


# 1. data loss: a run marker clears its own command's earlier outputs, never another's

def test_verify_into_a_design_folder_is_refused_and_deletes_nothing(tmp_path, core_file):
    before = finished_run(tmp_path / "d", "design", DESIGN_OUTPUTS)
    one_line_error(cli("verify", core_file, "--samples", "2", "--out", tmp_path / "d"),
                   "holds the results of a `codesign design` run")
    assert {n: (tmp_path / "d" / n).read_bytes() for n in DESIGN_OUTPUTS} == before
    assert json.loads((tmp_path / "d" / "run.json").read_text())["command"] == "design"


def test_noise_into_a_loop_folder_is_refused_and_deletes_nothing(tmp_path):
    before = finished_run(tmp_path / "l", "loop", LOOP_OUTPUTS)
    one_line_error(cli("noise", "--n", "2", "--m", "1", "--out", tmp_path / "l"),
                   "holds the results of a `codesign loop` run")
    assert {n: (tmp_path / "l" / n).read_bytes() for n in LOOP_OUTPUTS} == before


def test_report_names_a_design_folder_and_the_loop_refuses_it(tmp_path):
    before = finished_run(tmp_path / "d", "design", DESIGN_OUTPUTS)
    line = one_line_error(cli("report", tmp_path / "d"), "`codesign design` run")
    assert "codesign loop --out" not in line  # not the advice that deleted the folder
    one_line_error(cli("loop", "--task", "physics", "--out", tmp_path / "d"),
                   "holds the results of a `codesign design` run")
    assert {n: (tmp_path / "d" / n).read_bytes() for n in DESIGN_OUTPUTS} == before


def test_the_same_command_still_replaces_its_own_earlier_outputs(tmp_path):
    finished_run(tmp_path / "v", "verify", ("summary.json", "transients.csv"))
    with RunFolder(tmp_path / "v", "verify").start(("summary.json",)):
        assert not (tmp_path / "v" / "transients.csv").exists()  # recorded by the earlier run
        assert not (tmp_path / "v" / "summary.json").exists()


# 2. a design folder is resumed only as the same search

def design_folder(tmp_path: Path, settings: DesignSettings, space: DesignSpace) -> Path:
    out = tmp_path / "design"
    with RunFolder(out, "design").start():  # a search killed after it started
        (out / "trials").mkdir()
    params = ROOT / "calibration" / "cmos.json"
    (out / "design.json").write_text(json.dumps(jsonable(
        SearchRecord(settings, space, file_sha256(params)))))
    return out


@pytest.mark.parametrize(("extra", "fragment"), [
    (["--mismatch", "0.2"], "mismatch_sigma: 0.05 -> 0.2"),
    (["--task", "physics"], "task: 'digits' -> 'physics'"),
    (["--space", "narrow.toml"], "space v_fs: [0.12, 0.35] -> [0.3, 0.35]"),
    (["--samples", "32"], "samples: 64 -> 32"),
])
def test_a_design_folder_resumed_as_another_search_is_refused(tmp_path, extra, fragment):
    out = design_folder(tmp_path, DesignSettings(), DesignSpace())
    (tmp_path / "narrow.toml").write_text("[space]\nv_fs = [0.3, 0.35]\n")
    extra = [str(tmp_path / e) if e.endswith(".toml") else e for e in extra]
    line = one_line_error(cli("design", "--out", out, *extra), fragment)
    assert "--new-study" in line
    assert (out / "trials").is_dir() and json.loads((out / "design.json").read_text())[
        "settings"]["mismatch_sigma"] == 0.05


def test_a_new_study_moves_the_earlier_search_aside(tmp_path):
    out = design_folder(tmp_path, DesignSettings(), DesignSpace())
    (out / "study.log").write_text("earlier journal\n")
    new = SearchRecord(DesignSettings(mismatch_sigma=0.2), DesignSpace(), "x")
    said = []
    check_resume(out, new, new_study=True, log=said.append)
    (previous,) = (out / "previous").iterdir()
    assert (previous / "study.log").read_text() == "earlier journal\n"
    assert (previous / "trials").is_dir() and not (out / "trials").exists()
    assert "mismatch_sigma" in said[0] and (out / "run.json").is_file()
    check_resume(out, new, new_study=False, log=said.append)  # an empty folder: nothing to do
    # more trials, more measurements, more refinement: the same search, resumed
    same = SearchRecord(DesignSettings(trials=80, verify=30, refine=5, final_samples=100),
                        DesignSpace(), "x")
    design_folder(tmp_path / "again", DesignSettings(), DesignSpace())
    check_resume(tmp_path / "again" / "design", replace(same, params_sha256=file_sha256(
        ROOT / "calibration" / "cmos.json")), new_study=False, log=said.append)


def test_a_model_of_another_task_is_refused(tmp_path):
    physics = HybridDEQ(DEQConfig(in_features=64, out_features=64, core_size=8, core_inputs=4))
    path = save_checkpoint(tmp_path / "base.pt", physics, "physics", {}, {})
    with pytest.raises(CheckpointError, match="physics task, not of digits"):
        load_checkpoint(path, task="digits")
    # a checkpoint whose task name says digits but whose model is the physics one
    mislabelled = save_checkpoint(tmp_path / "m.pt", physics, "digits", {}, {})
    one_line_error(cli("verify", mislabelled, "--samples", "2", "--out", tmp_path / "v"),
                   "does not fit the digits task")


# 3. readers, options and the Python API: one line, never a traceback

@pytest.mark.parametrize(("text", "fragment"), [
    ("[space]\nv_fs = 0.3\n", "expected a list"),
    ("space = 3\n", "expected a table"),
    ("[space]\nv_fs = [0.2]\n", "expected 2 values"),
    ("[space]\ndac_bits = [3.5, 8]\n", "expected int"),
    ("[space]\nlevels = 'ab'\n", "expected a list"),
])
def test_a_bad_design_space_is_one_line(tmp_path, text, fragment):
    (tmp_path / "s.toml").write_text(text)
    one_line_error(cli("design", "--space", tmp_path / "s.toml", "--out", tmp_path / "d"),
                   fragment)
    assert not (tmp_path / "d" / "run.json").exists()  # refused before the folder is taken


@pytest.mark.parametrize("journal", [b"\x00\xff\xfe\x80 not json\n",
                                     b'{"op_code": 0, "worker_id": "w", "study_name": "desi\n'
                                     b'{"op_code": 1}\n',
                                     b'{"op_code": 99}\n'])
def test_a_damaged_design_journal_is_one_line(tmp_path, journal):
    out = design_folder(tmp_path, DesignSettings(), DesignSpace())
    (out / "study.log").write_bytes(b'{"op_code": 0, "worker_id": "w", "study_name": "design",'
                                    b' "directions": [1, 2, 1]}\n' + journal)
    start = time.monotonic()
    one_line_error(cli("design", "--out", out), "not an Optuna journal")
    assert not (out / "base.pt").exists() and time.monotonic() - start < 60  # before training


def test_a_journal_cut_off_in_its_last_record_resumes_without_it(tmp_path):
    from codesign.design.search import open_study

    path = tmp_path / "study.log"
    study = open_study(path, ["minimize", "maximize", "minimize"], 0, 2)
    study.tell(study.ask(), [1.0, 0.5, 1e-6])
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"op_code": 4, "worker_id": "x", "study_id": 0, "datet')
    again = open_study(path, ["minimize", "maximize", "minimize"], 0, 2)
    assert len(again.trials) == 1 and path.read_bytes().startswith(whole)
    assert b"datet" not in path.read_bytes()[len(whole):]
    assert (tmp_path / "study.log.partial").read_bytes().startswith(b'{"op_code": 4')
    again.tell(again.ask(), [2.0, 0.4, 1e-6])  # and it goes on from there
    assert len(open_study(path, ["minimize", "maximize", "minimize"], 0, 2).trials) == 2


def darcy_file(folder: Path, name: str, payload) -> None:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    (folder / name).write_bytes(buffer.getvalue())


@pytest.mark.parametrize(("payload", "fragment"), [
    (b"\x50\x4b\x03\x04 truncated archive", "not a readable torch archive"),
    ({"x": torch.zeros(4, 16, 16), "y": torch.full((4, 16, 16), float("nan"))}, "NaN"),
    ({"x": torch.zeros(4, 16), "y": torch.zeros(4, 16)}, "not (fields, G, G)"),
    ({"x": torch.zeros(4, 8, 8), "y": torch.zeros(4, 8, 8)}, "8 x 8 fields"),
    ({"x": torch.zeros(2, 16, 16), "y": torch.zeros(2, 16, 16), "hook": Path("x")},
     "pickled objects other than tensors"),
])
def test_damaged_darcy_data_is_one_line(tmp_path, monkeypatch, payload, fragment):
    folder = tmp_path / "darcy"
    folder.mkdir()
    if isinstance(payload, bytes):
        (folder / "darcy_train_16.pt").write_bytes(payload)
    else:
        darcy_file(folder, "darcy_train_16.pt", payload)
    darcy_file(folder, "darcy_test_16.pt", {"x": torch.zeros(2, 16, 16),
                                            "y": torch.ones(2, 16, 16)})
    monkeypatch.setenv("CODESIGN_DARCY_DATA", str(folder))
    one_line_error(cli("train", "--task", "darcy", "--epochs", "1", "--out",
                       tmp_path / "d.pt"), fragment)


def test_a_huge_timeout_is_one_line(tmp_path, core_file):
    for args in (["export", core_file, "--out", tmp_path / "n"], ["info"],
                 ["verify", core_file, "--samples", "2", "--out", tmp_path / "v"]):
        one_line_error(cli(*args, "--timeout", "1e300"), "--timeout")
    with pytest.raises(InputError, match="time-out"):
        codesign.get_simulator(timeout_s=1e300)


def test_the_python_api_checks_what_the_cli_checks(rng):
    core = random_core(4, 2, 0.5, rng)
    config = codesign.circuit_config("ideal")
    cases = [
        (lambda: codesign.Chip("core", config), "CoreWeights"),
        (lambda: codesign.Chip(core, "ideal"), "circuit_config('ideal')"),
        (lambda: codesign.load_params(42), "path of a JSON file"),
        (lambda: codesign.get_simulator(workers=-3), "whole number >= 1"),
        (lambda: codesign.DesignSpace(current_ratio="ab"), "two numbers"),
        (lambda: codesign.DesignSpace(dac_bits=(3.5, 8)), "two whole numbers"),
        (lambda: codesign.DesignSettings(screen_samples=-5), "--screen-samples"),
        (lambda: codesign.random_core(4, 2, 1.5, rng), "not a contraction"),
        (lambda: codesign.random_core(4, 2, 0.5, 7), "numpy Generator"),
    ]
    for call, fragment in cases:
        with pytest.raises(InputError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            call()
    assert codesign.random_core(4, 2, 1.5, rng, allow_unstable=True).spectral_norm > 1


def test_a_spec_without_held_out_cores_is_refused_before_any_spice(tmp_path, monkeypatch):
    from tests.fakes import fake_ngspice

    monkeypatch.setenv("CODESIGN_NGSPICE", str(fake_ngspice(tmp_path, "crash")))
    spec = tmp_path / "s.toml"
    spec.write_text("[circuit]\nneuron = 'opamp'\n[probes]\nsizes = [4]\nholdout_cores = 0\n")
    one_line_error(cli("calibrate", "--spec", spec, "--out", tmp_path / "p.json", "--work",
                       tmp_path / "w"), "holdout_cores must be >= 1")
    assert not (tmp_path / "w" / "store").exists()


# 4. the noise check

@pytest.mark.slow(seconds=75)
def test_noise_on_a_tiny_core_gives_a_result(tmp_path):
    """n = 1 (seed 2): the dynamics fit drives the output pole to ~1e-46 s, which made the
    two-pole Lyapunov equation singular and the predicted spread 1e-17 FS."""
    result = cli("noise", "--n", "1", "--m", "1", "--seed", "2", "--inputs", "1", "--repeats",
                 "4", "--workers", "2", "--out", tmp_path / "n")
    assert result.exit_code == 0, result.output
    check = json.loads((tmp_path / "n" / "noise.json").read_text())
    ratios = [check[name]["proxy_fs"][0] / check[name]["spice_fs"][0]
              for name in ("held_out", "scaled")]
    assert all(0.3 < r < 3 for r in ratios), ratios  # 4 repeats: +-41 % sampling error
    assert 0.3 < check["params"]["noise_excess"] < 3
    growth = [check["scaled"][k][0] / check["held_out"][k][0] for k in ("spice_fs", "proxy_fs")]
    assert growth[1] == pytest.approx(growth[0], rel=0.1)  # x0.1 currents: sqrt(10) more


def test_a_noise_check_beyond_this_machine_is_refused_with_its_size(tmp_path):
    start = time.monotonic()
    one_line_error(cli("noise", "--repeats", "100000", "--inputs", "100", "--out",
                       tmp_path / "n"), "30,000,008 noisy transients", "--force")
    assert time.monotonic() - start < 30 and not (tmp_path / "n").exists()


def test_export_with_a_timeout_ngspice_cannot_meet_fails(tmp_path, core_file, monkeypatch):
    # an ngspice that does not answer `-v` in time (a real one may answer within 1 ms when the
    # test process is descheduled, so the fake sleeps instead)
    from tests.fakes import fake_ngspice
    monkeypatch.setenv("CODESIGN_NGSPICE", str(fake_ngspice(tmp_path, "hang-version")))
    one_line_error(cli("export", core_file, "--timeout", "0.5", "--out", tmp_path / "n"),
                   "did not answer within 0.5 s")


# 5. clusters and re-runs

def test_a_scheduler_without_workers_is_named_not_waited_on(tmp_path, core_file, monkeypatch):
    monkeypatch.setattr("codesign.jobs.WORKER_WAIT_S", 3.0)
    file = tmp_path / "scheduler.json"
    proc = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                             "--no-dashboard", "--scheduler-file", str(file)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        start = time.monotonic()
        one_line_error(cli("verify", core_file, "--samples", "2", "--scheduler", address,
                           "--out", tmp_path / "v"), "has no workers", "dask worker")
        assert time.monotonic() - start < 30
    finally:
        proc.kill()
        proc.wait()


def test_two_runs_on_one_folder_the_second_is_refused(tmp_path, core_file):
    with RunFolder(tmp_path / "d", "design").start():  # a search running in this folder
        one_line_error(cli("design", "--out", tmp_path / "d"), "in use by another codesign run")
        one_line_error(cli("verify", core_file, "--samples", "2", "--out", tmp_path / "d"),
                       "in use by another codesign run")
    assert cli("verify", core_file, "--samples", "2", "--out", tmp_path / "v").exit_code == 0


def test_a_design_failed_under_a_shorter_timeout_is_tried_again(tmp_path):
    from codesign.design.refine import failed_before

    record = tmp_path / "failed.json"
    record.write_text(json.dumps({"trial": 3, "error": "timed out", "timeout_s": 0.05}))
    assert failed_before(record, 0.05) and record.exists()  # the same limit: skipped
    assert not failed_before(record, 300.0) and not record.exists()  # a longer one: again
