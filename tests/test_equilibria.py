"""Acceptance grid: random contractive cores, N = 8, 32, 128 and rho = 0.5, 0.9.

ideal neurons match the PyTorch fixed point within 1e-6 of full scale; opamp neurons match,
within 1e-6 FS, the PyTorch prediction that accounts for finite gain (and offsets, rails).
A transient from reset settles to the .op equilibrium within 1e-4 FS, and its settling time
lies within the contraction's bound."""

import numpy as np
import pytest

from codesign.chip.verify import VerifySettings, verify_core
from codesign.circuit import circuit_config, compile_core, predict_equilibrium
from codesign.circuit.dynamics import settling_bound_s
from codesign.deq import random_core
from tests.conftest import simulate_op

TOL_FS = 1e-6


def grid_core(n: int, rho: float):
    rng = np.random.default_rng(n * 100 + int(rho * 10))
    core = random_core(n, 16, rho, rng)
    return core, rng.uniform(-1, 1, (3 if n > 32 else 6, 16))


@pytest.mark.parametrize("n", [8, 32, 128])
@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_ideal_neurons_match_the_torch_fixed_point(process_sim, tmp_path, n, rho):
    core, e = grid_core(n, rho)
    z = simulate_op(process_sim, core, circuit_config("ideal"), e, tmp_path)
    assert np.abs(z - core.equilibrium(e)).max() < TOL_FS


@pytest.mark.parametrize("n", [8, 32, 128])
@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_opamp_neurons_match_the_finite_gain_prediction(process_sim, tmp_path, n, rho):
    core, e = grid_core(n, rho)
    circuit = compile_core(core, circuit_config("opamp"))
    z = simulate_op(process_sim, core, circuit_config("opamp"), e, tmp_path)
    assert np.abs(z - predict_equilibrium(circuit, e).z).max() < TOL_FS
    # and the prediction is not trivially the digital answer: finite gain moves it
    assert np.abs(z - core.equilibrium(e)).max() > 10 * TOL_FS


@pytest.mark.parametrize("dc_gain", [1e2, 1e3])
def test_low_gain_offset_and_rails_are_predicted(process_sim, tmp_path, rng, dc_gain):
    core = random_core(16, 4, 0.8, rng, input_scale=4.0)  # large drive: some rails clip
    e = rng.uniform(-1, 1, (4, 4))
    config = circuit_config("opamp", dc_gain=dc_gain, offset_v=3e-3, rail_high_v=1.0,
                            rail_low_v=-1.2)
    circuit = compile_core(core, config)
    pred = predict_equilibrium(circuit, e)
    assert (np.abs(pred.x) >= 2.0 - 1e-9).any()  # at least one neuron sits on a rail
    z = simulate_op(process_sim, core, config, e, tmp_path)
    assert np.abs(z - pred.z).max() < TOL_FS


@pytest.mark.parametrize("n", [8, 32])
@pytest.mark.parametrize("rho", [0.5, 0.9])
@pytest.mark.parametrize("level", ["ideal", "opamp"])
def test_transient_from_reset_settles_within_the_contraction_bound(process_sim, tmp_path, n,
                                                                     rho, level):
    core, e = grid_core(n, rho)
    e = e[:3]
    tol = 1e-4
    result = verify_core(core, e, circuit_config(level), process_sim, tmp_path,
                         VerifySettings(analysis="tran", settle_tol_fs=tol))
    tr = result.transients
    assert (tr["final_error_fs"] < tol).all()  # settles to the .op equilibrium
    assert (tr["settling_time_s"] <= tr["settling_bound_s"]).all()
    tau = result.summary.settling.tau_s
    unit_bound = settling_bound_s(tau, rho, 1.0, tol)  # tau ln(1/eps) / (1 - rho)
    assert (tr["settling_time_s"] <= unit_bound).all()
    assert (tr["settling_time_s"] > tau).all()  # and it is a real settling, not t = 0
    assert (tr["energy_j"] > 0).all()
