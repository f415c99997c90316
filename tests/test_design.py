"""The design search: designs as circuits, the space's checks, the Pareto front against its
definition, the energy split by rail against SPICE, looser transients against the default, and
a small search end to end (local pool, then resumed on a Dask cluster after a kill)."""

import json
import os
import re
import shlex
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from codesign.chip.card import sampling_tol_fs
from codesign.chip.chip import Chip
from codesign.circuit.config import circuit_config
from codesign.cli import main
from codesign.deq import random_core
from codesign.design.energy import conduction_w, screen_power_w, spice_breakdown
from codesign.design.search import pareto_mask
from codesign.design.settings import DesignSettings
from codesign.design.space import Design, DesignSpace
from codesign.errors import InputError
from codesign.netlist.spice import relaxed_transients
from codesign.proxy.params import default_params_path, load_params

FAST_SPACE = """[space]
current_ratio = [0.3, 0.6]
v_fs = [0.2, 0.3]
tau_s = [0.5e-6, 1e-6]
levels = [0, 4]
dac_bits = [6, 8]
adc_bits = [6, 8]
input_headroom_v = [0.2, 0.6]
"""


def test_the_pareto_front_is_the_set_no_other_point_dominates(rng):
    for _ in range(20):
        points = rng.integers(0, 4, size=(int(rng.integers(1, 30)), 3)).astype(float)
        mask = pareto_mask(points)
        for i, p in enumerate(points):
            dominated = any(np.all(q <= p) and np.any(q < p) for q in points)
            assert mask[i] == (not dominated)
        assert mask.any()


def test_a_design_is_its_circuit_and_carries_the_calibrated_proxy():
    d = Design(current_ratio=0.1, v_fs=0.2, tau_s=0.5e-6, levels=4, dac_bits=5, adc_bits=6,
               input_supply_v=0.45)
    c = d.circuit(0.05)
    base = circuit_config("cmos")
    assert c.mapping.g_max_s == pytest.approx(0.1 * base.mapping.g_max_s)
    assert c.neuron.cmos.ota_bias_a == pytest.approx(0.1 * base.neuron.cmos.ota_bias_a)
    assert c.neuron.cmos.pair_tail_a == pytest.approx(0.1 * base.neuron.cmos.pair_tail_a)
    assert (c.mapping.v_fs, c.neuron.tau_s, c.array.levels, c.array.mismatch_sigma) == \
        (0.2, 0.5e-6, 4, 0.05)
    assert (c.supplies.input_vdd_v, c.supplies.input_vss_v) == (0.45, -0.45)
    assert (c.converters.dac_bits, c.converters.adc_bits, c.noise.enabled) == (5, 6, True)
    # a quarter of the 6-bit ADC's LSB (2 FS / 63), the energy card's tolerance
    assert d.settle_tol_fs == pytest.approx(sampling_tol_fs(c.converters)) == 2 / 63 / 4
    params, _ = load_params(default_params_path("cmos"))
    carried = d.params(params)
    assert carried.tau_s == pytest.approx(0.5 * params.tau_s)
    assert carried.output_offset_fs == pytest.approx(params.output_offset_fs * 0.25 / 0.2)
    assert carried.dc_gain == params.dc_gain
    assert Design().params(params) == params


def test_bad_spaces_settings_and_designs_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="v_fs"):
        DesignSpace(v_fs=(0.3, 0.2))
    with pytest.raises(InputError, match="levels"):
        DesignSpace(levels=(1,))
    with pytest.raises(InputError, match="input_supply_v"):
        Design(v_fs=0.3, input_supply_v=0.25).circuit(0.0)
    with pytest.raises(InputError, match="exceeds"):
        DesignSettings(trials=2, verify=5)
    with pytest.raises(InputError, match="--refine"):
        DesignSettings(refine=-1)
    with pytest.raises(InputError, match="--refine-samples"):
        DesignSettings(refine_samples=0)
    bad = tmp_path / "bad.toml"
    runner = CliRunner()
    for text, message in (("[space]\nvoltage = [1, 2]\n", "unknown keys"),
                          ("[space]\ntau_s = [1, 2]\n", "tau_s must lie"),
                          ("[space\n", "cannot read")):
        bad.write_text(text)
        result = runner.invoke(main, ["design", "--space", str(bad), "--out",
                                      str(tmp_path / "run")])
        assert result.exit_code == 2, result.output
        assert message in result.output and len(result.output.strip().splitlines()) == 1
    result = runner.invoke(main, ["design", "--trials", "2", "--verify", "3", "--out",
                                  str(tmp_path / "run")])
    assert result.exit_code == 2 and "exceeds" in result.output
    result = runner.invoke(main, ["design", "--refine", "-1", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "--refine" in result.output


@pytest.fixture(scope="module")
def cmos_chip(process_sim):
    rng = np.random.default_rng(3)
    core = random_core(n=6, m=4, rho=0.6, generator=rng)
    config = Design(current_ratio=0.4, v_fs=0.25, input_supply_v=0.6).circuit(0.0, noise=False)
    return Chip(core, config, seed=2, simulator=process_sim), rng.uniform(-1, 1, (2, 4))


def test_the_energy_splits_by_rail_and_the_screen_predicts_the_drivers(cmos_chip, tmp_path):
    """The activations' own rails carry part of the core's energy; the input drivers deliver
    rail x sum_k |e_k| v_fs G_k (class B into virtual ground), as the screen's power model
    says; the breakdown adds up to the supplies plus the conversions."""
    chip, e = cmos_chip
    run = chip.transients(e, tmp_path / "tran", tol_fs=1e-3)
    t = np.array([m.settling_time_s for m in run.transients])
    core = np.array([m.core_energy_j for m in run.transients])
    act = np.array([m.activation_energy_j for m in run.transients])
    inputs = np.array([m.input_energy_j for m in run.transients])
    assert np.all(act > 0) and np.all(act < core)
    z = run.z
    screen = screen_power_w(chip, e, z)
    assert np.all(np.isfinite(t))
    c, rail = chip.circuit, chip.config.supplies.input_vdd_v
    drivers_w = rail * chip.v_fs * (np.abs(e) @ (c.g_u_plus + c.g_u_minus).sum(0)
                                    + (c.g_b_plus + c.g_b_minus).sum())
    np.testing.assert_allclose(inputs / t, drivers_w, rtol=0.03)
    np.testing.assert_allclose(screen, (core + inputs) / t, rtol=0.3)
    _, from_inputs = conduction_w(chip, e, z)
    assert np.all(from_inputs < drivers_w)
    breakdown = spice_breakdown(chip, e, z, t, core - act, act, inputs)
    conv = chip.config.converters.energy_j(chip.n, chip.m)
    assert breakdown.total_j == pytest.approx(float(np.mean(core + inputs)) + conv, rel=1e-9)
    assert min(asdict(breakdown).values()) > 0


def test_looser_transients_keep_settling_energy_and_the_operating_point(simulator, tmp_path):
    """reltol 1e-2 in transients only (relaxed_transients): settling times and energies within
    1 % of the deck's own options, the operating points identical, on both backends."""
    rng = np.random.default_rng(5)
    core = random_core(n=4, m=3, rho=0.6, generator=rng)
    config = Design(current_ratio=0.3).circuit(0.0, noise=False)
    e = rng.uniform(-1, 1, (2, 3))
    runs = []
    for relaxed in (False, True):
        chip = Chip(core, config, seed=1, simulator=simulator)
        if relaxed:
            chip.deck = relaxed_transients(chip.deck, 1e-2)
        runs.append(chip.transients(e, tmp_path / f"r{relaxed}", tol_fs=1e-3))
    (a, b) = runs
    np.testing.assert_array_equal(a.z, b.z)
    for x, y in zip(a.transients, b.transients, strict=True):
        assert y.settling_time_s == pytest.approx(x.settling_time_s, rel=0.01)
        assert y.energy_j == pytest.approx(x.energy_j, rel=0.01)


def _search(out, *extra, code: int = 0) -> str:
    result = CliRunner().invoke(main, [
        "design", "--task", "digits", "--verify", "1", "--samples", "4", "--transients", "1",
        "--epochs", "1", "--screen-samples", "32", "--final-samples", "4",
        "--final-transients", "2", "--space",
        str(out.parent / "fast.toml"), "--out", str(out), "--workers", "2", *extra])
    assert result.exit_code == code, result.output
    return result.output


@pytest.mark.slow(seconds=280)
def test_a_small_search_measures_chooses_and_resumes(tmp_path):
    """Two designs on the local pool whose SPICE runs all time out (--timeout 0.05): a one-line
    error, the screened designs kept, each failure recorded with its time-out. Then the default
    time-out: a failed design is measured again, the front, a choice, and a follow-up command
    that survives the quote in the folder's name. Then, as after a kill, a trial the study
    handed out but never heard back from, and one more trial on a Dask cluster: the finished
    work is reused, the interrupted trial runs with its own parameters."""
    import optuna
    from distributed import LocalCluster
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    (tmp_path / "fast.toml").write_text(FAST_SPACE)
    out = tmp_path / "it's a run"  # a quote: the printed follow-up command must survive it
    log = _search(out, "--trials", "2", "--timeout", "0.05", code=2)  # every SPICE run times out
    assert "SPICE could not measure any design" in log.strip().splitlines()[-1]
    failed = [json.loads(p.read_text()) for p in out.glob("trials/*/failed.json")]
    assert len(failed) == 2 and all(f["timeout_s"] == 0.05 for f in failed)
    assert len(pd.read_csv(out / "trials.csv")) == 2
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
    log = _search(out, "--trials", "2")  # the default time-out: a failed design runs again
    assert len(list(out.glob("trials/*/failed.json"))) < 2
    assert re.search(r"\[1/[12]\] trial", log)  # 2 where both are on the screened front
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    (follow,) = [line for line in log.splitlines() if "the chosen design's full loop" in line]
    command = shlex.split(follow.split(": ", 1)[1])
    assert command[:2] == ["codesign", "loop"]
    assert Path(command[command.index("--circuit") + 1]).is_file()
    assert Path(command[command.index("--params") + 1]).is_file()
    trials = pd.read_csv(out / "trials.csv")
    front = pd.read_csv(out / "front.csv")
    assert len(trials) == 2 and len(front) >= 1 and (out / "front.png").stat().st_size > 0
    parts = ["amplifiers_j", "crossbar_j", "activations_j", "dac_drivers_j",
             "dac_conversions_j", "adc_conversions_j"]
    np.testing.assert_allclose(front[parts].sum(axis=1), front.total_j, rtol=1e-12)
    # a measured design's energy is its energy card's median, which its lines add up to
    card = front[[c for c in front.columns if c.startswith("card: ")]]
    measured = front.unsettled == 0
    np.testing.assert_allclose(front.energy_j[measured], card[measured].sum(axis=1),
                               rtol=1e-12)
    assert (front.energy_j[measured] > front.total_j[measured]).all()  # + digital, bias, ...
    assert (front.area_mm2 > 0).all() and (trials.area_mm2 > 0).all()
    chosen = json.loads((out / "chosen.json").read_text())
    assert chosen["number"] in set(front.trial) and chosen["samples"] == 4
    card = json.loads((out / "chosen" / "card.json").read_text())  # its energy and area cards
    assert card["energy"]["transients"] == 2 and card["metric_spice"] == chosen["metric_spice"]
    assert card["key"]["number"] == chosen["number"] and card["area"]["total_mm2"] > 0
    energy = card["energy"]  # its transients' step bound, and the metric read at sampling
    assert energy["max_step_s"] == pytest.approx(card["config"]["neuron"]["tau_s"] / 3)
    assert {energy["metric_at_sampling"], energy["metric_at_dc"]} <= {0.0, 0.5, 1.0}
    assert energy["same_output_at_sampling"] < 1 or (
        energy["metric_at_sampling"] == energy["metric_at_dc"])
    lines = {line["block"]: line["median_j"] for line in card["energy"]["lines"]}
    assert sum(lines.values()) == pytest.approx(card["energy"]["median_j"], rel=1e-9)
    assert (out / chosen["circuit_path"]).is_file() and (out / chosen["model_path"]).is_file()
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("trials/*/*.json")}

    storage = JournalStorage(JournalFileBackend(str(out / "study.log")))
    study = optuna.load_study(study_name="design", storage=storage)
    orphan = study.ask()
    design = Design(current_ratio=0.5, v_fs=0.25, tau_s=0.8e-6, levels=0, dac_bits=7,
                    adc_bits=7, input_supply_v=0.7)
    orphan.set_user_attr("design", asdict(design))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        log = _search(out, "--trials", "4", "--scheduler", cluster.scheduler_address)
    assert "1 interrupted trial runs again" in log
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 4
    redone = trials[trials.trial == orphan.number].iloc[0]
    assert (redone.current_ratio, redone.adc_bits) == (0.5, 7)
    assert os.path.exists(out / "trials" / f"{orphan.number:04d}" / "model.pt")
    _refine_fits_the_design_better(out / "trials" / "0000")


def _refine_fits_the_design_better(folder):
    """A measured design refined on its own SPICE operating points: the re-fitted proxy is
    closer to that chip's held-out equilibria than the carried one, and the refined model is
    measured like any design, through the re-fitted proxy."""
    from codesign.design.refine import REFIT, refine_design
    from codesign.design.verify import PARAMS, verify_design
    from codesign.simulator import get_simulator
    from codesign.tasks import get_task

    task, sim = get_task("digits"), get_simulator("process", workers=2)
    refined = refine_design(folder, task, sim, samples=16, epochs=1, chip_seed=1,
                            mismatch_sigma=0.05, params_path=default_params_path("cmos"))
    fit = json.loads((refined / REFIT).read_text())
    assert fit["calibration_samples"] == 16
    assert fit["residual_after_fs"] < 0.5 * fit["residual_before_fs"]
    v = verify_design(refined, task, sim, 4, 1, 1, 0.05, default_params_path("cmos"))
    assert v.refined and (refined / PARAMS).is_file() and np.isfinite(v.metric_spice)
    assert v.energy_j > 0 and v.samples == 4


def test_refining_picks_cheap_misses_whose_screen_met_the_target():
    """Only designs cheaper than the least energy within the target in SPICE; screen-within
    ones by energy first, then the rest by screened metric."""
    from types import SimpleNamespace

    from codesign.design.refine import refine_candidates
    from codesign.tasks import get_task

    task = get_task("physics")  # relative L2, within 1.5 x the reference
    designs = [SimpleNamespace(number=k, energy_j=energy, metric_spice=spice,
                               metric_proxy=proxy, samples=16, refined=False)
               for k, (energy, spice, proxy) in enumerate([
                   (1.0, 0.30, 0.20), (2.0, 0.30, 0.12), (3.0, 0.30, 0.14),
                   (4.0, 0.30, 0.30), (5.0, 0.12, 0.12), (6.0, 0.30, 0.10)])]
    picks = refine_candidates(task, designs, 0.1, 0.1, count=4)
    assert [v.number for v in picks] == [1, 2, 0, 3]
    assert [v.number for v in refine_candidates(task, designs, 0.1, 0.1, count=1)] == [1]
    assert refine_candidates(task, designs[4:5], 0.1, 0.1, count=3) == []


def test_the_loop_takes_a_designed_circuit_or_says_what_is_wrong(tmp_path):
    from codesign.circuit.settings import read_circuit as load_circuit
    from codesign.files import write_json

    config = Design(current_ratio=0.2, v_fs=0.3, input_supply_v=0.5).circuit(0.05)
    path = write_json(tmp_path / "circuit.json", asdict(config))
    assert load_circuit(path) == config
    runner = CliRunner()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**asdict(config), "mapping": {"v_fs": -1.0}}))
    for circuit, neuron, message in ((path, "transistor", "--neuron cmos"),
                                     (bad, "cmos", "v_fs")):
        result = runner.invoke(main, ["loop", "--task", "digits", "--neuron", neuron,
                                      "--circuit", str(circuit), "--out", str(tmp_path / "l")])
        assert result.exit_code == 2, result.output
        assert message in result.output and len(result.output.strip().splitlines()) == 1
