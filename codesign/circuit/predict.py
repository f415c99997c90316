"""What the compiled circuit's DC equilibrium should be, from its element values.

For the inverting summer of row i with open-loop gain A, offset V_os and rails [lo, hi]
(noise gain NG_i = 1 + sum of the row's conductances / G_f,i), KCL at s_i gives exactly

    x_i = clip( (sum_j w_ij phi(x_j) + sum_k u_ik e_k + b_i + NG_i V_os,i / v_fs) / (1 + NG_i / A),
                lo / v_fs, hi / v_fs )

in units of v_fs, and z_i = phi(x_i). Resistive column lines couple the rows through v(s):
NG becomes a matrix (CrossbarCircuit.noise_gain_matrix) and 1 / (1 + NG_i / A) the matrix
(I + NG / A)^-1 applied to the whole right-hand side. The map is a contraction whenever
||W||_2 < 1, so the fixed-point iteration below converges to the circuit's unique equilibrium.
A sparse circuit (a grid core's) iterates with scipy matvecs: nothing n x n is made dense.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from codesign.circuit.description import CrossbarCircuit
from codesign.deq.activations import get_activation
from codesign.deq.solvers import fixed_point


@dataclass(frozen=True, eq=False)
class CircuitPrediction:
    """Predicted DC equilibrium, in units of v_fs: x (pre-activation) and z = phi(x)."""

    x: np.ndarray
    z: np.ndarray
    converged: bool


def predict_equilibrium(
    circuit: CrossbarCircuit, e: np.ndarray, tol: float = 1e-14, max_iter: int = 100_000
) -> CircuitPrediction:
    """The equilibrium of ``circuit`` for core inputs ``e`` (K x m), accounting for finite
    gain, offsets and rails."""
    if circuit.sparse:
        return _predict_sparse(circuit, e, tol, max_iter)
    W, U, b = circuit.effective_weights()
    amp = circuit.config.neuron.opamp
    ng = circuit.noise_gain_matrix()
    drive = e @ U.T + b + (ng @ circuit.offset_v) / circuit.v_fs
    lo, hi = amp.rail_low_v / circuit.v_fs, amp.rail_high_v / circuit.v_fs
    phi = get_activation(circuit.activation)
    if np.count_nonzero(ng - np.diag(np.diag(ng))):  # sneak coupling: (I + NG / A)^-1
        closed = np.linalg.inv(np.eye(circuit.n) + ng / amp.dc_gain)
        Wt, drive = torch.from_numpy((closed @ W).T.copy()), drive @ closed.T
        gain_t = torch.ones(circuit.n, dtype=torch.float64)
    else:
        Wt = torch.from_numpy(W.T.copy())
        gain_t = torch.from_numpy(1.0 / (1.0 + np.diag(ng) / amp.dc_gain))
    drive_t = torch.from_numpy(drive)

    def step(x: torch.Tensor) -> torch.Tensor:
        return ((phi(x) @ Wt + drive_t) * gain_t).clamp(lo, hi)

    x, info = fixed_point(step, torch.zeros_like(drive_t), max_iter, tol)
    x_np = x.numpy()
    return CircuitPrediction(x_np, phi(x).numpy(), info.converged)


def _predict_sparse(circuit: CrossbarCircuit, e: np.ndarray, tol: float,
                    max_iter: int) -> CircuitPrediction:
    """predict_equilibrium of a sparse circuit (ideal lines: NG is diagonal)."""
    W, U, b = circuit.effective_weights()
    amp = circuit.config.neuron.opamp
    ng = circuit.noise_gain()
    e = np.asarray(e, np.float64)
    drive = (U @ e.T).T + b + ng * circuit.offset_v / circuit.v_fs
    lo, hi = amp.rail_low_v / circuit.v_fs, amp.rail_high_v / circuit.v_fs
    phi = get_activation(circuit.activation)
    gain = 1.0 / (1.0 + ng / amp.dc_gain)
    if circuit.activation == "identity":  # linear until a rail: one sparse LU for all samples
        # deferred: only a grid core's circuit is sparse
        import scipy.sparse as sp
        import scipy.sparse.linalg as sla

        lu = sla.splu((sp.identity(circuit.n) - sp.diags(gain) @ W).tocsc())
        x = lu.solve(np.ascontiguousarray((drive * gain).T)).T
        if np.all((x >= lo) & (x <= hi)):
            return CircuitPrediction(x, x.copy(), True)

    def step(x: torch.Tensor) -> torch.Tensor:
        z = phi(x).numpy()
        return torch.from_numpy(np.clip(((W @ z.T).T + drive) * gain, lo, hi))

    x, info = fixed_point(step, torch.zeros(drive.shape, dtype=torch.float64), max_iter, tol)
    return CircuitPrediction(x.numpy(), phi(x).numpy(), info.converged)
