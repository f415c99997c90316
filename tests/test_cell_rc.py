"""The R-2R cell's equivalent with its dynamics (cd_wcell_rc, codesign.parts.cell_sky130_r2r's
sky130_r2r_rc): its table is cd_wcell's own small-signal figures, its DC is cd_wcell_eq's, and
its step response carries the device cell's delay (the first moment) per code, and a chip of
them sits nearer the device cells' operating points than one of the DC equivalent."""

from pathlib import Path

import numpy as np
import pytest

from benchmarks.parts import CELL, rc_cell, run_deck, wcell_ac_deck, wcell_ac_figures, wcell_step
from codesign.chip.chip import Chip
from codesign.circuit.config import circuit_config
from codesign.parts import PartKind, get_part
from codesign.parts.cell_sky130_r2r import CELL_AC, CELL_CIN_F, G_LSB_S, mismatch_sigma
from tests.test_cells import _core

CODES = (1, 21, 63)


@pytest.mark.parametrize("subckt, rel", [("cd_wcell", 2e-3), ("cd_wcell_rc", 1e-3)])
def test_the_table_is_the_device_cells_and_the_equivalent_reproduces_it(subckt, rel):
    """CELL_AC's delay, capacitance and conductance: cd_wcell measured again in ngspice (the
    table is the device cell's), and cd_wcell_rc with the part's parameters (the equivalent
    carries them)."""
    params = rc_cell if subckt == "cd_wcell_rc" else (lambda code: CELL)
    figures = wcell_ac_figures(*(run_deck(wcell_ac_deck(subckt, CODES, drive, params))
                                 for drive in ("dp", "s")), CODES)
    for code in CODES:
        tau, cs, gs, cin = figures[code]
        assert tau * 1e9 == pytest.approx(CELL_AC[code][0], rel=rel)
        assert cs * 1e15 == pytest.approx(CELL_AC[code][1], rel=rel)
        assert gs * 1e9 == pytest.approx(CELL_AC[code][2], rel=rel)
        assert cin == pytest.approx(CELL_CIN_F, rel=rel)
    # deeper bits are later: bit 0 arrives ~28 ns after the driver, bit 5 at once
    delays = [CELL_AC[1 << b][0] for b in range(6)]
    assert delays == sorted(delays, reverse=True) and delays[0] > 25 and delays[5] < 0.1


def test_its_step_response_has_the_device_cells_delay():
    """The first moment of each code's step response (the integral of its shortfall over its
    final current: the Elmore delay) is the device cell's within 2 %; the DC equivalent has
    none, and the DC currents agree."""
    t, device = wcell_step("cd_wcell", CODES)
    _, rc = wcell_step("cd_wcell_rc", CODES, rc_cell)
    _, eq = wcell_step("cd_wcell_eq", CODES, lambda c: f"sg={mismatch_sigma(c)}")

    def moment(i):
        final = i[-1]
        short = 1 - i / final
        return np.sum(0.5 * (short[1:] + short[:-1]) * np.diff(t)) - 0.05e-9  # the ramp's half

    for k in range(len(CODES)):
        # the equivalents' code x G_LSB against the device's G(code): its INL, 0.02 LSB
        np.testing.assert_allclose(rc[-1, k], device[-1, k], rtol=5e-3)
        np.testing.assert_allclose(rc[-1, k], eq[-1, k], rtol=1e-5)  # code 1: e^(-400/28)
        assert moment(rc[:, k]) == pytest.approx(moment(device[:, k]), rel=0.02)
        assert moment(device[:, k]) > 4e-9 and abs(moment(eq[:, k])) < 0.2e-9


def test_a_chip_writes_the_dynamic_equivalent(process_sim, tmp_path):
    part = get_part(PartKind.CELL, "sky130_r2r_rc")
    assert part.area_um2() == get_part(PartKind.CELL, "sky130_r2r_eq").area_um2()
    assert "cd_wcell_rc" in part.behavioural()[0]
    config = circuit_config("cmos", cell="sky130_r2r_rc")
    assert config.mapping.g_max_s == pytest.approx(63 * G_LSB_S, rel=1e-12)
    core = _core()
    e = np.random.default_rng(1).uniform(-1, 1, size=(2, core.m))
    z = {}
    for cell in ("sky130_r2r", "sky130_r2r_eq", "sky130_r2r_rc"):
        chip = Chip(core, circuit_config("cmos", cell=cell), seed=1, simulator=process_sim)
        assert ("cd_wcell_rc" in chip.deck.text) == cell.endswith("_rc")
        z[cell] = chip.operating_points(e, Path(tmp_path) / cell).z
    # at the transistor level the summing node sits a little off 0 V (the OTA's offset and
    # finite gain), so the conductance the device cell shows there moves the operating points:
    # the dynamic equivalent carries it (gx), the DC one does not
    off = {c: np.abs(z[c] - z["sky130_r2r"]).max() for c in ("sky130_r2r_eq", "sky130_r2r_rc")}
    assert off["sky130_r2r_rc"] < 5e-4 and off["sky130_r2r_rc"] < off["sky130_r2r_eq"] / 2


def test_the_linear_prediction_carries_the_cells_row_load(process_sim, tmp_path):
    """The R-2R cell's ladder legs reaching the summing node (cd_wcell_rc's gx, 0-556 nS by
    code) raise each amplifier's noise gain: with a 5 mV op-amp offset the circuit's linear
    prediction, which counts them (CrossbarCircuit.row_load_s), is the SPICE operating point,
    and the same prediction without them is off by about 7 % of full scale."""
    core = _core(n=6, m=2)
    e = np.random.default_rng(1).uniform(-1, 1, size=(3, core.m))
    chip = Chip(core, circuit_config("opamp", cell="sky130_r2r_rc", offset_v=5e-3), seed=1,
                simulator=process_sim)
    load = chip.circuit.row_load_s
    assert np.all(load > 0) and np.all(load < 9 * 6e-7)
    eq = Chip(core, circuit_config("opamp", cell="sky130_r2r_eq", offset_v=5e-3), seed=1,
              simulator=process_sim)
    assert np.all(eq.circuit.row_load_s == 0)
    np.testing.assert_allclose(chip.circuit.noise_gain(),
                               eq.circuit.noise_gain() + load / eq.circuit.g_feedback, rtol=1e-9)
    x = chip.operating_points(e, Path(tmp_path)).x
    assert np.abs(chip.prediction(chip.inputs(e)).x - x).max() < 3e-4
    # the same weights' prediction without the row load (the DC equivalent's circuit)
    assert np.abs(eq.prediction(eq.inputs(e)).x - x).max() > 0.03


def test_the_proxy_counts_the_row_load():
    """The proxy's noise gain (from the weights, as training sees it, and from the compiled
    circuit) is the circuit's, row load included; a resistor cell's has none."""
    import torch

    from codesign.circuit.compile import compile_core
    from codesign.proxy.crossbar import from_circuit, from_weights

    core = _core(n=6, m=2)
    W, U, b = (torch.tensor(v) for v in (core.W, core.U, core.b))
    for cell in ("sky130_r2r_rc", "sky130_r2r_eq"):
        config = circuit_config("opamp", cell=cell)
        circuit = compile_core(core, config)
        proxy = from_weights(W, U, b, config.mapping, config.array)
        np.testing.assert_allclose(proxy.noise_gain.numpy(), circuit.noise_gain(), rtol=1e-9)
        np.testing.assert_allclose(from_circuit(circuit).noise_gain.numpy(),
                                   circuit.noise_gain(), rtol=1e-9)
        np.testing.assert_allclose(from_circuit(circuit).g_total.numpy(),
                                   circuit.node_conductance(), rtol=1e-9)
        assert (circuit.row_load_s.min() > 0) == cell.endswith("_rc")
