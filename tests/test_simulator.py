"""Both backends against analytic oracles (a scalar fixed point, a linear solve, an RC step with
its supply energy), and their failures: errors keep the command, output and run directory."""

import dataclasses
import math

import numpy as np
import pytest
from scipy.optimize import brentq

from codesign.circuit import circuit_config, compile_core
from codesign.deq import CoreWeights, random_core
from codesign.errors import NgspiceNotFoundError, SimulationError
from codesign.netlist.deck import make_jobs
from codesign.netlist.spice import relaxed_transients, write_deck
from codesign.simulator import find_ngspice, get_simulator
from codesign.simulator.ngspice import error_lines
from codesign.simulator.traces import integrate_until, op_state, supply_power, transient_metrics
from tests.conftest import simulate_op


def test_single_neuron_matches_its_scalar_fixed_point(simulator, tmp_path):
    w, u, b = 0.7, 0.9, -0.2
    core = CoreWeights(np.array([[w]]), np.array([[u]]), np.array([b]), "tanh")
    e = np.array([[-1.0], [-0.3], [0.2], [1.0]])
    z = simulate_op(simulator, core, circuit_config("ideal"), e, tmp_path)
    for k, (ek,) in enumerate(e):
        oracle = brentq(lambda z, ek=ek: z - math.tanh(w * z + u * ek + b), -1, 1, xtol=1e-15)
        assert z[k, 0] == pytest.approx(oracle, abs=1e-6)


def test_linear_core_solves_its_linear_system(simulator, tmp_path, rng):
    core = random_core(8, 3, 0.8, rng, activation="identity", input_scale=0.3)
    e = rng.uniform(-1, 1, (3, 3))
    z = simulate_op(simulator, core, circuit_config("ideal"), e, tmp_path)
    oracle = np.linalg.solve(np.eye(8) - core.W, (e @ core.U.T + core.b).T).T
    np.testing.assert_allclose(z, oracle, atol=1e-6)


def test_backends_agree(process_sim, shared_sim, tmp_path, rng):
    core = random_core(16, 4, 0.9, rng)
    e = rng.uniform(-1, 1, (5, 4))
    a = simulate_op(process_sim, core, circuit_config("opamp"), e, tmp_path / "p")
    b = simulate_op(shared_sim, core, circuit_config("opamp"), e, tmp_path / "s")
    np.testing.assert_allclose(a, b, atol=1e-10)


def rc_neuron() -> CoreWeights:
    """One linear neuron without feedback: tau dx/dt = -x + e, an RC step from reset."""
    return CoreWeights(np.zeros((1, 1)), np.ones((1, 1)), np.zeros(1), "identity")


def test_rc_step_trace_settling_time_and_supply_energy(simulator, tmp_path):
    circuit = compile_core(rc_neuron(), circuit_config("ideal"))
    deck = write_deck(circuit, klu=simulator.info.klu)
    e, tau, tol, vfs = 0.8, circuit.time_constant_s(), 1e-4, circuit.v_fs
    (result,) = simulator.run(deck, make_jobs(np.array([[e]]), 15 * tau), "tran", tmp_path)
    t = result.tran.time[1:]
    x = result.tran.vectors["v(x0)"][1:] / vfs
    np.testing.assert_allclose(x, e * (1 - np.exp(-t / tau)), atol=2e-4)
    z_op = op_state(result, deck)[0]
    assert z_op[0] == pytest.approx(e, abs=1e-6)
    metrics = transient_metrics(result, deck, z_op, tol)
    t_s = tau * math.log(e / tol)  # e exp(-t/tau) = tol
    assert metrics.settling_time_s == pytest.approx(t_s, rel=5e-3)
    # Supply power from the element values (virtual ground at 0 V, class-B drivers, 1.65 V):
    g = circuit
    X = e * vfs
    p_in = 1.65 * (X * (g.g_u_plus[0, 0] + g.g_u_minus[0, 0])
                   + vfs * (g.g_b_plus[0] + g.g_b_minus[0]))
    gf, gw = g.g_feedback[0], g.g_w_plus[0, 0] + g.g_w_minus[0, 0]
    # op-amp output current x Gf + Cf dx/dt = Gf X (Cf = tau Gf); activation drives the W cells
    e_core = 1.65 * (gf * X * t_s + gw * X * (t_s - tau * (1 - math.exp(-t_s / tau))))
    assert metrics.input_energy_j == pytest.approx(p_in * t_s, rel=2e-3)
    assert metrics.core_energy_j == pytest.approx(e_core, rel=2e-3)


def test_a_long_transient_at_a_loose_reltol_still_resolves_the_decay(simulator, tmp_path):
    """An RC step run 400 time constants at reltol 1e-2 (the card's relaxed transients): the
    deck's largest step (a third of tau) keeps its settling time within 1 % of tau ln(e/tol).
    At ngspice's own bound alone (t_stop / 100 = 4 tau) the same run settles >5 % early."""
    circuit = compile_core(rc_neuron(), circuit_config("ideal"))
    deck = relaxed_transients(write_deck(circuit, klu=simulator.info.klu), 1e-2)
    e, tau, tol = 0.8, circuit.time_constant_s(), 1e-3
    assert deck.tran_max_step_s == pytest.approx(tau / 3)
    settling = {}
    for bound in (True, False):
        run = deck if bound else dataclasses.replace(deck, tran_max_step_s=math.inf)
        (result,) = simulator.run(run, make_jobs(np.array([[e]]), 400 * tau), "tran",
                                  tmp_path / str(bound))
        assert np.diff(result.tran.time).max() <= (tau / 3 if bound else 4 * tau) * (1 + 1e-9)
        metrics = transient_metrics(result, run, op_state(result, run)[0], tol)
        settling[bound] = metrics.settling_time_s / (tau * math.log(e / tol))
    assert settling[True] == pytest.approx(1.0, abs=0.01)
    assert abs(settling[False] - 1.0) > 0.05


def test_quiescent_supply_power_of_the_opamp_model(process_sim, tmp_path):
    circuit = compile_core(rc_neuron(), circuit_config("opamp"))
    deck = write_deck(circuit, klu=process_sim.info.klu)
    (result,) = process_sim.run(deck, make_jobs(np.zeros((1, 1)), 1e-6), "tran", tmp_path)
    power = supply_power(result.tran, deck.core_supplies)[1:]
    np.testing.assert_allclose(power, 20e-6 * 3.3, rtol=1e-6)  # iq * (vdd - vss), at rest
    assert integrate_until(result.tran.time[1:], power, 1e-6) == pytest.approx(
        20e-6 * 3.3 * (1e-6 - result.tran.time[1]), rel=1e-6)


def test_an_ngspice_error_keeps_command_output_and_run_dir(simulator, tmp_path, rng):
    circuit = compile_core(random_core(3, 2, 0.5, rng), circuit_config("ideal"))
    deck = dataclasses.replace(write_deck(circuit), input_sources=("vnope", "ve1"))
    with pytest.raises(SimulationError, match="vnope") as info:
        list(simulator.run(deck, make_jobs(np.zeros((2, 2))), "op", tmp_path / "run"))
    err = info.value
    assert err.run_dir is not None and (err.run_dir / "deck.cir").is_file()
    assert "vnope" in err.stdout + err.stderr
    assert err.command


def test_a_timeout_is_a_simulation_error(tmp_path, rng):
    sim = get_simulator("process", workers=1, timeout_s=0.01)
    circuit = compile_core(random_core(48, 8, 0.5, rng), circuit_config("opamp"))
    with pytest.raises(SimulationError, match="timed out") as info:
        list(sim.run(write_deck(circuit), make_jobs(np.zeros((1, 8)), 1e-5), "tran", tmp_path))
    assert (info.value.run_dir / "deck.cir").is_file()


def test_transient_needs_a_stop_time(process_sim, tmp_path, rng):
    circuit = compile_core(random_core(2, 1, 0.5, rng), circuit_config("ideal"))
    with pytest.raises(ValueError, match="t_stop_s"):
        list(process_sim.run(write_deck(circuit), make_jobs(np.zeros((1, 1))), "tran", tmp_path))


def test_missing_ngspice_says_how_to_install_it(monkeypatch):
    with pytest.raises(NgspiceNotFoundError, match="apt-get install ngspice"):
        find_ngspice("/nonexistent/ngspice")
    monkeypatch.delenv("CODESIGN_NGSPICE", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(NgspiceNotFoundError, match="not found on PATH.*apt-get install"):
        find_ngspice()


def test_error_lines_catch_ngspice_failures_and_pass_notes():
    text = "\n".join([
        "Note: Transient op started",
        "Warning: Dynamic gmin stepping failed",
        "doAnalyses: TRAN:  Timestep too small; time = 1e-9",
        "run simulation(s) aborted",
        "Error: no such device or model name vnope",
    ])
    assert error_lines(text) == [
        "doAnalyses: TRAN:  Timestep too small; time = 1e-9",
        "run simulation(s) aborted",
        "Error: no such device or model name vnope",
    ]


def test_the_store_keeps_allowed_nans_and_sets_damaged_entries_aside(tmp_path):
    from codesign.simulator.store import ResultStore, state_arrays, state_from
    from codesign.simulator.traces import SampleState, TransientMetrics

    store = ResultStore(tmp_path)
    unsettled = SampleState(0, np.ones(3), np.ones(3), TransientMetrics(math.nan, 0.1, 1e-9, 1e-9))
    store.save("a", state_arrays(unsettled))
    back = state_from(0, store.get("a"))
    assert math.isnan(back.transient.settling_time_s) and back.transient.core_energy_j == 1e-9
    with pytest.raises(SimulationError, match="non-finite"):
        store.save("b", {"z": np.array([np.nan]), "x": np.zeros(1)})  # never stored
    np.savez(tmp_path / "b.npz", z=np.array([np.nan]), x=np.zeros(1))  # damaged on disk
    assert store.get("b") is None and (tmp_path / "b.npz.bad").is_file()
    (tmp_path / "c.npz").write_bytes(b"")
    assert not store.has("c") and (tmp_path / "c.npz.bad").is_file()
