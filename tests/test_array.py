"""Crossbar non-idealities: quantization, programming mismatch, wire resistance of the row lines
(an analytic ladder, and real ngspice runs against the exact prediction)."""

import numpy as np
import pytest
import torch

from codesign.circuit import compile_core, predict_equilibrium
from codesign.circuit.config import ArrayConfig, MappingConfig, circuit_config
from codesign.circuit.lines import ladder
from codesign.deq import random_core
from codesign.errors import InputError
from tests.conftest import simulate_op


def test_one_cell_ladder_is_a_series_resistor():
    g, r = 20e-6, 3e3
    att, g_th = ladder(torch.tensor([[g]], dtype=torch.float64), r)
    assert float(att[0, 0]) == pytest.approx(1 / (1 + g * r), rel=1e-12)
    assert float(g_th[0]) == pytest.approx(1 / (r + 1 / g), rel=1e-12)


def test_two_cell_ladder_by_nodal_analysis():
    g1, g2, r = 10e-6, 30e-6, 1e3
    att, g_th = ladder(torch.tensor([[g1, g2]], dtype=torch.float64), r)
    # node 1 (next to s) and node 2; unit source at cell 2 only: solve by hand
    m = np.array([[2 / r + g1, -1 / r], [-1 / r, 1 / r + g2]])
    v = np.linalg.solve(m, [0.0, g2])
    assert float(att[0, 1]) * g2 == pytest.approx(v[0] / r, rel=1e-12)
    v = np.linalg.solve(m, [1 / r, 0.0])  # s at 1 V, sources grounded
    assert float(g_th[0]) == pytest.approx((1 - v[0]) / r, rel=1e-12)


def test_zero_line_resistance_is_the_plain_sum():
    g = torch.rand(3, 5, dtype=torch.float64)
    att, g_th = ladder(g, 0.0)
    assert torch.equal(att, torch.ones_like(g))
    torch.testing.assert_close(g_th, g.sum(1))


def test_quantized_conductances_sit_on_the_level_grid(rng):
    core = random_core(16, 8, 0.8, rng)
    mapping = MappingConfig()
    circuit = compile_core(core, circuit_config("opamp", array=ArrayConfig(levels=9)))
    step = (mapping.g_max_s - mapping.g_min_s) / 8
    cells = np.concatenate([circuit.g_w_plus.ravel(), circuit.g_u_minus.ravel()])
    level = (cells - mapping.g_min_s) / step
    np.testing.assert_allclose(level, np.round(level), atol=1e-9)
    assert len(np.unique(np.round(level))) <= 9


def test_mismatch_is_seeded_and_needs_a_generator(rng):
    core = random_core(8, 4, 0.5, rng)
    config = circuit_config("opamp", array=ArrayConfig(mismatch_sigma=0.05))
    with pytest.raises(InputError, match="Generator"):
        compile_core(core, config)
    a = compile_core(core, config, np.random.default_rng(7))
    b = compile_core(core, config, np.random.default_rng(7))
    c = compile_core(core, config, np.random.default_rng(8))
    np.testing.assert_array_equal(a.g_w_plus, b.g_w_plus)
    assert not np.allclose(a.g_w_plus, c.g_w_plus)
    nominal = compile_core(core, circuit_config("opamp"))
    rel = a.g_w_plus / nominal.g_w_plus - 1
    assert 0.035 < rel.std() < 0.065


@pytest.mark.parametrize("array", [
    ArrayConfig(line_ohm=10.0),
    ArrayConfig(levels=16, mismatch_sigma=0.05, line_ohm=3.0),
])
def test_spice_matches_the_prediction_with_array_non_idealities(process_sim, rng, tmp_path,
                                                                array):
    core = random_core(16, 8, 0.9, rng)
    e = rng.uniform(-1, 1, (4, 8))
    config = circuit_config("opamp", array=array, dc_gain=1e3)
    circuit = compile_core(core, config, np.random.default_rng(3))
    z = simulate_op(process_sim, core, config, e, tmp_path, seed=3)
    pred = predict_equilibrium(circuit, e)
    assert np.abs(z - pred.z).max() < 1e-8
    assert np.abs(z - core.equilibrium(e)).max() > 1e-3  # the non-idealities are visible
