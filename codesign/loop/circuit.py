"""A model's task metric on its compiled circuit in SPICE, beside its digital and proxy metrics
on the same samples, keeping the traces (e, z, x) that the next calibration fits.

Classification and regression: a held-out subset of the test set goes through
``verify_core`` (one ``.op`` per sample). Control: closed-loop episodes in which every action
is computed by the circuit: all episodes advance in lockstep, so each control step is one
ngspice run over the episodes' current observations (state -> DACs -> circuit equilibrium ->
decoder -> torque).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from codesign.aware import HardwareModel
from codesign.circuit.compile import compile_core
from codesign.circuit.description import CrossbarCircuit
from codesign.circuit.dynamics import transient_stops_s
from codesign.circuit.predict import predict_equilibrium
from codesign.deq.model import HybridDEQ
from codesign.netlist.deck import make_jobs
from codesign.netlist.spice import write_deck
from codesign.proxy.crossbar import from_circuit
from codesign.proxy.model import CircuitProxy
from codesign.simulator.base import Simulator
from codesign.tasks.base import Task
from codesign.tasks.control import PendulumConfig, Rollouts, model_policy, rollout
from codesign.traces import op_state
from codesign.training import decode, encode, predict
from codesign.verify import VerifySettings, verify_core


@dataclass(frozen=True, eq=False)
class CircuitRun:
    """Digital, proxy and SPICE metrics of one model on one chip instance, same samples."""

    digital: dict
    proxy: dict
    circuit: dict
    e: np.ndarray
    """(K, m) core inputs the circuit saw."""
    z: np.ndarray
    """(K, n) SPICE equilibria [FS]."""
    x: np.ndarray
    """(K, n) SPICE pre-activations [FS]."""
    compiled: CrossbarCircuit
    """The compiled chip instance that was simulated."""
    summary: dict = field(default_factory=dict)
    """verify's summary (settling, energy, errors) where a verification ran."""
    rollouts: dict = field(default_factory=dict)
    """Control: name -> Rollouts (digital, proxy, circuit)."""


def _metric(task: Task, z: np.ndarray, model: HybridDEQ, y: np.ndarray) -> dict:
    return {"metric": task.score(decode(model, z), y)}


def verify_model(model: HybridDEQ, task: Task, indices: np.ndarray, hardware: HardwareModel,
                 simulator: Simulator, run_dir: Path, chip_seed: int,
                 analysis: str = "op") -> CircuitRun:
    """Test samples ``indices`` through the circuit of chip ``chip_seed`` (op or tran)."""
    e = encode(model, task.x_test[indices])
    y = task.y_test[indices]
    result = verify_core(model.core.to_weights(), e, hardware.circuit, simulator, Path(run_dir),
                         VerifySettings(analysis=analysis, proxy=hardware.params, seed=chip_seed))
    return CircuitRun(
        digital=_metric(task, result.z_torch, model, y),
        proxy=_metric(task, result.z_proxy, model, y),
        circuit=_metric(task, result.z_spice, model, y),
        e=e, z=result.z_spice, x=result.x_spice, compiled=result.circuit,
        summary=result.summary)


class SpicePolicy:
    """A policy whose core runs in ngspice, one run per control step over all episodes; it
    keeps every (e, z, x) it simulated."""

    def __init__(self, model: HybridDEQ, hardware: HardwareModel, simulator: Simulator,
                 run_dir: Path, chip_seed: int) -> None:
        self.model = model
        self.simulator = simulator
        self.run_dir = Path(run_dir)
        self.circuit = compile_core(model.core.to_weights(), hardware.circuit,
                                    np.random.default_rng(chip_seed))
        self.deck = write_deck(self.circuit, klu=simulator.info.klu,
                               title="codesign closed-loop policy")
        self.log: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def outputs(self, obs: np.ndarray) -> np.ndarray:
        e = encode(self.model, obs)
        step_dir = self.run_dir / f"step-{len(self.log):04d}"
        results = sorted(self.simulator.run(self.deck, make_jobs(e), "op", step_dir),
                         key=lambda r: r.index)
        z, x = (np.stack(part) for part in zip(*(op_state(r, self.deck) for r in results),
                                                strict=True))
        self.log.append((e, z, x))
        return decode(self.model, z)

    def traces(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(np.concatenate(part) for part in zip(*self.log, strict=True))


def proxy_outputs(model: HybridDEQ, params, circuit):
    """Outputs through the proxy of the compiled instance ``circuit``."""
    proxy, core = CircuitProxy(params, circuit.v_fs), from_circuit(circuit)
    return lambda obs: decode(model, proxy.predict(core, encode(model, obs)))


def control_summary(runs: Rollouts) -> dict:
    s = runs.summary()
    return {"metric": s["mean_cost"], **s}


def closed_loop(model: HybridDEQ, hardware: HardwareModel, simulator: Simulator,
                run_dir: Path, chip_seed: int, episodes: int, episode_seed: int,
                config: PendulumConfig | None = None) -> CircuitRun:
    """Digital, proxy and SPICE policies of ``model`` over the same seeded episodes."""
    config = config or PendulumConfig()
    spice = SpicePolicy(model, hardware, simulator, run_dir, chip_seed)
    runs = {
        "digital": rollout(model_policy(lambda o: predict(model, o)), config, episodes,
                           episode_seed),
        "proxy": rollout(model_policy(proxy_outputs(model, hardware.params, spice.circuit)),
                         config, episodes, episode_seed),
        "circuit": rollout(model_policy(spice.outputs), config, episodes, episode_seed),
    }
    e, z, x = spice.traces()
    return CircuitRun(
        digital=control_summary(runs["digital"]), proxy=control_summary(runs["proxy"]),
        circuit=control_summary(runs["circuit"]), e=e, z=z, x=x, compiled=spice.circuit,
        rollouts=runs)


def settling_trace(model: HybridDEQ, hardware: HardwareModel, simulator: Simulator,
                   run_dir: Path, x_row: np.ndarray, chip_seed: int, neurons: int = 4):
    """One transient from reset in SPICE beside the proxy's trajectory, for the neurons with
    the largest |z*|: a long table (time_s, neuron, z_spice, z_proxy) [FS]."""


    e = encode(model, np.asarray(x_row)[None])
    circuit = compile_core(model.core.to_weights(), hardware.circuit,
                           np.random.default_rng(chip_seed))
    deck = write_deck(circuit, klu=simulator.info.klu, title="codesign settling trace")
    stop = transient_stops_s(circuit, predict_equilibrium(circuit, e), 1e-4)[0]
    (result,) = list(simulator.run(deck, make_jobs(e, 1.5 * stop), "tran", Path(run_dir)))
    t = result.tran.time
    z_t = np.stack([result.tran.vectors[name] for name in deck.z_vectors], 1) / deck.v_fs
    proxy = CircuitProxy(hardware.params, circuit.v_fs)
    with torch.no_grad():
        z_p = proxy.trajectory(from_circuit(circuit), torch.from_numpy(e),
                               torch.from_numpy(t)[None]).numpy()[0]
    pick = np.argsort(-np.abs(z_t[-1]))[:neurons]
    return pd.DataFrame({"time_s": np.tile(t, len(pick)), "neuron": np.repeat(pick, len(t)),
                         "z_spice": z_t[:, pick].T.ravel(), "z_proxy": z_p[:, pick].T.ravel()})
