"""Circuit-level verification: run a compiled core in SPICE and compare with PyTorch.

For each sample: z_torch, the float64 PyTorch fixed point of the core; z_model, the circuit's
equilibrium predicted from its element values (finite gain, offsets, rails); z_spice, ngspice's
operating point. With ``analysis='tran'`` each sample also runs a transient from reset (same
deck, same process), from which the settling time and the energy per inference are read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from codesign.circuit.compile import compile_core
from codesign.circuit.config import CircuitConfig
from codesign.circuit.description import CrossbarCircuit
from codesign.circuit.dynamics import settling_bound_s, transient_stops_s
from codesign.circuit.predict import CircuitPrediction, predict_equilibrium
from codesign.deq.weights import CoreWeights
from codesign.netlist.deck import Deck, make_jobs
from codesign.netlist.spice import write_deck
from codesign.proxy.crossbar import from_circuit
from codesign.proxy.model import CircuitProxy
from codesign.proxy.params import ProxyParams, library_sha256, neuron_model
from codesign.simulator.base import SampleResult, Simulator
from codesign.traces import TransientMetrics, op_state, transient_metrics

Progress = Callable[[int], None]


@dataclass(frozen=True)
class VerifySettings:
    """What to simulate and how strictly to judge settling."""

    analysis: str = "op"
    """op (equilibria) or tran (equilibria, then a transient from reset for settling/energy)."""
    settle_tol_fs: float = 1e-4
    """Settling tolerance, a fraction of full scale."""
    proxy: ProxyParams | None = None
    """Proxy parameters whose prediction is reported beside SPICE's (z_proxy); None: none."""
    seed: int = 0
    """Seed of the device mismatch drawn at compile time (when the config sets a sigma)."""


@dataclass(frozen=True, eq=False)
class Verification:
    """Per-unit equilibria, per-sample transients and the summary of one verification."""

    equilibria: pd.DataFrame
    transients: pd.DataFrame | None
    summary: dict
    z_torch: np.ndarray
    z_spice: np.ndarray
    x_spice: np.ndarray
    """SPICE pre-activations (op-amp outputs) [FS], for calibration on these traces."""
    circuit: CrossbarCircuit
    """The compiled instance that was simulated."""
    z_proxy: np.ndarray | None = None
    """The proxy's equilibria [FS] when the settings name proxy parameters."""


def _simulate(
    simulator: Simulator, deck: Deck, e: np.ndarray, analysis: str, stops: np.ndarray | None,
    run_dir: Path, indices: np.ndarray, progress: Progress | None,
) -> dict[int, SampleResult]:
    jobs = make_jobs(e[indices], None if stops is None else stops[indices])
    out = {}
    for result in simulator.run(deck, jobs, analysis, run_dir):
        out[int(indices[result.index])] = result
        if progress:
            progress(1)
    return out


def _transients(
    simulator: Simulator, circuit: CrossbarCircuit, deck: Deck, e: np.ndarray,
    pred: CircuitPrediction, settings: VerifySettings, run_dir: Path, progress: Progress | None,
) -> tuple[np.ndarray, np.ndarray, list[TransientMetrics], np.ndarray]:
    """Op + transient per sample, sized by the linearised estimate; samples that have not
    settled by then are rerun up to the rigorous bound."""
    tol = settings.settle_tol_fs
    plans = transient_stops_s(circuit, pred, tol)
    used = plans[0].copy()
    z_op = np.zeros((len(e), circuit.n))
    x_op = np.zeros_like(z_op)
    metrics: list[TransientMetrics] = [None] * len(e)  # type: ignore[list-item]
    todo = np.arange(len(e))
    for attempt, stops in enumerate(plans):
        results = _simulate(simulator, deck, e, "tran", stops, run_dir / f"tran-{attempt}", todo,
                            progress if attempt == 0 else None)
        for k, result in results.items():
            z_op[k], x_op[k] = op_state(result, deck)
            metrics[k] = transient_metrics(result, deck, z_op[k], tol)
        used[todo] = stops[todo]
        todo = np.array([k for k in todo if not math.isfinite(metrics[k].settling_time_s)], int)
        if len(todo) == 0:
            break
    return z_op, x_op, metrics, used


def _stats(values: np.ndarray) -> dict:
    values = np.asarray(values, float)
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return {"mean": None, "median": None, "max": None}
    return {"mean": float(finite.mean()), "median": float(np.median(finite)),
            "max": float(finite.max())}


def _clipped_fraction(circuit: CrossbarCircuit, pred: CircuitPrediction) -> float:
    """Fraction of neuron outputs (all samples) that sit on an op-amp rail."""
    amp = circuit.config.neuron.opamp
    rails = np.array([amp.rail_low_v, amp.rail_high_v]) / circuit.v_fs
    return float(np.isclose(pred.x[..., None], rails, rtol=0, atol=1e-9).any(-1).mean())


def _error_stats(diff: np.ndarray) -> dict:
    return {"max": float(np.abs(diff).max()), "rms": float(np.sqrt(np.mean(diff**2)))}


def verify_core(
    core: CoreWeights,
    e: np.ndarray,
    config: CircuitConfig,
    simulator: Simulator,
    run_dir: Path,
    settings: VerifySettings = VerifySettings(),
    progress: Progress | None = None,
) -> Verification:
    """Compile ``core``, simulate it on the core inputs ``e`` (K x m) and compare."""
    start = time.perf_counter()
    e = core.check_inputs(e)
    circuit = compile_core(core, config, np.random.default_rng(settings.seed))
    deck = write_deck(circuit, klu=simulator.info.klu)
    z_torch = core.equilibrium(e)
    pred = predict_equilibrium(circuit, e)
    run_dir = Path(run_dir)
    transients = None
    if settings.analysis == "tran":
        z_spice, x_spice, metrics, stops = _transients(
            simulator, circuit, deck, e, pred, settings, run_dir, progress)
        transients = _transient_table(circuit, core, pred, metrics, stops, settings)
    else:
        results = _simulate(simulator, deck, e, "op", None, run_dir / "op",
                            np.arange(len(e)), progress)
        states = [op_state(results[k], deck) for k in range(len(e))]
        z_spice, x_spice = (np.stack(part) for part in zip(*states, strict=True))
    equilibria = _equilibrium_table(z_torch, pred.z, z_spice, config.neuron.level)
    summary = _summary(core, circuit, simulator, settings, z_torch, pred, z_spice, transients)
    z_proxy = None
    if settings.proxy is not None:
        z_proxy = proxy_equilibrium(settings.proxy, circuit, e)
        equilibria["z_proxy"] = z_proxy.ravel()
        equilibria["error_proxy"] = (z_spice - z_proxy).ravel()
        summary["proxy_error_fs"] = _error_stats(z_spice - z_proxy)
        summary["proxy"] = _proxy_summary(settings.proxy, circuit)
    summary["wall_s"] = time.perf_counter() - start
    return Verification(equilibria, transients, summary, z_torch, z_spice, x_spice, circuit,
                        z_proxy)


def proxy_equilibrium(params: ProxyParams, circuit: CrossbarCircuit, e: np.ndarray) -> np.ndarray:
    """The proxy's z* (K, n) for the compiled instance ``circuit`` (its exact conductances)."""
    return CircuitProxy(params, circuit.v_fs).predict(from_circuit(circuit), e)


def _proxy_summary(params: ProxyParams, circuit: CrossbarCircuit) -> dict:
    return {"neuron_model": params.neuron_model,
            "matches_circuit": params.neuron_model == neuron_model(circuit.config),
            "library_current": params.library_sha256 == library_sha256()}


def _equilibrium_table(z_torch, z_model, z_spice, level: str) -> pd.DataFrame:
    k, n = z_torch.shape
    return pd.DataFrame({
        "sample": np.repeat(np.arange(k), n),
        "unit": np.tile(np.arange(n), k),
        "neuron": level,
        "z_torch": z_torch.ravel(),
        "z_model": z_model.ravel(),
        "z_spice": z_spice.ravel(),
        "error": (z_spice - z_torch).ravel(),
        "error_model": (z_spice - z_model).ravel(),
    })


def _transient_table(circuit, core, pred, metrics, stops, settings) -> pd.DataFrame:
    tau = circuit.time_constant_s()
    rho = core.spectral_norm
    tol = settings.settle_tol_fs
    return pd.DataFrame({
        "sample": np.arange(len(metrics)),
        "settling_time_s": [m.settling_time_s for m in metrics],
        "settling_bound_s": [settling_bound_s(tau, rho, float(np.linalg.norm(x)), tol)
                             for x in pred.x],
        "final_error_fs": [m.final_error_fs for m in metrics],
        "energy_j": [m.energy_j for m in metrics],
        "core_energy_j": [m.core_energy_j for m in metrics],
        "input_energy_j": [m.input_energy_j for m in metrics],
        "t_stop_s": stops,
    })


def _summary(core, circuit, simulator, settings, z_torch, pred, z_spice, transients) -> dict:
    cfg = circuit.config
    summary = {
        "backend": simulator.info.backend,
        "ngspice_version": simulator.info.ngspice_version,
        "klu": simulator.info.klu,
        "analysis": settings.analysis,
        "samples": int(len(z_torch)),
        "n": core.n,
        "m": core.m,
        "activation": core.activation,
        "spectral_norm": core.spectral_norm,
        "neuron": cfg.neuron.level,
        "circuit": cfg.to_dict(),
        "weights_sha256": circuit.weights_sha256,
        "devices": circuit.device_count(),
        "full_scale_v": circuit.v_fs,
        "equilibrium_error_fs": _error_stats(z_spice - z_torch),
        "model_error_fs": _error_stats(z_spice - pred.z),
        "model_converged": pred.converged,
        "rail_clipped_fraction": _clipped_fraction(circuit, pred),
    }
    if transients is not None:
        tau = circuit.time_constant_s()
        t_s = transients["settling_time_s"].to_numpy()
        bound_simple = settling_bound_s(tau, core.spectral_norm, 1.0, settings.settle_tol_fs)
        energy = transients["energy_j"].to_numpy()
        macs = core.n * (core.n + core.m)
        summary["settling"] = {
            "tol_fs": settings.settle_tol_fs,
            "tau_s": tau,
            "time_s": _stats(t_s),
            "unsettled_samples": int((~np.isfinite(t_s)).sum()),
            "bound_s": _stats(transients["settling_bound_s"]),
            "within_bound": bool(np.all(t_s <= transients["settling_bound_s"]))
            if core.spectral_norm < 1 else None,  # no bound without a contraction
            "bound_unit_distance_s": bound_simple,
            "final_error_fs_max": float(transients["final_error_fs"].max()),
        }
        summary["energy_per_inference_j"] = {
            **_stats(energy),
            "core_mean": float(transients["core_energy_j"].mean()),
            "input_mean": float(transients["input_energy_j"].mean()),
        }
        summary["macs_per_matvec"] = macs
        summary["energy_per_mac_j"] = float(np.nanmean(energy)) / macs
    return summary


def add_task_metric(result: Verification, task, decode: Callable[[np.ndarray], np.ndarray],
                    targets: np.ndarray) -> dict:
    """The task's metric (accuracy, relative L2 error, ...) from the digital and the circuit
    equilibria, into the summary ("task_metric"; classification also "accuracy" with the
    fraction of samples given the same class)."""
    digital, circuit = decode(result.z_torch), decode(result.z_spice)
    metric = {"name": task.metric_name, "digital": task.score(digital, targets),
              "circuit": task.score(circuit, targets)}
    result.summary["task_metric"] = metric
    if task.kind == "classification":
        result.summary["accuracy"] = {
            "digital": metric["digital"], "circuit": metric["circuit"],
            "agreement": float((digital.argmax(1) == circuit.argmax(1)).mean())}
    return metric
