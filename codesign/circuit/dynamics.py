"""How long the circuit takes to settle: the contraction's rigorous bound and a linearised
estimate that sizes transient simulations.

Neuron i obeys tau dx_i/dt = -x_i + sum_j w_ij phi(x_j) + u_i (ideal op-amp). With ||W||_2 <= rho
< 1 and phi 1-Lipschitz, ||x(t) - x*||_2 <= exp(-(1 - rho) t / tau) ||x(0) - x*||_2, and
|z_i - z_i*| <= |x_i - x_i*|: from the reset x(0) = 0 every activation is within tol of its
equilibrium after tau ln(||x*||_2 / tol) / (1 - rho). Near x* the decay rate is set by the
slowest eigenvalue of -I + W diag(phi'(x*)), usually much faster than the bound.

A sky130 +/- driver (a Driver part with a measured ``settle_s``) sits in the loop (the
activations' copies) and in front of it (the input DACs' copies). Its 0.1 % settling after a
large step is mostly slewing and its second pole, not a small-signal lag: 8-neuron cores with
every copy by sky130_ab_fast (0.48 us) settle to 1e-4 FS in 0.55-0.71 us, about as fast as with
behavioural copies (0.59-0.72 us; ``python -m benchmarks.parts --driver-loop``), where a lag
settle_s / ln(1000) added to tau would stretch every stop by 1 / (1 - rho). The stops therefore
add the driver's settling once, as a delay; a transient not settled by its fallback is still
refused, never read.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from codesign.circuit.description import CrossbarCircuit
from codesign.circuit.predict import CircuitPrediction
from codesign.deq.activations import SLOPES
from codesign.parts.registry import chip_parts

SETTLE_TOL_FS = 1e-4
"""The default settling tolerance, a fraction of full scale: a transient has settled when every
activation stays within it of its operating point."""


def settling_bound_s(tau_s: float, rho: float, distance_fs: float, tol_fs: float) -> float:
    """tau ln(distance / tol) / (1 - rho) [s]; inf when rho >= 1."""
    if rho >= 1.0:
        return math.inf
    return tau_s * math.log(max(distance_fs / tol_fs, 1.0)) / (1.0 - rho)


def opamp_delay_s(circuit: CrossbarCircuit) -> float:
    """Closed-loop time constant of the slowest op-amp, NG / (2 pi GBW) [s] (0 if ideal): a
    transistor-level amplifier's at the lower bound of its gain-bandwidth its part gives at
    the circuit's bias and load (``Amplifier.gbw_hz``; codesign.parts.ota_speed), NG at least
    its ``noise_gain_floor``; another's at its config's ``gbw_hz``."""
    amplifier = chip_parts(circuit.config).amplifier
    gbw = amplifier.gbw_hz(circuit) if circuit.config.neuron.cmos is not None else None
    if gbw is not None:
        noise_gain = np.maximum(circuit.noise_gain(), amplifier.noise_gain_floor(circuit))
        return float((noise_gain / (2 * math.pi * gbw)).max())
    gbw = circuit.config.neuron.opamp.gbw_hz
    return float(circuit.noise_gain().max() / (2 * math.pi * gbw)) if math.isfinite(gbw) else 0.0


def driver_delay_s(circuit: CrossbarCircuit) -> float:
    """The chip's +/- driver's measured 0.1 % step settling [s] (Driver.settle_s; 0 for a
    behavioural driver)."""
    return chip_parts(circuit.config).driver.settle_s


def transient_stops_s(circuit: CrossbarCircuit, prediction: CircuitPrediction, tol_fs: float,
                      safety: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """(K,) transient lengths to try first, and (K,) to fall back on for samples not settled by
    then. First: the linearised decay rate at each equilibrium, times ``safety``. Fallback: the
    rigorous bound times ``safety`` (10x the first try for a non-contractive core, which has no
    bound). Both add 10 closed-loop op-amp time constants and the driver's settling
    (driver_delay_s) times ``safety``: the loop passes through its drivers at every turn, and
    with the driver's settling added once the 64-neuron chip with every part real ran each
    transient twice (first tries 1.04-1.07 us, settled at 1.08 us)."""
    W, _, _ = circuit.effective_weights()
    tau = circuit.time_constant_s()
    delay = 10 * opamp_delay_s(circuit) + safety * driver_delay_s(circuit)
    slope = SLOPES[circuit.activation](torch.from_numpy(prediction.x)).numpy()
    if getattr(circuit, "sparse", False):
        rho, rate = _sparse_rates(W, slope)
    else:
        rho = float(np.linalg.norm(W, 2))
        rate = 1.0 - np.linalg.eigvals(W[None, :, :] * slope[:, None, :]).real.max(axis=1)
    bound = np.array([settling_bound_s(tau, rho, float(np.linalg.norm(x)), tol_fs)
                      for x in prediction.x])
    dist = np.maximum(np.linalg.norm(prediction.x, axis=1) / tol_fs, 1.0)
    estimate = np.minimum(tau * np.log(dist) / np.clip(rate, 1e-3, None), bound)
    first = safety * estimate + delay
    fallback = np.where(np.isfinite(bound), safety * bound + delay, 10 * first)
    return first, fallback


def _sparse_rates(W, slope: np.ndarray) -> tuple[float, np.ndarray]:
    """||W||_2 and, per sample, 1 - the largest real part of W diag(slope) of a grid core's
    sparse W, by Lanczos / Arnoldi (scipy); where Arnoldi does not converge, 1 - ||W||_2
    (the contraction's own rate, a lower bound)."""
    # deferred: only a grid core's circuit is sparse
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    start = np.random.default_rng(0).standard_normal(W.shape[0])  # a fixed start vector
    rho = float(sla.svds(W, k=1, tol=1e-8, v0=start, return_singular_vectors=False)[0])
    rates = []
    for row in slope:
        try:
            top = sla.eigs(W @ sp.diags(row), k=1, which="LR", tol=1e-8, v0=start,
                           return_eigenvectors=False)
            rates.append(1.0 - float(top.real.max()))
        except sla.ArpackNoConvergence:
            rates.append(1.0 - rho)
    return rho, np.array(rates)
