"""A chip instance's per-neuron trim (codesign.calibration.trim) recovers per-neuron terms the
data were made with, and keeps the nominal ones when the data hold nothing to fit."""

import numpy as np
import torch

from codesign.calibration.trim import fit_trim
from codesign.chip.chip import Chip
from codesign.circuit.config import circuit_config
from codesign.proxy.model import CircuitProxy, NeuronSpread
from codesign.proxy.params import default_params_path, load_params
from tests.conftest import tanh_core


def _chip():
    core = tanh_core(6, 3, bias=0.1)
    return Chip(core, circuit_config("cmos", cell="sky130_r2r_eq"), seed=1)


def test_trim_recovers_the_per_neuron_terms_of_its_data():
    chip = _chip()
    params = load_params(default_params_path("cmos"))[0]
    rng = np.random.default_rng(1)
    truth = NeuronSpread(torch.tensor(1 + 0.05 * rng.normal(size=chip.n)),
                         torch.tensor(0.03 * rng.normal(size=chip.n)),
                         torch.tensor(0.02 * rng.normal(size=chip.n)),
                         torch.tensor(1 + 0.03 * rng.normal(size=chip.n)))
    e = rng.uniform(-1, 1, size=(96, chip.m))
    z = CircuitProxy(params, chip.v_fs).predict(chip.effective, chip.inputs(e), truth)
    trim = fit_trim(params, chip, e[:64], z[:64], e[64:], z[64:], steps=200)
    assert trim.rms_before > 1e-2
    assert trim.rms_after < 1e-2 * trim.rms_before
    np.testing.assert_allclose(trim.output, truth.output.numpy(), atol=2e-3)
    np.testing.assert_allclose(trim.scale, truth.scale.numpy(), atol=5e-3)


def test_trim_of_nominal_data_stays_nominal():
    chip = _chip()
    params = load_params(default_params_path("cmos"))[0]
    e = np.random.default_rng(2).uniform(-1, 1, size=(40, chip.m))
    z = chip.proxy_equilibrium(params, e)
    trim = fit_trim(params, chip, e[:20], z[:20], e[20:], z[20:])
    assert trim.rms_after <= trim.rms_before < 1e-9
    np.testing.assert_allclose(trim.gain, 1.0, atol=1e-6)
    np.testing.assert_allclose(trim.output, 0.0, atol=1e-6)
