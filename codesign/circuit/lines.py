"""Wire resistance of the crossbar's lines, tile by tile: what the array's currents become.

Layout. Row i of a core is a line from its op-amp's virtual ground s_i past every cell position
p of [W | U | b] (row-major: weight column c is positions 2c, its plus cell, and 2c + 1, its
minus cell). Position p's source (an activation, DAC or bias driver output) drives a column line
past every row. A physical array holds at most ``tile_rows`` x ``tile_columns`` cells, so a
larger core is a grid of tiles: each tile's row lines start at the neurons' summing nodes s_i
(the tiles' partial currents meet there, summed by the one amplifier of the row) and each
tile's column lines start at their driver. A line has a segment of ``line_ohm`` (rows) or
``column_ohm`` (columns) before every cell it passes.

The network is linear, so the current into s_i is exactly

    I_i = sum_p A_ip u_p - G_th,i v(s_i)    (+ sneak terms in the other rows' v(s), ~ 1 / gain)

with A the effective conductances (A = G with ideal wires) and G_th the conductance the row
presents to its amplifier. Rows only (column_ohm = 0): each tile's row is a resistive ladder,
solved in O(K) by the Thomas algorithm, differentiable. With column resistance the tile is a
two-layer mesh: its port admittance is the Schur complement of the mesh's nodal matrix, from
one sparse LU per tile (scipy); in torch its value is exact and its gradient treats each cell's
attenuation A_ip / G_ip as fixed (the pattern of IR drops changes slowly with the weights).
"""

from __future__ import annotations

import numpy as np
import torch

from codesign.circuit.config import Wires, tile_spans


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
    cells ``g_cells`` (rows, K) [S] and ``r_ohm`` per segment. r_ohm = 0: a = 1, G_th = sum G.
    Exactly: a_p = r^-1 y_p and G_th = r^-1 (1 - r^-1 y_0), y = M^-1 e_0, M the ladder's nodal
    matrix (segments plus cells, every source grounded)."""
    if r_ohm <= 0:
        return torch.ones_like(g_cells), g_cells.sum(-1)
    g_r = 1.0 / r_ohm
    segments = torch.full_like(g_cells, 2 * g_r)
    segments[:, -1] = g_r  # the last node has one segment
    y = _first_column(segments + g_cells, -g_r)
    return g_r * y, g_r * (1.0 - g_r * y[:, 0])


def _mesh_arrays(cells: np.ndarray, row_ohm: float, column_ohm: float):
    """Nodal matrix of one tile's internal nodes (row-line nodes, then column-line nodes; a line
    without resistance is its port) and its couplings to the row ports s_i and to the sources."""
    from scipy import sparse  # deferred: scipy.sparse only for resistive columns

    rows, cols = cells.shape
    row_node = np.arange(rows * cols).reshape(rows, cols) if row_ohm > 0 else None
    offset = row_node.size if row_node is not None else 0
    col_node = offset + np.arange(cols * rows).reshape(cols, rows) if column_ohm > 0 else None
    size = offset + (col_node.size if col_node is not None else 0)
    inner, s_port, u_port = ([], [], []), ([], [], []), ([], [], [])

    def link(store, a, b, g):
        store[0].append(np.ravel(a))
        store[1].append(np.ravel(b))
        store[2].append(np.broadcast_to(g, np.shape(a)).ravel())

    i_idx, p_idx = np.nonzero(cells)
    g = cells[i_idx, p_idx]
    a = row_node[i_idx, p_idx] if row_node is not None else None
    b = col_node[p_idx, i_idx] if col_node is not None else None
    if a is not None and b is not None:
        link(inner, a, b, g)
    elif a is not None:  # columns ideal: cell from row node to source p
        link(u_port, a, p_idx, g)
        link(inner, a, a, -g)  # self term only (diagonal), see below
    else:  # rows ideal: cell from s_i to column node
        link(s_port, b, i_idx, g)
        link(inner, b, b, -g)
    for node, ohm, port in ((row_node, row_ohm, s_port), (col_node, column_ohm, u_port)):
        if node is None:
            continue
        link(port, node[:, 0], np.arange(len(node)), 1.0 / ohm)  # the segment before each node
        link(inner, node[:, :-1], node[:, 1:], 1.0 / ohm)
        link(inner, node[:, 0], node[:, 0], -1.0 / ohm)
    ia, ib, ig = (np.concatenate(part) for part in inner)
    # a link (a, b, g): +g on both diagonals, -g off; a (x, x, -g) entry adds g to x's diagonal
    # only (a link to a port or a row node's first segment).
    off = ia != ib
    diag = np.zeros(size)
    np.add.at(diag, ia[off], ig[off])
    np.add.at(diag, ib[off], ig[off])
    np.add.at(diag, ia[~off], -ig[~off])
    y_ii = sparse.coo_matrix(
        (np.concatenate([diag, -ig[off], -ig[off]]),
         (np.concatenate([np.arange(size), ia[off], ib[off]]),
          np.concatenate([np.arange(size), ib[off], ia[off]]))), shape=(size, size)).tocsc()
    y_is = sparse.coo_matrix((-np.concatenate(s_port[2]), (np.concatenate(s_port[0]),
                              np.concatenate(s_port[1]))), shape=(size, rows)).tocsc()
    y_iu = sparse.coo_matrix((-np.concatenate(u_port[2]), (np.concatenate(u_port[0]),
                              np.concatenate(u_port[1]))), shape=(size, cols)).tocsc()
    return y_ii, y_is, y_iu


def mesh_tile(cells: np.ndarray, row_ohm: float, column_ohm: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """(A (rows, cols), Y_ss (rows, rows)) of one tile with resistive rows and columns [S],
    exact (the Schur complement onto the ports, one sparse LU): A the effective conductances
    from the sources into the rows, Y_ss the rows' own port admittance (diagonal: G_th; off the
    diagonal: the sneak coupling of row i to v(s_j) through the column lines)."""
    from scipy.sparse.linalg import splu  # deferred: scipy.sparse only for resistive columns

    y_ii, y_is, y_iu = _mesh_arrays(cells, row_ohm, column_ohm)
    z = splu(y_ii, permc_spec="COLAMD").solve(y_is.toarray())
    direct = -np.asarray(y_is.sum(0)).ravel()
    return (y_iu.T @ z).T, np.diag(direct) - y_is.T @ z


def port_admittance(cells: np.ndarray, wires: Wires) -> tuple[np.ndarray, np.ndarray]:
    """(A (rows, K), Y_ss (rows, rows)) of cells (rows, K) in wire order on the tiled array
    [S], exact (float64): Y_ss is block-diagonal by row tile (tiles share no wire)."""
    if _ladders(wires):
        effective, g_th, _ = line_network(torch.from_numpy(cells), wires)
        return effective.numpy(), np.diag(g_th.numpy())
    effective = np.zeros_like(cells)
    y_ss = np.zeros((cells.shape[0], cells.shape[0]))
    for rows in tile_spans(cells.shape[0], wires.tile_rows):
        for cols in tile_spans(cells.shape[1], wires.tile_columns):
            a, y = mesh_tile(cells[rows, cols], wires.row_ohm, wires.column_ohm)
            effective[rows, cols] = a
            y_ss[rows, rows] += y
    return effective, y_ss


def _ladders(wires: Wires) -> bool:
    """Whether every row is independent ladders (no column resistance)."""
    return wires.column_ohm <= 0


def line_network(cells: torch.Tensor, wires: Wires
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(effective conductances A (rows, K), G_th (rows,), sneak coupling (rows, rows) or None)
    of cells (rows, K) in wire order [S] on the array ``wires`` describes; differentiable in A
    and G_th (see the module docstring). The coupling, Y_ss off its diagonal, exists with
    resistive column lines only; it is a constant (it acts through v(s) ~ x / gain)."""
    if wires.ideal:
        return cells, cells.sum(-1), None
    if _ladders(wires):
        parts = [ladder(cells[:, cols], wires.row_ohm)
                 for cols in tile_spans(cells.shape[-1], wires.tile_columns)]
        att = torch.cat([a for a, _ in parts], dim=-1)
        return cells * att, sum(g for _, g in parts), None
    fixed = cells.detach()
    effective, y_ss = port_admittance(fixed.double().cpu().numpy(), wires)
    g_th = np.diag(y_ss).copy()
    effective, g_th, coupling = (torch.from_numpy(v).to(cells.dtype)
                                 for v in (effective, g_th, y_ss - np.diag(g_th)))
    att = torch.where(fixed > 0, effective / torch.where(fixed > 0, fixed, 1.0), 0.0)
    linear = cells * att
    total = cells.sum(-1)
    scale = g_th / torch.where(total.detach() > 0, total.detach(), 1.0)
    return (linear + (effective - linear).detach(),
            total * scale + (g_th - total * scale).detach(), coupling)
