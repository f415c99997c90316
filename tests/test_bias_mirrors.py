"""The bias reference in the deck (periphery.bias=sky130_beta_mirrors,
codesign/parts/bias_sky130_beta_mirrors.py): one cd_bias_ref on rails of its own, every neuron's
bias current a PMOS tap on it. The taps deliver the currents the ideal sources did, the chip's
equilibria stay where the ideal-bias chip's are, the energy card measures the reference in
SPICE, and no ideal bias source is left in the neurons."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from codesign.chip.card import Basis, area_card, cited_settings, energy_card
from codesign.chip.chip import Chip
from codesign.circuit.config import ConverterConfig, circuit_config
from codesign.circuit.settings import override
from codesign.errors import InputError
from codesign.parts import chip_parts, get_part
from codesign.parts.bias_sky130_beta_mirrors import TAPS
from codesign.simulator.store import state_arrays, state_from
from codesign.simulator.traces import SampleState, TransientMetrics
from tests.conftest import tanh_core

MIRRORS = "sky130_beta_mirrors"


def test_a_taps_width_interpolates_the_measured_taps():
    bias = get_part("bias", MIRRORS)
    assert bias.in_deck and not get_part("bias", "sky130_beta").in_deck
    for width, current in TAPS:
        assert bias.tap_width_um(current) == pytest.approx(width, rel=1e-12)
    widths = [bias.tap_width_um(i) for i in np.linspace(TAPS[0][1], 2 * TAPS[-1][1], 50)]
    assert np.all(np.diff(widths) > 0)
    # narrow taps carry more per micron: twice the current needs more than twice the width
    assert bias.tap_width_um(2e-6) > 2 * bias.tap_width_um(1e-6)
    with pytest.raises(InputError, match="below the narrowest tap") as err:
        bias.tap_width_um(0.1 * TAPS[0][1])
    assert "\n" not in str(err.value)


def _chips(simulator, amplifier):
    core = tanh_core(4, 2, seed=5)
    base = replace(circuit_config("cmos", cell="sky130_r2r_eq"),
                   converters=ConverterConfig(dac_bits=6, adc_bits=6))
    base = override(base, {"neuron.opamp.model": amplifier})
    return [Chip(core, override(base, {"periphery.bias": bias}), seed=1, simulator=simulator)
            for bias in ("sky130_beta", MIRRORS)], np.random.default_rng(6).uniform(-1, 1, (2, 2))


@pytest.mark.parametrize("amplifier", ["cd_ota_ab_sky130", "cd_ota_sky130"])
def test_the_deck_holds_the_reference_and_its_taps(amplifier):
    (ideal, mirrored), _ = _chips(None, amplifier)
    text = mirrored.deck.text
    assert "\nxbias nbias pbias vddb vssb cd_bias_ref" in text
    assert f" pbias vdd vss {amplifier}_tap " in text
    assert " pbias vdda vssa cd_act_mos_pair_tap " in text
    assert "xbias" not in ideal.deck.text and "_tap" not in ideal.deck.text
    # the neurons' ideal bias sources are gone from the behavioural list, nothing else
    left = chip_parts(mirrored.config).behavioural()
    before = chip_parts(ideal.config).behavioural()
    assert any(".ib" in b for b in before) and any(".it_" in b for b in before)
    assert not any(".ib" in b or ".it_" in b for b in left)
    def inner(names):  # below each part's own subcircuit
        return {b.split(".", 1)[-1] for b in names}
    assert inner(left) < inner(before)
    # the area counts the taps (one per amplifier and activation) and the reference
    lines = {line.block: line for line in area_card(mirrored).lines}
    ideal_lines = {line.block: line for line in area_card(ideal).lines}
    for block in ("summing amplifiers", "activations and output drivers"):
        assert lines[block].median > ideal_lines[block].median
    assert lines["bias reference"].basis == Basis.GEOMETRY


def test_taps_bias_the_chip_as_the_ideal_sources_did(process_sim, tmp_path):
    """Nominal devices: the equilibria within 1 % of full scale of the ideal-bias chip's (the
    taps' currents are within a few % of the targets), the neurons' power within 5 %, and the
    reference's own rails draw its 2.25 uA; the energy card measures that line in SPICE and
    its lines still add up to the supplies."""
    (ideal, mirrored), e = _chips(process_sim, "cd_ota_ab_sky130")
    runs = [chip.transients(e, Path(tmp_path) / name, tol_fs=2**-8)
            for chip, name in ((ideal, "ideal"), (mirrored, "mirrored"))]
    assert np.abs(runs[0].z - runs[1].z).max() < 0.01
    for a, b in zip(*(run.transients for run in runs), strict=True):
        reference_w = b.bias_energy_j / b.settling_time_s
        assert reference_w == pytest.approx(2.25e-6 * 1.8, rel=0.15)
        assert b.final_power_w - reference_w == pytest.approx(a.final_power_w, rel=0.05)
        assert a.bias_energy_j == 0.0
    settings = cited_settings(mirrored.config, digital_macs=0)
    for k, t in enumerate(runs[1].transients):
        card = energy_card(mirrored, [t], runs[1].z[k:k + 1], settings)
        lines = {line.block: line for line in card.lines}
        assert lines["bias reference"].basis == Basis.SPICE
        assert lines["bias reference"].median == pytest.approx(t.bias_energy_j, rel=1e-12)
        spice = sum(line.median for line in card.lines if line.basis == Basis.SPICE)
        assert spice == pytest.approx(t.core_energy_j + t.input_energy_j, rel=1e-12)


def test_the_store_keeps_the_references_energy_and_reads_older_transients():
    t = TransientMetrics(1e-7, 1e-4, 2e-12, 1e-12, 5e-13, 3e-5, z_sampled=(0.1, -0.2),
                         bias_energy_j=4e-13)
    arrays = state_arrays(SampleState(0, np.zeros(2), np.zeros(2), t))
    assert state_from(0, arrays).transient == t
    older = dict(arrays, transient=arrays["transient"][:6])
    assert state_from(0, older).transient == replace(t, bias_energy_j=0.0)
