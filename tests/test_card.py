"""The energy and area cards (codesign.chip.card): the lines add up to the SPICE supplies plus
the cited lines, unsettled transients are refused, the area counts every part."""

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from codesign.chip.card import (
    Basis,
    area_card,
    behavioural_driver_idle,
    cited_settings,
    codes_equal,
    dac_conversion_j,
    energy_card,
)
from codesign.chip.chip import Chip
from codesign.circuit.config import ConverterConfig, circuit_config
from codesign.errors import InputError
from codesign.parts.cell_sky130_r2r import drawn_area_um2
from codesign.simulator.traces import TransientMetrics
from tests.conftest import tanh_core


def _chip(simulator=None, n=4, m=2):
    core = tanh_core(n, m)
    config = replace(circuit_config("cmos", cell="sky130_r2r_eq"),
                     converters=ConverterConfig(dac_bits=6, adc_bits=6))
    return Chip(core, config, seed=1, simulator=simulator)


def test_the_energy_card_adds_up_to_the_supplies_and_the_cited_lines(process_sim, tmp_path):
    chip = _chip(process_sim)
    e = np.random.default_rng(2).uniform(-1, 1, size=(3, chip.m))
    run = chip.transients(e, Path(tmp_path) / "tran", tol_fs=2**-8)
    settings = cited_settings(chip.config, digital_macs=100)
    cited = (chip.n * settings.adc_conversion_j + chip.m * settings.dac_conversion_j
             + 100 * settings.digital_mac_j)
    assert settings.dac_conversion_j == pytest.approx(0.5 * 64 * 2.76e-15 * 1.8**2)
    for k, t in enumerate(run.transients):
        card = energy_card(chip, [t], run.z[k:k + 1], settings)
        spice = sum(line.median for line in card.lines if line.basis == Basis.SPICE)
        assert spice == pytest.approx(t.core_energy_j + t.input_energy_j, rel=1e-12)
        biased = sum(line.median for line in card.lines if line.basis == Basis.SPICE_POWER)
        _, idle_w, _ = behavioural_driver_idle(chip, t.settling_time_s)
        active_s = t.settling_time_s + settings.adc_conversion_s
        assert biased == pytest.approx(t.final_power_w * settings.adc_conversion_s
                                       + idle_w * active_s, rel=1e-12)
        assert card.median_j == pytest.approx(spice + biased + cited, rel=1e-12)
        assert t.final_power_w > 0 and t.core_energy_j > 0
    card = energy_card(chip, run.transients, run.z, settings)
    totals = [c.median_j for c in (energy_card(chip, [t], run.z[k:k + 1], settings)
                                   for k, t in enumerate(run.transients))]
    assert card.median_j == pytest.approx(np.median(totals))
    assert card.p95_j == pytest.approx(np.percentile(totals, 95))
    # the sampling instant is within the tolerance of the DC state; a state that close to an
    # ADC threshold can still convert to the neighbouring code, which the card counts
    sampled = np.array([t.z_sampled for t in run.transients])
    assert np.abs(sampled - run.z).max() <= 2**-8 * 1.01  # log- vs linear interpolation
    step = 2 / 63
    codes = [np.round((np.clip(z, -1, 1) + 1) / step) for z in (sampled, run.z)]
    assert card.codes_equal == pytest.approx(np.mean((codes[0] == codes[1]).all(axis=1)))
    assert card.code_agreement == pytest.approx(np.mean(codes[0] == codes[1]))
    assert card.per_mac_j == pytest.approx(card.median_j / (chip.n * (chip.n + chip.m)))


def test_an_unsettled_transient_is_a_failed_measurement():
    chip = _chip()
    settings = cited_settings(chip.config, digital_macs=0)
    good = TransientMetrics(1e-6, 0.0, 1e-12, 1e-12, 0.0, 1e-6, (0.1,) * chip.n)
    with pytest.raises(InputError, match="1 of 2 transients did not settle .* 0.031-0.031 FS"):
        energy_card(chip, [good, replace(good, settling_time_s=math.nan, final_error_fs=0.031)],
                    np.zeros((2, chip.n)), settings)
    with pytest.raises(InputError, match="at least one"):
        energy_card(chip, [], np.zeros((0, chip.n)), settings)


def test_codes_equal_compares_the_sampled_state_with_the_dc_one():
    t = TransientMetrics(1e-6, 0.0, 0.0, 0.0, 0.0, 0.0, (0.56, -0.2))
    adc3 = ConverterConfig(dac_bits=3, adc_bits=3)
    assert codes_equal([t], np.array([[0.50, -0.2]]), adc3).tolist() == [[True, True]]
    # 3 bits over [-1, 1]: 8 codes 2/7 apart, a threshold at 4/7 = 0.571 between 0.56 and 0.58
    assert codes_equal([t], np.array([[0.58, -0.2]]), adc3).tolist() == [[False, True]]


def test_the_area_card_counts_every_part():
    chip = _chip()
    card = area_card(chip)
    cells = next(line for line in card.lines if line.block.startswith("weight cells"))
    assert cells.median == pytest.approx(chip.n * (chip.n + chip.m + 1) * drawn_area_um2())
    assert cells.basis == Basis.GEOMETRY
    # the behavioural drivers have no area, and the card says it is incomplete
    assert not card.complete
    assert card.total_mm2 == pytest.approx(card.drawn_um2 * 1.3 / 1e6)
    assert dac_conversion_j(0) == 0.0


def test_the_bias_reference_is_charged_at_its_own_current_while_active():
    chip = _chip()
    chip_beta = Chip(chip.core, replace(chip.config, periphery=replace(
        chip.config.periphery, bias="sky130_beta")), seed=1)
    settings = cited_settings(chip.config, digital_macs=0)
    t = TransientMetrics(2e-6, 0.0, 1e-12, 1e-12, 0.0, 1e-6, (0.1,) * chip.n)
    lines = {c: {line.block: line for line in energy_card(
        c, [t], np.full((1, chip.n), 0.1), settings).lines} for c in (chip, chip_beta)}
    assert lines[chip]["bias reference"].median == 0.0
    active = 2e-6 + settings.adc_conversion_s
    assert lines[chip_beta]["bias reference"].median == pytest.approx(2.25e-6 * 1.8 * active)
    area = {line.block: line for line in area_card(chip_beta).lines}["bias reference"]
    assert area.basis == Basis.GEOMETRY and area.median > 0


def test_behavioural_drivers_are_charged_a_real_drivers_idle_current():
    """The deck's behavioural drivers (class-B sources) draw only their load; the card charges
    each a sky130 driver's SPICE-measured idle current: m + 1 input/bias drivers and one per
    neuron for the activations' output copies; a sky130 driver part makes them all, in the
    deck, and the line charges none."""
    from codesign.parts import PartKind, get_part

    chip = _chip()
    settings = cited_settings(chip.config, digital_macs=0)
    t = TransientMetrics(2e-6, 0.0, 1e-12, 1e-12, 0.0, 1e-6, (0.1,) * chip.n)
    active = 2e-6 + settings.adc_conversion_s
    real = Chip(chip.core, replace(chip.config, periphery=replace(chip.config.periphery,
                                                                  driver="sky130_ab")), seed=1)
    fast = get_part(PartKind.DRIVER, "sky130_ab_fast")  # the one settling within 2 us
    for c, drivers in ((chip, chip.m + 1 + chip.n), (real, 0)):
        lines = energy_card(c, [t], np.full((1, chip.n), 0.1), settings).lines
        line = {x.block: x for x in lines}["behavioural drivers' idle current"]
        assert line.basis == Basis.SPICE_POWER
        assert line.median == pytest.approx(drivers * fast.supply_a * fast.supply_v * active,
                                            rel=1e-12)
        assert ("sky130_ab_fast" in line.counts) == bool(drivers)


def test_the_idle_charged_is_the_least_of_the_drivers_fast_enough(monkeypatch):
    """Of the sky130 drivers, the card charges the one idling at the least power among those
    settling within the sampling time; where none does, the fastest, and says so."""
    import codesign.chip.card as card
    from codesign.parts import PartKind, get_part

    fast = get_part(PartKind.DRIVER, "sky130_ab_fast")
    frugal = replace(fast, name="frugal", supply_a=2e-6, settle_s=3e-6)
    monkeypatch.setattr(card, "registry", lambda: {(PartKind.DRIVER, "frugal"): frugal,
                                                   (PartKind.DRIVER, fast.name): fast})
    chip = _chip()
    drivers = chip.m + 1 + chip.n
    for sampling_s, part, says in ((5e-6, frugal, "least power"), (1e-6, fast, "least power"),
                                   (0.1e-6, fast, "none settles")):
        _, idle_w, source = card.behavioural_driver_idle(chip, sampling_s)
        assert idle_w == pytest.approx(drivers * part.supply_a * part.supply_v, rel=1e-12)
        assert source.startswith(f"each charged {part.name}'s idle") and says in source


def test_each_sky130_driver_idles_and_settles_as_its_part_says():
    """Every driver part on cd_pm_driver_sky130, at its own parameters: the idle current the
    card charges by, and the slower output's settling at worst over every load and level at tt
    (benchmarks.parts.tt_step_decks: 15.6 kOhm, and the light loads a chip's columns are, where
    a class-AB output idling too low rings for good): each settles, as its part says, and
    nothing is left ringing."""
    from concurrent.futures import ThreadPoolExecutor

    from benchmarks.parts import (
        DRIVERS,
        driver_deck,
        driver_figures,
        driver_step_figures,
        run_deck,
        tt_step_decks,
        worst_step,
    )
    from codesign.parts import PartKind, get_part
    from codesign.simulator import find_ngspice

    ngspice = find_ngspice().executable
    assert set(DRIVERS) >= {"sky130_ab", "sky130_ab_fast"}
    for name, params in DRIVERS.items():
        part = get_part(PartKind.DRIVER, name)
        figures = driver_figures(run_deck(driver_deck("tt", None, params), ngspice))
        assert figures["iq_a"] == pytest.approx(part.supply_a, rel=0.03)
        decks = tt_step_decks(params)
        with ThreadPoolExecutor(2) as pool:
            steps = dict(zip(decks, map(driver_step_figures, pool.map(
                lambda text: run_deck(text, ngspice), decks.values())), strict=True))
        case, seconds = worst_step(steps)
        assert seconds == pytest.approx(part.settle_s, rel=0.05), case
        assert max(f["ringing_v"] for f in steps.values()) < 1e-4


def test_the_driver_step_reads_settling_and_refuses_a_run_too_short():
    """An exponential step of time constant tau settles to 0.1 % of the step at tau ln(1000)
    (one output at +0.25 V, the other at -0.25 V); a decay still 1 % off at the run's end is
    not settled, not a settling time."""
    from benchmarks.parts import STEP_AT_S, VSWEEP, driver_step_figures

    tau = 50e-9
    t = np.linspace(0.0, 4e-6, 400_001)
    rise = np.where(t > STEP_AT_S, 1 - np.exp(-(t - STEP_AT_S) / tau), 0.0) * VSWEEP
    figures = driver_step_figures(np.stack([t, rise, -rise], axis=1))
    for out in ("outp", "outn"):
        assert figures[f"settle_{out}_s"] == pytest.approx(tau * np.log(1000), rel=1e-3)
    slow = np.where(t > STEP_AT_S, 1 - np.exp(-(t - STEP_AT_S) / 1e-6), 0.0) * VSWEEP
    figures = driver_step_figures(np.stack([t, slow, rise], axis=1))
    assert figures["settle_outp_s"] is None
    assert figures["settle_outn_s"] == pytest.approx(tau * np.log(1000), rel=1e-3)


def test_without_a_measured_driver_the_card_says_so_in_one_line(monkeypatch):
    import codesign.chip.card as card
    from codesign.errors import CodesignError
    from codesign.parts import PartKind

    real = card.registry()
    monkeypatch.setattr(card, "registry", lambda: {k: p for k, p in real.items()
                                                   if k[0] != PartKind.DRIVER
                                                   or not p.supply_a})
    with pytest.raises(CodesignError, match="no sky130 driver with a measured idle current"):
        card.behavioural_driver_idle(_chip())
