"""Physics-aware training and the loop's pieces against oracles: the ideal proxy is the digital
DEQ, chip draws are reproducible, a re-fit recovers known parameters, baselines are sized."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from codesign.calibration.refit import refit
from codesign.chip.chip import Chip
from codesign.circuit.config import ArrayConfig, ConverterConfig, circuit_config
from codesign.deq import DEQConfig, random_core
from codesign.loop.energy import energy_table, solve_macs
from codesign.loop.robustness import SweepPoint
from codesign.proxy.model import CircuitProxy
from codesign.proxy.params import default_params_path, ideal_params, load_params, nominal_params
from codesign.results.loop import DigitalSolve
from codesign.tasks import get_task
from codesign.tasks.base import RegressionTask
from codesign.tasks.physics import PROFILE
from codesign.training.aware import HardwareModel
from codesign.training.baselines import deq_parameter_count, new_mlp, parameter_count
from codesign.training.train import TrainConfig, evaluate, new_model, train_model


def small_task(rng, n_train=256, n_test=64) -> RegressionTask:
    """A regression task with a known nonlinear map, y = tanh(A x)."""
    A = rng.normal(size=(3, 6)) / 2
    x = rng.normal(size=(n_train + n_test, 6)).astype(np.float32)
    y = np.tanh(x @ A.T).astype(np.float32)
    return RegressionTask("toy", x[:n_train], y[:n_train], x[n_train:], y[n_train:], "test",
                          PROFILE)


@pytest.fixture
def toy(rng):
    task = small_task(rng)
    deq = DEQConfig(in_features=6, out_features=3, core_size=8, core_inputs=4)
    return task, deq


def test_ideal_hardware_forward_is_the_digital_model(toy):
    """With ideal converters exactly; with 8-bit ones within what their rounding moves."""
    task, deq = toy
    model = new_model(task, deq, 0).double()
    x = torch.from_numpy(task.x_test).double()
    ideal = replace(circuit_config("ideal"), converters=ConverterConfig(dac_bits=0, adc_bits=0))
    with torch.no_grad():
        digital = model(x)
        exact = HardwareModel(ideal_params(ideal), ideal, tol=1e-12, max_iter=500)
        np.testing.assert_allclose(exact.forward(model, x, None).numpy(), digital.numpy(),
                                   atol=1e-6)
        rounded = HardwareModel(ideal_params(ideal), circuit_config("ideal"), tol=1e-12,
                                max_iter=500).forward(model, x, None)
    gap = float((rounded - digital).abs().max())
    assert 1e-6 < gap < 0.05


def test_chip_draws_are_seeded(toy):
    task, deq = toy
    model = new_model(task, deq, 0)
    config = circuit_config("transistor", array=ArrayConfig(mismatch_sigma=0.05))
    hw = HardwareModel(load_params(default_params_path("transistor"))[0], config)
    x = torch.from_numpy(task.x_test)

    def run(seed):
        with torch.no_grad():
            return hw.forward(model, x, torch.Generator().manual_seed(seed)).numpy()

    np.testing.assert_array_equal(run(3), run(3))
    assert np.abs(run(3) - run(4)).max() > 1e-4


def test_physics_aware_training_learns_through_the_proxy(toy):
    task, deq = toy
    config = circuit_config("transistor", array=ArrayConfig(mismatch_sigma=0.05, levels=16))
    hw = HardwareModel(load_params(default_params_path("transistor"))[0], config)
    start = new_model(task, deq, 0)
    before = evaluate(start, task)
    result = train_model(task, start, TrainConfig(epochs=30, input_noise=0.0), hardware=hw)
    assert result.test_metric < 0.5 * before
    # the fine-tuned copy is new; the model passed in is untouched
    assert evaluate(start, task) == before


def test_refit_recovers_a_known_neuron_shape(rng):
    config = circuit_config("opamp")
    true = nominal_params(config).replace(amplitude=0.95, slope=1.05, input_offset_fs=0.01)
    core = random_core(16, 8, 0.8, rng)
    chip = Chip(core, config)
    e = rng.uniform(-1, 1, (64, 8))
    proxy = CircuitProxy(true, chip.v_fs)
    with torch.no_grad():
        x, z = proxy.equilibrium(chip.effective, torch.from_numpy(e))
    fitted, info = refit(nominal_params(config), chip, e, z.numpy(), x.numpy())
    assert info.residual_after_fs < 1e-2 * info.residual_before_fs
    assert fitted.amplitude == pytest.approx(0.95, rel=2e-3)
    assert fitted.slope == pytest.approx(1.05, rel=2e-3)


def test_mlp_baseline_has_about_the_deqs_parameters():
    task = get_task("digits")
    deq = DEQConfig(in_features=64, out_features=10, core_size=64, core_inputs=48)
    mlp = new_mlp(deq, torch.from_numpy(task.x_train), 0)
    assert parameter_count(mlp) == pytest.approx(deq_parameter_count(deq), rel=0.02)
    model = new_model(task, deq, 0)
    assert parameter_count(model) == deq_parameter_count(deq)


def test_sweep_points_change_the_hardware():
    config = circuit_config("transistor", array=ArrayConfig(mismatch_sigma=0.05))
    hw = HardwareModel(load_params(default_params_path("transistor"))[0], config)
    assert SweepPoint("bits", 3).apply(hw).circuit.array.levels == 8
    assert SweepPoint("mismatch_sigma", 0.1).apply(hw).circuit.array.mismatch_sigma == 0.1
    low = SweepPoint("dc_gain", 100.0).apply(hw)
    assert low.params.dc_gain == 100.0 and low.circuit.neuron.opamp.dc_gain == 100.0
    assert hw.circuit.array.levels == 0  # frozen: the original is unchanged


def test_energy_accounting():
    assert solve_macs(4, 2, 0) == 8
    assert solve_macs(4, 2, 1, memory=1) == 8 + 16 + 4 + 8
    rows = energy_table(64, 48, 1e-9, DigitalSolve(10, 0.0, 0.0, 1))
    assert rows[0]["pj_per_mac"] == pytest.approx(1e-9 / (64 * 112) * 1e12)
    cpu = rows[1]
    assert cpu["energy_j"] == pytest.approx(solve_macs(64, 48, 10) * 4.6e-12)
