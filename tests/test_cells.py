"""The sky130 R-2R weight cell (codesign.parts.cell_sky130_r2r): its window in the config, its
codes, and in SPICE its devices against its linear equivalent and the circuit's prediction."""

from pathlib import Path

import numpy as np
import pytest

from codesign.chip.chip import Chip
from codesign.circuit.config import ArrayConfig, CircuitConfig, circuit_config, with_cell
from codesign.deq.weights import CoreWeights
from codesign.errors import InputError
from codesign.parts import PartKind, get_part
from codesign.parts.cell_sky130_r2r import G_LSB_S, MISMATCH_SIGMA, code_of, mismatch_sigma


def _core(n=4, m=2, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n))
    W *= 0.6 / np.linalg.norm(W, 2)
    return CoreWeights(W=W, U=rng.normal(size=(n, m)), b=0.2 * rng.normal(size=n),
                       activation="tanh")


def test_the_cell_brings_its_window():
    config = circuit_config("cmos", cell="sky130_r2r_eq")
    assert config.mapping.mode == "single" and config.array.levels == 64
    assert config.mapping.g_max_s == pytest.approx(63 * G_LSB_S, rel=1e-12)
    with pytest.raises(InputError, match="with_cell"):
        CircuitConfig(array=ArrayConfig(cell="sky130_r2r"))
    with pytest.raises(InputError, match="mismatch is the process's"):
        CircuitConfig(mapping=config.mapping, array=ArrayConfig(
            cell="sky130_r2r", levels=64, mismatch_sigma=0.05))
    back = with_cell(config, "resistor")
    assert back.array.cell == "resistor"


def test_codes_and_mismatch_follow_the_measurements():
    assert [code_of(k * G_LSB_S) for k in range(64)] == list(range(64))
    assert code_of(100 * G_LSB_S) == 63
    for code, sigma in MISMATCH_SIGMA:
        assert mismatch_sigma(code) == pytest.approx(sigma)
    assert MISMATCH_SIGMA[1][1] < mismatch_sigma(4) < MISMATCH_SIGMA[0][1]


def test_both_fidelities_are_drawable_with_the_same_area():
    full, eq = get_part(PartKind.CELL, "sky130_r2r"), get_part(PartKind.CELL, "sky130_r2r_eq")
    assert full.area_um2() == eq.area_um2() > 1000
    assert get_part(PartKind.CELL, "resistor").area_um2() is None


def test_devices_equivalent_and_prediction_agree_in_spice(process_sim, tmp_path):
    core = _core()
    e = np.random.default_rng(1).uniform(-1, 1, size=(3, core.m))
    z = {}
    for cell in ("sky130_r2r", "sky130_r2r_eq"):
        chip = Chip(core, circuit_config("opamp", cell=cell), seed=1, simulator=process_sim)
        assert ("cd_wcell_eq" in chip.deck.text) == cell.endswith("_eq")
        z[cell] = chip.operating_points(e, Path(tmp_path) / cell).z
        if cell.endswith("_eq"):
            np.testing.assert_allclose(z[cell], chip.prediction(chip.inputs(e)).z, atol=1e-4)
    # the devices' switch resistance and voltage coefficient: within 0.2 % of full scale
    np.testing.assert_allclose(z["sky130_r2r"], z["sky130_r2r_eq"], atol=2e-3)


def test_the_pdk_mismatch_is_drawn_per_chip_instance(process_sim, tmp_path):
    from dataclasses import replace

    core = _core()
    e = np.zeros((1, core.m))
    config = circuit_config("cmos", cell="sky130_r2r_eq")
    config = replace(config, neuron=replace(config.neuron, cmos=replace(
        config.neuron.cmos, device_mismatch=True)))
    z = [Chip(core, config, seed=s, simulator=process_sim).operating_points(
        e, Path(tmp_path) / str(s)).z for s in (1, 2, 1)]
    assert np.abs(z[0] - z[1]).max() > 1e-4
    np.testing.assert_array_equal(z[0], z[2])
