"""benchmarks/grid_network_window.py holds a network chip's resistors to a window: what it
leaves out, raises and keeps, checked on a hand-built network."""

from __future__ import annotations

import numpy as np

from codesign.circuit.config import circuit_config
from codesign.circuit.network import RESISTORS, compile_network, predict_network
from codesign.deq.network import NetworkWeights


def test_a_window_leaves_out_raises_and_keeps():
    from benchmarks.grid_network_window import ABSENT_S, windowed

    grid = 6
    h = 1.0 / (grid + 1)
    # edges 1 / h^2 = 49, a bias of 0.3 and an injection of 0.02 (relative units)
    weights = NetworkWeights(grid, np.full((1, 2), 1 / h**2), None, np.zeros((1, 1)),
                             np.zeros(1), np.full((1, 1, 1, 1), 0.02), np.array([0.3]),
                             np.zeros(1))
    circuit = compile_network(weights, circuit_config("opamp"))
    g_max = circuit.conductance_range()[1]
    g_bias, g_inj = float(circuit.g_bias[0]), float(circuit.g_inj[0])
    assert g_bias > g_inj
    same, changed = windowed(circuit, g_inj / 10)
    assert changed == 0
    e = np.random.default_rng(0).uniform(-1, 1, (2, circuit.m))
    assert np.array_equal(predict_network(same, e).z, predict_network(circuit, e).z)
    # a floor between the injection and twice it: injections raised to the floor
    held, changed = windowed(circuit, 1.5 * g_inj)
    assert changed == len(circuit.g_inj)
    assert np.allclose(held.g_inj, 1.5 * g_inj) and np.allclose(held.g_bias, circuit.g_bias)
    # a floor above twice the bias: bias and injections left out, edges kept
    held, changed = windowed(circuit, 3 * g_bias)
    assert changed == len(circuit.g_inj) + len(circuit.g_bias)
    assert (held.g_inj == ABSENT_S).all() and (held.g_bias == ABSENT_S).all()
    assert held.conductance_range()[1] == g_max
    assert sum(len(getattr(held, r)) for r in RESISTORS) == sum(
        len(getattr(circuit, r)) for r in RESISTORS)
    assert np.abs(predict_network(held, e).z).max() < 1e-9  # no source reaches the grid
