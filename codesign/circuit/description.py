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

A grid core's circuit (codesign.circuit.compile.compile_grid) is sparse: its W and U cells are
scipy CSR matrices, a device on every stored entry (none elsewhere), with ideal lines only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from codesign.circuit.config import CircuitConfig
from codesign.circuit.lines import port_admittance, row_positions
from codesign.errors import InputError
from codesign.parts import PartKind, get_part


def _issparse(a) -> bool:
    return hasattr(a, "tocoo")


def _row_sum(a) -> np.ndarray:
    return np.asarray(a.sum(1)).ravel()


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
    pair_area: np.ndarray | None = None
    """(n, 2) relative emitter areas of each bjt_pair neuron's two transistors (None: 1)."""
    spice_seed: int | None = None
    """Seed of ngspice's own random draws: the CMOS transistors' mismatch and the noise
    sources (None: it draws none)."""

    @property
    def n(self) -> int:
        return self.g_feedback.shape[0]

    @property
    def m(self) -> int:
        return self.g_u_plus.shape[1]

    @property
    def v_fs(self) -> float:
        return self.config.mapping.v_fs

    @property
    def line_ohm(self) -> float:
        return self.config.array.line_ohm

    @property
    def sparse(self) -> bool:
        """Whether the W and U cells are sparse matrices (a grid core's array)."""
        return _issparse(self.g_w_plus)

    def dense_only(self, what: str) -> None:
        """InputError for ``what`` on a sparse circuit (it would densify an n x n array)."""
        if self.sparse:
            raise InputError(f"{what} needs a dense crossbar; a grid core's sparse circuit "
                             "has ideal lines and no proxy: use Chip.prediction / SPICE")

    def row_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """(n, n + m + 1) plus and minus conductances of each row over [W | U | b] (CSR
        matrices for a sparse circuit)."""
        if self.sparse:
            import scipy.sparse as sp  # deferred: only a grid core's circuit is sparse

            return tuple(sp.hstack([w, u, sp.csr_matrix(b[:, None])], format="csr")
                         for w, u, b in ((self.g_w_plus, self.g_u_plus, self.g_b_plus),
                                         (self.g_w_minus, self.g_u_minus, self.g_b_minus)))
        plus = np.concatenate([self.g_w_plus, self.g_u_plus, self.g_b_plus[:, None]], axis=1)
        minus = np.concatenate([self.g_w_minus, self.g_u_minus, self.g_b_minus[:, None]], axis=1)
        return plus, minus

    @cached_property
    def _lines(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Effective plus and minus conductances through the lines and tiles, and the rows' port
        admittance Y_ss (n, n) (one line solve per circuit; effective_weights, noise_gain and
        row_coupling use it)."""
        self.dense_only("the line model")
        plus, minus = self.row_cells()
        cells = row_positions(torch.from_numpy(plus), torch.from_numpy(minus)).numpy()
        effective, y_ss = port_admittance(cells, self.config.array.wires)
        effective = effective.reshape(plus.shape + (2,))
        return effective[..., 0], effective[..., 1], y_ss

    def effective_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(W, U, b) realised by the conductances (the inverse of the mapping), including the
        row and column lines' wire resistance, tile by tile (codesign.circuit.lines). Sparse
        circuit (ideal lines): W and U as CSR matrices."""
        if self.sparse:
            scale = 1.0 / self.g_feedback[:, None]
            return tuple((g_p - g_m).multiply(scale).tocsr()
                         for g_p, g_m in ((self.g_w_plus, self.g_w_minus),
                                          (self.g_u_plus, self.g_u_minus))) + (
                (self.g_b_plus - self.g_b_minus) / self.g_feedback,)
        plus, minus, _ = self._lines
        full = (plus - minus) / self.g_feedback[:, None]
        n, m = self.n, self.m
        return full[:, :n], full[:, n : n + m], full[:, n + m]

    def node_conductance(self) -> np.ndarray:
        """(n,) all conductance into each summing node [S]: the row's cells, what they add to
        ground beyond their weights (row_load_s) and its feedback."""
        plus, minus = self.row_cells()
        return _row_sum(plus) + _row_sum(minus) + self.row_load_s + self.g_feedback

    @cached_property
    def row_load_s(self) -> np.ndarray:
        """(n,) the conductance each row's cells add from its summing node to analog ground
        beyond their weights (codesign.parts.base.Cell.row_load_s: an R-2R cell's ladder legs;
        0 for resistors) [S]."""
        cell = get_part(PartKind.CELL, str(self.config.array.cell))
        total = np.zeros(self.n)
        if not cell.loads_row:
            return total
        for g in self.row_cells():
            if self.sparse:
                g = g.copy()
                g.data = cell.row_load_s(g.data)
                total += _row_sum(g)
            else:
                total += cell.row_load_s(g).sum(1)
        return total

    def noise_gain(self) -> np.ndarray:
        """(n,) 1 + G_th,i / G_f,i: the op-amp's noise gain, G_th the conductance the crossbar
        row presents to s_i, every tile's (the sum of its cells with ideal wires, and what they
        add to ground: row_load_s)."""
        if self.sparse:
            return self.node_conductance() / self.g_feedback
        return 1.0 + (np.diag(self._lines[2]) + self.row_load_s) / self.g_feedback

    def noise_gain_matrix(self) -> np.ndarray:
        """(n, n) I + Y_ss / G_f,i: the noise gain with the rows' sneak coupling through
        resistive column lines (diagonal = noise_gain(); off-diagonal zero without them).
        Sparse circuit: a CSR diagonal matrix."""
        if self.sparse:
            import scipy.sparse as sp  # deferred: only a grid core's circuit is sparse

            return sp.diags(self.noise_gain(), format="csr")
        return (np.eye(self.n) + self._lines[2] / self.g_feedback[:, None]
                + np.diag(self.row_load_s / self.g_feedback))

    def time_constant_s(self) -> float:
        """The neuron time constant tau = R_f C_f [s] (equal for all rows by construction)."""
        return float(np.median(self.c_feedback / self.g_feedback))

    def device_count(self) -> int:
        """Number of crossbar conductances (devices) in the array."""
        cells = (self.g_w_plus, self.g_w_minus, self.g_u_plus, self.g_u_minus,
                 self.g_b_plus, self.g_b_minus)
        return int(sum(g.count_nonzero() if _issparse(g) else np.count_nonzero(g)
                       for g in cells))
