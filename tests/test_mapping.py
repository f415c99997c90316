"""The compiler: weights -> conductances and back, the conductance window, time constants,
and the circuit-aware equilibrium prediction."""

import numpy as np
import pytest

from codesign.circuit import (
    CircuitConfig,
    MappingConfig,
    OpAmpParams,
    circuit_config,
    compile_core,
    predict_equilibrium,
)
from codesign.deq import CoreWeights, random_core
from codesign.errors import InputError


@pytest.mark.parametrize("mode", ["differential", "single"])
@pytest.mark.parametrize("per_row", [True, False])
def test_mapping_is_invertible_and_inside_the_window(rng, mode, per_row):
    core = random_core(16, 8, 0.8, rng)
    mapping = MappingConfig(mode=mode, per_row=per_row)
    circuit = compile_core(core, CircuitConfig(mapping=mapping))
    W, U, b = circuit.effective_weights()
    np.testing.assert_allclose(W, core.W, atol=1e-13)
    np.testing.assert_allclose(U, core.U, atol=1e-13)
    np.testing.assert_allclose(b, core.b, atol=1e-13)
    cells = np.concatenate([g.ravel() for g in (circuit.g_w_plus, circuit.g_w_minus,
                                                 circuit.g_u_plus, circuit.g_u_minus)])
    low = mapping.g_min_s if mode == "differential" else 0.0
    assert cells.min() >= low - 1e-18 and cells.max() <= mapping.g_max_s * (1 + 1e-12)
    assert cells.max() == pytest.approx(mapping.g_max_s)
    np.testing.assert_allclose(circuit.c_feedback / circuit.g_feedback, 100e-9)


def test_noise_gain_counts_every_conductance_into_the_summing_node(rng):
    core = random_core(4, 3, 0.5, rng)
    circuit = compile_core(core, CircuitConfig(mapping=MappingConfig(mode="single")))
    expected = 1 + np.abs(core.W).sum(1) + np.abs(core.U).sum(1) + np.abs(core.b)
    np.testing.assert_allclose(circuit.noise_gain(), expected, rtol=1e-12)


def test_prediction_reduces_to_the_digital_fixed_point_for_an_ideal_opamp(rng):
    core = random_core(12, 5, 0.9, rng)
    e = rng.uniform(-1, 1, (6, 5))
    pred = predict_equilibrium(compile_core(core, circuit_config("ideal")), e)
    assert pred.converged
    np.testing.assert_allclose(pred.z, core.equilibrium(e), atol=1e-7)


def test_prediction_of_a_single_linear_neuron_with_finite_gain_and_offset():
    w, u, b, gain, vos = 0.5, 0.8, 0.1, 1e3, 2e-3
    core = CoreWeights(np.array([[w]]), np.array([[u]]), np.array([b]), "identity")
    config = CircuitConfig(
        neuron=circuit_config("opamp").neuron.with_opamp(dc_gain=gain, offset_v=vos),
        mapping=MappingConfig(mode="single"),
    )
    circuit = compile_core(core, config)
    e = np.array([[0.5]])
    ng = 1 + abs(w) + abs(u) + abs(b)
    # x = (w x + u e + b + NG vos / vfs) / (1 + NG / A), solved for x
    g = 1 / (1 + ng / gain)
    x = g * (u * 0.5 + b + ng * vos / 0.5) / (1 - g * w)
    assert predict_equilibrium(circuit, e).x[0, 0] == pytest.approx(x, rel=1e-12)


def test_rails_clip_the_prediction(rng):
    core = random_core(4, 2, 0.5, rng)
    core = type(core)(core.W, core.U * 20, core.b, "identity")
    e = np.ones((1, 2))
    circuit = compile_core(core, circuit_config("opamp"))
    pred = predict_equilibrium(circuit, e)
    assert np.abs(pred.x).max() == pytest.approx(1.55 / 0.5)


def test_config_validation():
    with pytest.raises(InputError, match="g_min_s < g_max_s"):
        MappingConfig(g_min_s=1e-5, g_max_s=1e-6)
    with pytest.raises(InputError, match="straddle 0 V"):
        OpAmpParams(rail_low_v=0.1)
    with pytest.raises(InputError, match="within the supplies"):
        circuit_config("opamp", rail_high_v=5.0)
    with pytest.raises(InputError, match="unknown neuron level 'spice'; use one of: ideal"):
        circuit_config("spice")
