"""The co-design loop end to end on small settings, with real ngspice: every artefact of a run,
the report, and the circuit's numbers checked against the proxy and PyTorch."""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from codesign.circuit.config import ArrayConfig, circuit_config
from codesign.cli import main
from codesign.deq import DEQConfig
from codesign.loop.context import context
from codesign.loop.pipeline import run_loop
from codesign.loop.runs import run_on_chip
from codesign.proxy.params import default_params_path, load_params
from codesign.report import write_report
from codesign.results.loop import LoopSettings
from codesign.tasks import get_task
from codesign.tasks.base import Episodes
from codesign.tasks.control import PendulumConfig
from codesign.tasks.physics import PROFILE
from codesign.training.aware import HardwareModel
from codesign.training.train import TrainConfig, new_model, train_model

TINY = replace(PROFILE, core_size=12, core_inputs=8, train=TrainConfig(epochs=3, input_noise=0.02),
               finetune=TrainConfig(epochs=1, lr=1e-3, seed=1), verify_samples=12,
               robustness_samples=4, seeds=2, chips=2, energy_samples=2, target=1e-9)
"""A physics profile small enough for a test, with an unreachable target."""


@pytest.mark.slow
def test_loop_runs_rounds_and_writes_a_report(process_sim, tmp_path):
    out = tmp_path / "run"
    settings = LoopSettings(task="physics", neuron="opamp", rounds=2, mismatch_sigma=0.05)
    summary = run_loop(settings, out, process_sim, lambda line: None, TINY)
    rounds = pd.read_csv(out / "rounds.csv")
    # an unreachable target: both rounds run, round 1 fine-tunes with the re-fitted proxy
    assert list(rounds["round"]) == [0, 1] and not rounds.within_target.any()
    assert (out / "round-1" / "netlist" / "crossbar.cir").is_file()
    assert (out / "round-0" / "proxy.json").is_file()
    # the opamp level's proxy is exact: on the verified chip it predicts SPICE's metric
    assert np.allclose(rounds.proxy, rounds.circuit, rtol=1e-4)
    parity = pd.read_csv(out / "parity.csv")
    assert np.abs(parity.z_proxy - parity.z_spice).max() < 1e-5
    seeds = pd.read_csv(out / "seeds.csv")
    assert sorted(seeds.training.unique()) == ["naive", "physics-aware"] and len(seeds) == 4
    curves = pd.read_csv(out / "robustness.csv")
    assert set(curves.axis) == {"mismatch_sigma", "bits", "dc_gain"}
    points = pd.read_csv(out / "robustness_circuit.csv")
    assert np.allclose(points.proxy, points.circuit, rtol=1e-3)
    energy = summary.energy
    assert energy.energy_per_inference_j.mean > 0 and energy.settling_s.max > 0
    assert json.loads((out / "summary.json").read_text())["timings_s"]["total"] > 0
    md, page = write_report(out)
    text = md.read_text()
    for name in ("robustness.png", "energy.png", "settling.png", "parity.png", "seeds.png"):
        assert (out / "report" / name).is_file() and name in text
    assert "Acceptance" in text and "<table>" in page.read_text()
    # a run whose transients never settled (a noisy one) still gets its report, which says so
    data = json.loads((out / "summary.json").read_text())
    data["energy"]["settling_s"] = {"mean": None, "median": None, "max": None}
    (out / "summary.json").write_text(json.dumps(data))
    md, _ = write_report(out)
    assert "no transient settled to 1e-4 FS" in md.read_text()


def test_rounds_only_run_on_binary_cells_reports_without_the_evaluation(process_sim, tmp_path):
    settings = LoopSettings(task="physics", neuron="opamp", rounds=1, evaluate=False, levels=2)
    summary = run_loop(settings, tmp_path, process_sim, lambda line: None, TINY)
    assert len(summary.rounds) == 1 and summary.energy is None
    # ternary weights: the proxy's quantization is the compiler's, so it predicts SPICE
    row = summary.rounds[0].run
    assert row.proxy.metric == pytest.approx(row.circuit.metric, rel=1e-4)
    assert row.digital.metric != pytest.approx(row.circuit.metric, rel=1e-3)
    md, _ = write_report(tmp_path)
    text = md.read_text()
    assert "## Rounds" in text and "binary cells" in text and "--levels 2" in text
    assert "## Robustness" not in text and "## Physics-aware vs naive" not in text


def test_the_chip_has_the_task_profiles_cells_unless_levels_is_given(process_sim, tmp_path):
    def levels(**settings):
        ctx = context(LoopSettings(**settings), tmp_path, process_sim, lambda line: None)
        return ctx.hardware.circuit.array.levels

    assert levels(task="digits") == get_task("digits").profile.levels == 2
    assert levels(task="digits", levels=0) == 0
    assert levels(task="physics") == 0 and levels(task="physics", levels=16) == 16


@pytest.mark.slow
def test_closed_loop_with_the_circuit_follows_the_proxy(process_sim, tmp_path):
    task = get_task("control")
    deq = DEQConfig(in_features=3, out_features=1, core_size=6, core_inputs=4)
    small = replace(task, x_train=task.x_train[:512], y_train=task.y_train[:512])
    model = train_model(small, new_model(small, deq, 0), TrainConfig(epochs=3)).model
    config = circuit_config("opamp", array=ArrayConfig(mismatch_sigma=0.05))
    hw = HardwareModel(load_params(default_params_path("opamp"))[0], config)
    task = replace(small, config=PendulumConfig(steps=6, success_steps=2))
    ctx = context(LoopSettings(task="control", chip_seed=1), tmp_path, process_sim,
                  lambda line: None)
    ctx = replace(ctx, task=task)
    run = run_on_chip(ctx, model, hw, tmp_path, Episodes(3, 0))
    circuit, proxy = run.rollouts["circuit"], run.rollouts["proxy"]
    assert run.chip.traces()[1].shape == (3 * 6, 6)  # one SPICE run per step, traces kept
    np.testing.assert_allclose(circuit.torque, proxy.torque, atol=1e-5)
    assert np.abs(run.rollouts["digital"].torque - circuit.torque).max() > 0  # mismatch shows


def test_report_of_a_folder_without_a_run_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "no summary.json" in result.output and "Traceback" not in result.output


def test_loop_refuses_bad_settings(tmp_path):
    result = CliRunner().invoke(main, ["loop", "--task", "physics", "--rounds", "0", "--out",
                                       str(tmp_path)])
    assert result.exit_code == 2 and "rounds" in result.output
    result = CliRunner().invoke(main, ["loop", "--task", "physics", "--levels", "1", "--out",
                                       str(tmp_path), "--no-evaluate"])
    assert result.exit_code == 2 and "levels" in result.output


def test_report_names_an_older_run_and_refuses_an_unfinished_one(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "summary.json").write_text(json.dumps({"task_kind": "control", "rounds": [{}]}))
    result = CliRunner().invoke(main, ["report", str(old)])
    assert result.exit_code == 2 and "results schema 1" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_a_run_that_did_not_finish_is_rendered_only_with_partial(process_sim, tmp_path):
    settings = LoopSettings(task="physics", neuron="opamp", rounds=1, evaluate=False)
    run_loop(settings, tmp_path, process_sim, lambda line: None, TINY)
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "complete"
    summary = json.loads((tmp_path / "summary.json").read_text())
    (tmp_path / "summary.json").write_text(json.dumps({**summary, "complete": False}))
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "--partial" in result.output
    result = CliRunner().invoke(main, ["report", str(tmp_path), "--partial"])
    assert result.exit_code == 0, result.output
    assert "INCOMPLETE RUN" in (tmp_path / "report" / "report.md").read_text()
