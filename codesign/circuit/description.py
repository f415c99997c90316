"""CrossbarCircuit: the typed description of a compiled core, element values in SI units.

Topology (one neuron i, all rows alike):

    inputs (volts)          crossbar cells           neuron i
    -phi_j, +phi_j  --[G_w]--+
    -e_k,   +e_k    --[G_u]--+-- s_i (virtual ground) --(-)op-amp--+-- x_i --[phi]--> +phi_i, -phi_i
    -Vfs,   +Vfs    --[G_b]--+         |                           |
                                       +------[ R_f,i || C_f,i ]---+

Cells in ``plus`` arrays are driven by the inverted copy (so they add +w), ``minus`` arrays by
the direct copy. With an ideal op-amp the DC equation of row i is
x_i = sum_j w_ij phi(x_j) + sum_k u_ik e_k + b_i (volts / v_fs), w = (G_plus - G_minus) / G_f,i.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.circuit.config import CircuitConfig


@dataclass(frozen=True, eq=False)
class CrossbarCircuit:
    """Element values of the compiled core. Conductances [S], capacitances [F], volts [V]."""

    config: CircuitConfig
    activation: str
    g_feedback: np.ndarray
    """(n,) feedback conductance 1/R_f of each neuron [S]."""
    c_feedback: np.ndarray
    """(n,) feedback capacitance C_f of each neuron [F]."""
    g_w_plus: np.ndarray
    """(n, n) recurrent cells driven by -phi_j [S]; 0 = no device."""
    g_w_minus: np.ndarray
    """(n, n) recurrent cells driven by +phi_j [S]."""
    g_u_plus: np.ndarray
    """(n, m) input cells driven by -e_k [S]."""
    g_u_minus: np.ndarray
    """(n, m) input cells driven by +e_k [S]."""
    g_b_plus: np.ndarray
    """(n,) bias cells driven by -v_fs [S]."""
    g_b_minus: np.ndarray
    """(n,) bias cells driven by +v_fs [S]."""
    offset_v: np.ndarray
    """(n,) input offset voltage of each neuron's op-amp [V]."""
    weights_sha256: str
    """Hash of the CoreWeights this was compiled from."""

    @property
    def n(self) -> int:
        return self.g_feedback.shape[0]

    @property
    def m(self) -> int:
        return self.g_u_plus.shape[1]

    @property
    def v_fs(self) -> float:
        return self.config.mapping.v_fs

    def effective_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(W, U, b) realised by the conductances (the inverse of the mapping)."""
        gf = self.g_feedback
        return (
            (self.g_w_plus - self.g_w_minus) / gf[:, None],
            (self.g_u_plus - self.g_u_minus) / gf[:, None],
            (self.g_b_plus - self.g_b_minus) / gf,
        )

    def noise_gain(self) -> np.ndarray:
        """(n,) 1 + (sum of all conductances into s_i) / G_f,i: the op-amp's noise gain."""
        total = (
            self.g_w_plus.sum(1)
            + self.g_w_minus.sum(1)
            + self.g_u_plus.sum(1)
            + self.g_u_minus.sum(1)
            + self.g_b_plus
            + self.g_b_minus
        )
        return 1.0 + total / self.g_feedback

    def time_constant_s(self) -> float:
        """The neuron time constant tau = R_f C_f [s] (equal for all rows by construction)."""
        return float(np.median(self.c_feedback / self.g_feedback))

    def device_count(self) -> int:
        """Number of crossbar conductances (devices) in the array."""
        cells = (self.g_w_plus, self.g_w_minus, self.g_u_plus, self.g_u_minus,
                 self.g_b_plus, self.g_b_minus)
        return int(sum(np.count_nonzero(g) for g in cells))
