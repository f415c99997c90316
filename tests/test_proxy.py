"""The physics-aware proxy: exact against the circuit's analytic equilibrium, the compiler's
mapping reproduced in torch, the settling dynamics against an RC step, and its parameter files."""

import json
import math

import numpy as np
import pytest
import torch

from codesign.circuit import compile_core, predict_equilibrium
from codesign.circuit.config import ArrayConfig, circuit_config
from codesign.circuit.mapping import quantize
from codesign.deq import CoreWeights, random_core
from codesign.errors import InputError
from codesign.proxy import (
    CircuitProxy,
    from_circuit,
    from_weights,
    ideal_params,
    load_params,
    nominal_params,
    save_params,
)


def _weights(core):
    return tuple(torch.from_numpy(a) for a in (core.W, core.U, core.b))


def test_nominal_proxy_is_the_exact_circuit_prediction(rng):
    core = random_core(24, 12, 0.9, rng)
    e = rng.uniform(-1, 1, (6, 12))
    config = circuit_config("opamp", array=ArrayConfig(levels=16, line_ohm=4.0), dc_gain=1e3,
                            offset_v=2e-3, rail_high_v=0.45, rail_low_v=-0.45)
    circuit = compile_core(core, config)
    _, z = CircuitProxy(nominal_params(config), 0.5).equilibrium(from_circuit(circuit),
                                                                 torch.from_numpy(e))
    np.testing.assert_allclose(z.numpy(), predict_equilibrium(circuit, e).z, atol=1e-10)


def test_from_weights_reproduces_the_compiler(rng):
    core = random_core(16, 8, 0.8, rng)
    array = ArrayConfig(levels=12, line_ohm=5.0)
    config = circuit_config("opamp", array=array)
    exact = from_circuit(compile_core(core, config))
    mapped = from_weights(*_weights(core), config.mapping, array)
    for a, b in zip(exact, mapped, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_ideal_proxy_is_the_digital_core(rng):
    core = random_core(16, 8, 0.9, rng)
    e = rng.uniform(-1, 1, (5, 8))
    config = circuit_config("ideal")
    eff = from_weights(*_weights(core), config.mapping, config.array)
    _, z = CircuitProxy(ideal_params(config), 0.5).equilibrium(eff, torch.from_numpy(e))
    np.testing.assert_allclose(z.numpy(), core.equilibrium(e), atol=1e-10)


def test_mismatch_draws_come_from_the_generator(rng):
    core = random_core(8, 4, 0.5, rng)
    config = circuit_config("opamp", array=ArrayConfig(mismatch_sigma=0.05))
    draw = [from_weights(*_weights(core), config.mapping, config.array,
                         torch.Generator().manual_seed(s)).W for s in (1, 1, 2)]
    torch.testing.assert_close(draw[0], draw[1])
    assert not torch.allclose(draw[0], draw[2])


def test_quantization_passes_gradients_straight_through():
    config = circuit_config("opamp")
    g = torch.tensor([3e-6, 11e-6], dtype=torch.float64, requires_grad=True)
    q = quantize(g, config.mapping, 5, straight_through=True)
    q.sum().backward()
    assert torch.equal(g.grad, torch.ones(2, dtype=torch.float64))
    assert not torch.allclose(q, g)


def test_implicit_gradients_match_finite_differences(rng):
    core = random_core(6, 3, 0.7, rng)
    config = circuit_config("opamp", dc_gain=300.0)
    eff = from_circuit(compile_core(core, config))
    e = torch.from_numpy(rng.uniform(-1, 1, (4, 3)))
    proxy = CircuitProxy(nominal_params(config), 0.5)
    names = ("amplitude", "slope", "dc_gain", "input_offset_fs")
    for name in names:
        proxy.t[name] = proxy.t[name].clone().requires_grad_()
    _, z = proxy.equilibrium(eff, e)
    loss = (z**2).sum()
    grads = torch.autograd.grad(loss, [proxy.t[k] for k in names])
    for name, grad in zip(names, grads, strict=True):
        value = float(proxy.t[name].detach())
        h = 1e-6 * max(1.0, abs(value))
        vals = []
        for sign in (1, -1):
            probe = CircuitProxy(proxy.to_params().replace(
                **{name: value + sign * h}), 0.5)
            with torch.no_grad():
                vals.append(float((probe.equilibrium(eff, e)[1] ** 2).sum()))
        assert float(grad) == pytest.approx((vals[0] - vals[1]) / (2 * h), rel=1e-4, abs=1e-8)


def test_trajectory_of_a_single_neuron_is_an_rc_step():
    # n = 1, W = 0, identity activation: x(t) = u (1 - exp(-(t - delay) / tau)) after the delay
    core = CoreWeights(np.zeros((1, 1)), np.ones((1, 1)), np.zeros(1), "identity")
    config = circuit_config("ideal")
    params = ideal_params(config, "identity").replace(tau_s=50e-9, delay_s=20e-9)
    eff = from_weights(*_weights(core), config.mapping, config.array)
    times = torch.linspace(0, 400e-9, 41, dtype=torch.float64)[None]
    z = CircuitProxy(params, 0.5).trajectory(eff, torch.tensor([[0.6]], dtype=torch.float64),
                                             times, steps_per_tau=400)[0, :, 0].numpy()
    t = times[0].numpy()
    expected = np.where(t > 20e-9, 0.6 * (1 - np.exp(-(t - 20e-9) / 50e-9)), 0.0)
    np.testing.assert_allclose(z, expected, atol=2e-3)


def test_parameter_files_round_trip_and_refuse_bad_input(tmp_path):
    params = nominal_params(circuit_config("opamp")).replace(amplitude=0.98, dc_gain=math.inf)
    path = save_params(tmp_path / "p.json", params, {"note": "test"})
    loaded, provenance = load_params(path)
    assert loaded == params and provenance == {"note": "test"}
    json.loads(path.read_text())  # strict JSON (inf written as a string)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "codesign.proxy/1", "params": {"gain": 1}}))
    with pytest.raises(InputError, match="proxy parameters: unknown keys"):
        load_params(bad)
    (tmp_path / "junk.json").write_text("{")
    with pytest.raises(InputError, match="cannot read proxy parameters"):
        load_params(tmp_path / "junk.json")
