"""The design search on a buildable chip: designs start from the parts given by --set (the
sky130 R-2R cell, the PDK's mismatch, the beta-multiplier reference), the OTA's bias and Miller
capacitor are searched instead of the current ratio the cell's devices cannot follow, and the
screen and the SPICE measurement count energy the way the energy card does, with area as an
objective."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
from click.testing import CliRunner

from codesign.chip.card import (
    ADC_SAR_130NM_CONVERSION_S,
    area_card,
    cited_settings,
    screened_card_j,
)
from codesign.chip.chip import Chip
from codesign.cli import main
from codesign.deq import random_core
from codesign.deq.checkpoint import save_checkpoint
from codesign.deq.model import DEQConfig
from codesign.design.energy import screen_power_w
from codesign.design.space import Design, DesignSpace, check_space
from codesign.design.trial import TrialJob, run_trial
from codesign.design.verify import verify_design
from codesign.errors import InputError
from codesign.parts import PartKind, chip_parts, get_part
from codesign.parts.cell_sky130_r2r import G_LSB_S
from codesign.proxy.params import default_params_path
from codesign.tasks import get_task
from codesign.training.train import new_model

BUILDABLE = ("cell=sky130_r2r_eq", "periphery.bias=sky130_beta")


def test_a_design_starts_from_the_chips_parts_and_searches_its_ota():
    design = Design(tau_s=2e-7, v_fs=0.2, input_supply_v=0.5, dac_bits=6, adc_bits=5,
                    ota_bias_a=7e-7, ota_cc_f=8e-14)
    c = design.circuit(0.05, sets=(*BUILDABLE, "device_mismatch=true"))
    assert (str(c.array.cell), c.array.levels, str(c.periphery.bias)) == \
        ("sky130_r2r_eq", 64, "sky130_beta")
    assert c.mapping.g_max_s == pytest.approx(63 * G_LSB_S, rel=1e-3)
    assert (c.neuron.cmos.ota_bias_a, c.neuron.cmos.ota_cc_f, c.neuron.cmos.device_mismatch) \
        == (7e-7, 8e-14, True)
    assert (c.neuron.tau_s, c.mapping.v_fs, c.converters.adc_bits) == (2e-7, 0.2, 5)
    # the level's bias where the space does not search it, scaled with the current ratio
    plain = Design(current_ratio=0.5).circuit(0.0)
    assert plain.neuron.cmos.ota_bias_a == pytest.approx(
        0.5 * Design().circuit(0.0).neuron.cmos.ota_bias_a)
    with pytest.raises(InputError, match=r"current_ratio must be \[1, 1\]"):
        Design(current_ratio=0.5).circuit(0.0, sets=BUILDABLE)
    with pytest.raises(InputError, match="levels"):
        Design(levels=4).circuit(0.0, sets=BUILDABLE)
    with pytest.raises(InputError, match="the search sets it"):
        Design().circuit(0.0, sets=("mapping.v_fs=0.3",))
    with pytest.raises(InputError, match="current_ratio"):
        check_space(DesignSpace(), BUILDABLE, 0.05)
    check_space(DesignSpace(current_ratio=(1, 1), levels=(0,)), BUILDABLE, 0.05)


def test_the_space_searches_the_ota_where_given_and_refuses_bad_ranges(tmp_path):
    space = DesignSpace(current_ratio=(1, 1), levels=(0,), ota_bias_a=(3e-7, 3e-6),
                        ota_cc_f=(3e-14, 3e-13))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(20):
        d = space.suggest(study.ask())
        assert 3e-7 <= d.ota_bias_a <= 3e-6 and 3e-14 <= d.ota_cc_f <= 3e-13
        assert space.contains(d) and not DesignSpace().contains(d)
    plain = DesignSpace().suggest(optuna.create_study().ask())
    assert (plain.ota_bias_a, plain.ota_cc_f) == (0.0, 0.0) and DesignSpace().contains(plain)
    path = tmp_path / "space.toml"
    path.write_text("[space]\ncurrent_ratio = [1, 1]\nlevels = [0]\nota_bias_a = [1e-9, 1]\n")
    with pytest.raises(InputError, match="ota_bias_a must lie in"):
        DesignSpace.load(path)


@pytest.fixture(scope="module")
def r2r_chip(process_sim):
    rng = np.random.default_rng(4)
    core = random_core(n=6, m=4, rho=0.6, generator=rng)
    config = Design(v_fs=0.25, input_supply_v=0.6).circuit(0.0, noise=False, sets=BUILDABLE)
    return Chip(core, config, seed=2, simulator=process_sim), rng.uniform(-1, 1, (2, 4))


def test_the_screen_counts_the_ladders_load_whatever_its_code(r2r_chip, tmp_path):
    """An R-2R cell draws 64 G_LSB from its driver whatever its code (its off legs go to
    ground): the input drivers' SPICE energy is rail x v_fs x |e| x that load per drawn cell,
    which the screen's power counts, and the cells' programmed conductances alone miss."""
    chip, e = r2r_chip
    run = chip.transients(e, tmp_path / "tran", tol_fs=1e-3)
    t = np.array([m.settling_time_s for m in run.transients])
    inputs = np.array([m.input_energy_j for m in run.transients])
    assert np.all(np.isfinite(t))
    c, rail = chip.circuit, chip.config.supplies.input_vdd_v
    drawn_u = ((c.g_u_plus > 0).sum(0) + (c.g_u_minus > 0).sum(0)) * 64 * G_LSB_S
    drawn_b = float((c.g_b_plus > 0).sum() + (c.g_b_minus > 0).sum()) * 64 * G_LSB_S
    ladder_w = rail * chip.v_fs * (np.abs(e) @ drawn_u + drawn_b)
    np.testing.assert_allclose(inputs / t, ladder_w, rtol=0.05)
    programmed_w = rail * chip.v_fs * (np.abs(e) @ (c.g_u_plus + c.g_u_minus).sum(0)
                                       + (c.g_b_plus + c.g_b_minus).sum())
    assert np.all(programmed_w < 0.8 * ladder_w)
    screen = screen_power_w(chip, e, run.z)
    core = np.array([m.core_energy_j for m in run.transients])
    np.testing.assert_allclose(screen, (core + inputs) / t, rtol=0.3)


def test_the_screened_card_charges_what_the_card_charges(r2r_chip):
    chip, _ = r2r_chip
    settings = cited_settings(chip.config, digital_macs=100)
    settle, power = 1.5e-6, 2e-4
    conv_s = ADC_SAR_130NM_CONVERSION_S.value
    bias_w = chip_parts(chip.config).bias.supply_a * 1.8
    assert bias_w > 0
    # behavioural input/bias and activation output drivers, each at the idle current of the
    # sky130 driver that settles within 1.5 us at the least power (sky130_ab_fast's)
    fast = get_part(PartKind.DRIVER, "sky130_ab_fast")
    drivers_w = (chip.m + 1 + chip.n) * fast.supply_a * fast.supply_v
    expected = ((power + bias_w + drivers_w) * (settle + conv_s)
                + chip.n * settings.adc_conversion_j + chip.m * settings.dac_conversion_j
                + 100 * settings.digital_mac_j)
    assert screened_card_j(chip, settle, power, settings) == pytest.approx(expected, rel=1e-12)


def test_the_design_cli_refuses_a_buildable_chip_in_the_current_space(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["design", "--task", "physics", "--set", "cell=sky130_r2r_eq",
                                  "--out", str(tmp_path / "d")])
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]
    assert "current_ratio must be [1, 1]" in line and "Traceback" not in result.output
    result = runner.invoke(main, ["design", "--task", "physics", "--set", "neuron.tau_s=1e-7",
                                  "--out", str(tmp_path / "e")])
    assert result.exit_code == 2 and "the search sets it" in result.output
    result = runner.invoke(main, ["design", "--task", "control", "--out", str(tmp_path / "f")])
    assert result.exit_code == 2 and "judged in closed loop" in result.output
    assert not (tmp_path / "d" / "trials").exists()


@pytest.mark.slow(seconds=90)
def test_a_buildable_design_is_screened_and_measured_as_its_card(tmp_path):
    """One design of the buildable chip end to end: fine-tuned and screened (the card's
    energy, the area card), then measured in SPICE: its energy is the card's median, whose
    lines add up to it, and its area the area card's."""
    task = get_task("physics")
    p = task.profile
    model = new_model(task, DEQConfig(in_features=task.in_features,
                                      out_features=task.out_features, core_size=p.core_size,
                                      core_inputs=p.core_inputs), seed=3)
    base = save_checkpoint(tmp_path / "base.pt", model, "physics", {}, {})
    sets = (*BUILDABLE, "device_mismatch=true")
    design = Design(tau_s=3e-7, dac_bits=6, adc_bits=6, ota_bias_a=1e-6, ota_cc_f=1e-13)
    job = TrialJob(number=0, design=design, task="physics", base_model=str(base),
                   params_path=str(default_params_path("cmos")), folder=str(tmp_path / "t"),
                   epochs=1, screen_samples=4, settle_samples=2, sets=sets)
    trial = run_trial(job)
    assert np.isfinite(trial.energy_j) and trial.energy_j > trial.converters_j > 0
    from codesign.design.verify import design_chip
    from codesign.simulator import get_simulator

    sim = get_simulator("process", workers=2)
    _, _, _, chip = design_chip(tmp_path / "t", sim, 1, 0.05, default_params_path("cmos"),
                                "physics", sets)
    assert str(chip.config.array.cell) == "sky130_r2r_eq"
    assert trial.area_mm2 == pytest.approx(area_card(chip).total_mm2, rel=1e-9) and \
        trial.area_mm2 > 0
    v = verify_design(tmp_path / "t", task, sim, samples=4, transients=2, chip_seed=1,
                      mismatch_sigma=0.05, params_path=default_params_path("cmos"), sets=sets)
    assert v.unsettled == 0 and v.transients == 2
    assert v.energy_j == pytest.approx(sum(v.card.values()), rel=1e-9)
    assert v.energy_p95_j >= v.energy_j > v.card["ADC conversions"] > 0
    assert 0 <= v.codes_equal <= 1 and v.area_mm2 == pytest.approx(trial.area_mm2)
    saved = json.loads((tmp_path / "t" / "verified.json").read_text())
    assert saved["card"] == pytest.approx(v.card)


def test_the_search_builds_its_base_model_with_the_chosen_encoder_and_decoder():
    from codesign.design.settings import DesignSettings
    from codesign.training.train import task_deq_config

    task = get_task("digits")
    deq = task_deq_config(task, "none", "per-neuron")
    assert (deq.core_size, deq.core_inputs) == (task.out_features, task.in_features)
    deq = task_deq_config(task)
    assert (deq.core_size, deq.core_inputs) == (task.profile.core_size,
                                                 task.profile.core_inputs)
    assert new_model(task, task_deq_config(task, "none"), seed=1).digital_macs == \
        task.profile.core_size * task.out_features
    with pytest.raises(InputError, match="encoder"):
        DesignSettings(task="digits", encoder="conv")
    settings = DesignSettings(task="physics", sets=list(BUILDABLE), encoder="none")
    assert settings.sets == BUILDABLE
    with pytest.raises(InputError):
        DesignSettings(task="physics", sets=("no-equals-sign",))


def test_the_screen_charges_each_amplifier_its_own_quiescent_current(r2r_chip):
    """The class-AB OTA idles at 3.95 ib whatever its load, the class-A one at (3 + k2) ib
    with k2 sized per row: the screens of the same chip with each differ by exactly that, from
    the 1.8 V supply."""
    from codesign.circuit.settings import override
    from codesign.parts.amplifier_sky130_ota import cmos_output_ratio
    from codesign.parts.amplifier_sky130_ota_ab import IDLE_RATIO

    chip, e = r2r_chip
    z = np.zeros((len(e), chip.n))
    ab = Chip(chip.core, override(chip.config, {"neuron.opamp.model": "cd_ota_ab_sky130"}),
              seed=2)
    ib = chip.config.neuron.cmos.ota_bias_a
    k2 = np.array([cmos_output_ratio(chip.circuit, i) for i in range(chip.n)])
    assert k2.min() >= 2
    expected = 1.8 * ib * float(np.sum(3 + k2 - IDLE_RATIO))
    np.testing.assert_allclose(screen_power_w(chip, e, z) - screen_power_w(ab, e, z), expected,
                               rtol=1e-9)
