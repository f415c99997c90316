"""Wire resistance of the summing (row) lines: the crossbar row as a resistive ladder.

Row i is a wire from its op-amp's virtual ground s_i past every cell position p = 0..K-1, with a
segment of ``r`` Ohm before each position. Cell p (conductance G_p, driven by source voltage
u_p) connects to the wire at its position. The network is linear, so the current into s_i is

    I_i = sum_p a_p G_p u_p - G_th (v(s_i) - 0),

exactly: a_p = r^-1 y_p and G_th = r^-1 (1 - r^-1 y_0), with y = M^-1 e_0 and M the ladder's
nodal matrix (segments plus cells, every source grounded). Cells near the op-amp see a_p ~ 1,
far cells less. Row-major positions: for a row of [W | U | b], weight column c occupies
positions 2c (plus cell) and 2c + 1 (minus cell).
"""

from __future__ import annotations

import torch


def row_positions(g_plus: torch.Tensor, g_minus: torch.Tensor) -> torch.Tensor:
    """(rows, 2 cols) conductances in wire order: plus and minus cell of each column, adjacent."""
    return torch.stack([g_plus, g_minus], dim=-1).flatten(-2)


def _first_column(diag: torch.Tensor, off: float) -> torch.Tensor:
    """y = M^-1 e_0 for symmetric tridiagonal M (rows of diagonals ``diag``, every off-diagonal
    entry ``off``), by the Thomas algorithm: O(K) per row, batched over rows. M is diagonally
    dominant, so no pivoting is needed."""
    k = diag.shape[-1]
    pivots = [diag[:, 0]]
    rhs = [torch.ones_like(diag[:, 0])]
    for p in range(1, k):
        w = off / pivots[-1]
        pivots.append(diag[:, p] - w * off)
        rhs.append(-w * rhs[-1])
    y = [rhs[-1] / pivots[-1]]
    for p in range(k - 2, -1, -1):
        y.append((rhs[p] - off * y[-1]) / pivots[p])
    return torch.stack(y[::-1], dim=-1)


def ladder(g_cells: torch.Tensor, r_ohm: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(attenuation a (rows, K), Thevenin conductance G_th (rows,)) of resistive row lines with
    cells ``g_cells`` (rows, K) [S] and ``r_ohm`` per segment. r_ohm = 0: a = 1, G_th = sum G."""
    if r_ohm <= 0:
        return torch.ones_like(g_cells), g_cells.sum(-1)
    g_r = 1.0 / r_ohm
    segments = torch.full_like(g_cells, 2 * g_r)
    segments[:, -1] = g_r  # the last node has one segment
    y = _first_column(segments + g_cells, -g_r)
    return g_r * y, g_r * (1.0 - g_r * y[:, 0])
