"""Kirchhoff network cores: the state is the node voltages of a passive resistive network on the
grid, and the equilibrium is the network's DC operating point.

Each coupling is ONE conductance between two nodes (so a node's row sum is exact under
mismatch), plus conductances to ground, to the input DACs and to a bias rail, and an optional
cubic node element. The operating point solves

    A z + cubic * z^3 = B e + beta,

A symmetric positive definite (a weighted graph Laplacian plus a positive diagonal: every node
has a path to a fixed potential), cubic >= 0, so the operating point is the unique minimiser of
the strictly convex energy 1/2 z'Az + cubic/4 sum z^4 - (Be + beta)'z on every grid. This
replaces a contraction bound as the stability guarantee, at every resolution.

``NetworkWeights`` is the hand-off to the circuit compiler (model units: node voltages in units
of v_fs, conductances in units of a reference conductance). ``NetworkCore`` / ``NetworkDEQ``
(codesign.deq.kirchhoff) train it.

Conventions the compiler must follow (they define ``matrices``):

* node index i = channel * G^2 + row * G + col (torch's flattening of (c, G, G));
* a fixed edge ``edge[ch, 0]`` joins (row, col) and (row, col + 1), ``edge[ch, 1]`` joins (row,
  col) and (row + 1, col); a node on the border joins the boundary outside (0 V) with the same
  conductance, so every node carries 2 (edge[ch, 0] + edge[ch, 1]) on its diagonal;
* a switched edge (``half``) between p and q conducts h_p h_q / (h_p + h_q) (two half-edges in
  series, h_p = half[ch, dir, bit_p]; 0 when both are 0), to the boundary outside h_p / 2;
* an injection tap (dy, dx) of the (c, p, k, k) stencil reads input channel j at (row + dy, col
  + dx) (torch's conv2d, a cross-correlation); a tap that falls outside the grid is a
  conductance |inject| to 0 V (zero padding), so the load sum |inject| is the same at every
  node;
* ``bias`` is a conductance |bias| to +1 (bias > 0) or -1 (bias < 0) model volts;
* with ``sources`` CURRENT, every injection tap and the bias are instead currents into the node
  (inject * e and bias model units: a current-output DAC and a reference current): they load
  nothing, and a tap outside the grid is no device at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as sla

from codesign.choices import Choice
from codesign.deq.weights import real_array
from codesign.errors import InputError

NEWTON_MAX_ITER = 100
"""Newton steps an equilibrium may take before it is reported as not converged."""


class SourceKind(Choice):
    """How a network's sources (its injections from the DACs and its bias) reach a node."""

    RESISTOR = "resistor"
    """A resistor from the DAC's +e or -e copy (the reference's +-v_fs for the bias): the
    source also loads its node with its conductance."""
    CURRENT = "current"
    """A current into the node (a current-output DAC; a reference current for the bias): no
    load, so the small resistors a loading source needs are gone."""


def _array(value, name: str, shape: tuple[int, ...] | None, nonneg: bool) -> np.ndarray:
    arr = real_array(value, f"network {name}")
    if shape is not None and arr.shape != shape:
        raise InputError(f"network {name} must have shape {shape}, got {arr.shape}; build it "
                         f"with the channel count of `edge`")
    if not np.isfinite(arr).all():
        raise InputError(f"network {name} has NaN/inf entries; retrain or fix the weights")
    if nonneg and (arr < 0).any():
        raise InputError(f"network {name} must be >= 0 (conductances), got a minimum of "
                         f"{arr.min():.3g}; pass nonnegative values")
    return arr


def _series(hp: np.ndarray, hq: np.ndarray) -> np.ndarray:
    """h_p h_q / (h_p + h_q), 0 where both are 0."""
    total = hp + hq
    return np.divide(hp * hq, total, out=np.zeros_like(total), where=total > 0)


@dataclass(frozen=True, eq=False)
class NetworkWeights:
    """A passive grid network in model units: node voltages in units of v_fs, conductances in
    units of a reference conductance (dimensionless). c channels on a G x G grid; node index
    i = channel * G*G + row * G + col (torch's flattening of (c, G, G))."""

    grid: int
    edge: np.ndarray
    """(c, 2) >= 0: fixed conductance between a node and its same-channel neighbour, [:, 0] to
    the right (col+1), [:, 1] downward (row+1); the nodes on the border also connect with this
    conductance to the boundary outside (a node held at 0 V): Dirichlet u = 0 outside."""
    half: np.ndarray | None
    """(c, 2, 2) >= 0 or None: input-switched half-edges [channel, direction, bit]: the switched
    edge between p and q conducts h_p h_q / (h_p + h_q), h_p = half[ch, dir, bit_p]; to the
    outside boundary h_p / 2. In parallel with `edge`."""
    couple: np.ndarray
    """(c, c) symmetric, zero diagonal, >= 0: between channels at one point."""
    ground: np.ndarray
    """(c,) >= 0: node to ground."""
    inject: np.ndarray
    """(c, p, k, k) signed, k odd: conductance from input channel j's DAC at tap (dy, dx) (zero
    padding outside the grid) into the node; > 0: driven by +e, < 0: by -e (the DAC's inverted
    copy); |inject| loads the node (it is a conductance to a source, not a current)."""
    bias: np.ndarray
    """(c,) signed: conductance from +1 (if > 0) or -1 (if < 0) model volts."""
    cubic: np.ndarray
    """(c,) >= 0: node element to ground conducting cubic * z^3."""
    readout: np.ndarray | None = None
    """(c,) > 0 or None (unity): the gain of the buffer between each channel's nodes and their
    ADCs (NetworkDEQ.readout_gain). It does not move the network's equilibrium; the chip's
    buffers amplify the node voltages by it into the ADCs (codesign.circuit.network)."""
    sources: SourceKind = SourceKind.RESISTOR
    """How inject and bias reach a node: resistors that load it, or currents that do not."""

    def __post_init__(self) -> None:
        if isinstance(self.grid, bool) or not isinstance(self.grid, int | np.integer) \
                or self.grid < 1:
            raise InputError(f"network grid must be a whole number >= 1, got {self.grid!r}")
        object.__setattr__(self, "grid", int(self.grid))
        edge = real_array(self.edge, "network edge")
        if edge.ndim != 2 or edge.shape[1] != 2 or edge.shape[0] < 1:
            raise InputError(f"network edge must have shape (c, 2), got {edge.shape}")
        c = edge.shape[0]
        object.__setattr__(self, "edge", _array(edge, "edge", (c, 2), True))
        if self.half is not None:
            object.__setattr__(self, "half", _array(self.half, "half", (c, 2, 2), True))
        couple = _array(self.couple, "couple", (c, c), True)
        if np.abs(np.diag(couple)).max() > 0 or not np.allclose(couple, couple.T, rtol=1e-12,
                                                                atol=0.0):
            raise InputError("network couple must be symmetric with a zero diagonal; pass "
                             "(C + C.T) / 2 with the diagonal cleared")
        object.__setattr__(self, "couple", (couple + couple.T) / 2)
        for name in ("ground", "cubic"):
            object.__setattr__(self, name, _array(getattr(self, name), name, (c,), True))
        object.__setattr__(self, "bias", _array(self.bias, "bias", (c,), False))
        inject = _array(self.inject, "inject", None, False)
        if inject.ndim != 4 or inject.shape[0] != c or inject.shape[2] != inject.shape[3] \
                or inject.shape[2] % 2 == 0 or inject.shape[1] < 1:
            raise InputError(f"network inject must be (c={c}, p, k, k) with k odd and p >= 1, "
                             f"got {inject.shape}")
        object.__setattr__(self, "inject", inject)
        object.__setattr__(self, "sources", SourceKind.parse(self.sources, "network sources"))
        if self.readout is not None:
            readout = _array(self.readout, "readout", (c,), True)
            if (readout <= 0).any():
                raise InputError(f"network readout gains must be > 0, got a minimum of "
                                 f"{readout.min():.3g}")
            object.__setattr__(self, "readout", readout)
        if self.half is None:
            self._check_grounded(None)

    # ------------------------------------------------------------------------------ sizes

    @property
    def c(self) -> int:
        """Node channels per grid point."""
        return self.edge.shape[0]

    @property
    def p(self) -> int:
        """Input (DAC) channels per grid point."""
        return self.inject.shape[1]

    @property
    def n(self) -> int:
        """Nodes: c G^2."""
        return self.c * self.grid**2

    @property
    def m(self) -> int:
        """Inputs: p G^2."""
        return self.p * self.grid**2

    def device_count(self) -> int:
        """Two-terminal elements with a nonzero value: fixed edges (boundary edges included),
        switched edges as 2 halves x 2 alternatives each (a boundary one: 1 half x 2
        alternatives), injection taps (resistor sources: the taps outside the grid included,
        they load the node to 0 V; current sources: only the taps inside), bias, ground,
        inter-channel couplings (one per pair and point) and cubic elements."""
        g = self.grid
        per_dir = g * (g + 1)  # edges of one direction incl. the two boundary ones per line
        count = int(np.count_nonzero(self.edge)) * per_dir
        if self.half is not None:
            for ch in range(self.c):
                for d in range(2):
                    alternatives = int(np.count_nonzero(self.half[ch, d]))
                    count += alternatives * (2 * g * (g - 1) + 2 * g)
        if self.sources == SourceKind.RESISTOR:
            count += int(np.count_nonzero(self.inject)) * g * g
        else:
            k = self.inject.shape[-1]
            inside = np.maximum(g - np.abs(np.arange(k) - k // 2), 0)  # positions per offset
            count += int((np.abs(self.inject) > 0).sum(axis=(0, 1)).ravel()
                         @ np.outer(inside, inside).ravel())
        count += int(np.count_nonzero(self.bias) + np.count_nonzero(self.ground)
                     + np.count_nonzero(self.cubic)) * g * g
        count += int(np.count_nonzero(np.triu(self.couple, 1))) * g * g
        return count

    # ------------------------------------------------------------------------- matrices

    def _bits(self, bits) -> np.ndarray | None:
        if self.half is None:
            if bits is not None:
                raise InputError("this network has no switched half-edges; pass bits=None")
            return None
        if bits is None:
            raise InputError("this network has switched half-edges: pass bits, a (G, G) bool "
                             "array (the switching bit of each grid point)")
        arr = np.asarray(bits)
        if arr.shape != (self.grid, self.grid) or arr.dtype.kind not in "biuf":
            raise InputError(f"network bits must be a ({self.grid}, {self.grid}) bool array, "
                             f"got shape {arr.shape} of {arr.dtype}")
        if not np.isin(arr, (0, 1)).all():
            raise InputError("network bits must be 0/1 (bool); threshold the coefficient")
        return arr.astype(bool)

    def _edges(self, bits: np.ndarray | None):
        """Per channel and direction: (interior conductances, boundary conductances at the
        low side, boundary at the high side), arrays over the grid lines."""
        g = self.grid
        out = []
        for ch in range(self.c):
            per = []
            for d in range(2):
                fixed = self.edge[ch, d]
                if bits is None:
                    h = np.zeros((g, g))
                else:
                    h = np.where(bits, self.half[ch, d, 1], self.half[ch, d, 0])
                if d == 1:  # downward: work on the transpose so that axis 1 is the direction
                    h = h.T
                inner = fixed + _series(h[:, :-1], h[:, 1:])  # (g, g - 1)
                low = fixed + h[:, 0] / 2
                high = fixed + h[:, -1] / 2
                per.append((inner, low, high))
            out.append(per)
        return out

    def _excess(self, edges) -> np.ndarray:
        """(n,) conductance from each node to a fixed potential (ground, boundary, sources)."""
        g = self.grid
        load = self.ground.copy()
        if self.sources == SourceKind.RESISTOR:
            load += np.abs(self.inject).sum(axis=(1, 2, 3)) + np.abs(self.bias)
        ex = np.repeat(load, g * g).reshape(self.c, g, g)
        for ch in range(self.c):
            (ix, lx, hx), (iy, ly, hy) = edges[ch]
            ex[ch, :, 0] += lx
            ex[ch, :, -1] += hx
            ex[ch, 0, :] += ly
            ex[ch, -1, :] += hy
        return ex.ravel()

    def _laplacian(self, edges) -> sp.csr_matrix:
        """The graph Laplacian of the node-to-node conductances (n x n)."""
        g, c = self.grid, self.c
        idx = np.arange(c * g * g).reshape(c, g, g)
        rows, cols, vals = [], [], []
        for ch in range(c):
            (ix, _, _), (iy, _, _) = edges[ch]
            rows += [idx[ch, :, :-1].ravel(), idx[ch, :-1, :].T.ravel()]
            cols += [idx[ch, :, 1:].ravel(), idx[ch, 1:, :].T.ravel()]
            vals += [ix.ravel(), iy.ravel()]
        for a in range(c):
            for b in range(a + 1, c):
                if self.couple[a, b] > 0:
                    rows.append(idx[a].ravel())
                    cols.append(idx[b].ravel())
                    vals.append(np.full(g * g, self.couple[a, b]))
        r, q, v = (np.concatenate(x) if x else np.zeros(0) for x in (rows, cols, vals))
        keep = v > 0
        r, q, v = r[keep].astype(int), q[keep].astype(int), v[keep]
        off = sp.coo_matrix((np.concatenate([v, v]), (np.concatenate([r, q]),
                                                      np.concatenate([q, r]))),
                            shape=(self.n, self.n)).tocsr()
        return (sp.diags(np.asarray(off.sum(axis=1)).ravel()) - off).tocsr()

    def _check_grounded(self, bits) -> None:
        edges = self._edges(bits)
        lap = self._laplacian(edges)
        excess = self._excess(edges)
        self._require_grounded(lap, excess)

    def _require_grounded(self, lap, excess) -> None:
        count, labels = csgraph.connected_components(lap, directed=False)
        grounded = np.zeros(count, dtype=bool)
        np.logical_or.at(grounded, labels, excess > 0)
        if not grounded.all():
            node = int(np.flatnonzero(~grounded[labels])[0])
            raise InputError(f"the network is singular: node {node} has no path to ground "
                             f"(no edge, ground, injection or bias reaches a fixed potential); "
                             f"give every channel a nonzero edge or ground")

    def matrices(self, bits=None):
        """(A, B, beta): A scipy CSR (n, n) symmetric positive definite, B CSR (n, m) and beta
        (n,), such that the node equations read A z + cubic z^3 = B e + beta. ``bits``: (G, G)
        bool, the switching bit per grid point (required iff ``half`` is not None)."""
        bits = self._bits(bits)
        edges = self._edges(bits)
        lap = self._laplacian(edges)
        excess = self._excess(edges)
        self._require_grounded(lap, excess)
        A = (lap + sp.diags(excess)).tocsr()
        B = _stencil(self.inject, self.grid)
        beta = np.repeat(self.bias, self.grid**2)
        return A, B, beta

    # ----------------------------------------------------------------------- operating point

    def _inputs(self, e) -> tuple[np.ndarray, bool]:
        e = real_array(e, "network inputs")
        single = e.ndim == 1
        e = e[None] if single else e
        if e.ndim != 2 or e.shape[1] != self.m or len(e) == 0:
            raise InputError(f"network inputs must be ({self.m},) or (count, {self.m}) "
                             f"(flattened (p, G, G)), got {e.shape}")
        if not np.isfinite(e).all():
            raise InputError("network inputs have NaN/inf entries")
        return e, single

    def equilibrium(self, e, bits=None, tol: float = 1e-12) -> np.ndarray:
        """The operating point z, (n,) for e (m,) or (count, n) for e (count, m) (flattened
        (p, G, G)); ``bits`` (G, G) for every sample or (count, G, G). A sparse LU solve when
        cubic == 0, else Newton (sparse LU per step, backtracking on the convex energy) until
        ||A z + cubic z^3 - B e - beta|| <= tol max(1, ||B e + beta||)."""
        e, single = self._inputs(e)
        per_sample = False
        if self.half is not None:
            arr = np.asarray(bits) if bits is not None else None
            per_sample = arr is not None and arr.ndim == 3
            if per_sample and len(arr) != len(e):
                raise InputError(f"network bits hold {len(arr)} samples for {len(e)} inputs")
        cubic = np.repeat(self.cubic, self.grid**2)
        out = np.empty((len(e), self.n))
        cache = None
        for i, row in enumerate(e):
            if cache is None or per_sample:
                A, B, beta = self.matrices(bits[i] if per_sample else bits)
                lu = sla.splu(A.tocsc())
                cache = (A, B, beta, lu)
            A, B, beta, lu = cache
            rhs = B @ row + beta
            z = lu.solve(rhs)
            if cubic.any():
                z = _newton(A, cubic, rhs, z, tol)
            out[i] = z
        return out[0] if single else out

    # ------------------------------------------------------------------------------ transfer

    def at(self, grid: int, scale: float) -> NetworkWeights:
        """This network on a ``grid`` x ``grid`` grid by the diffusive rule: the node equation
        is h^2 times the continuum one, so the conductances along the grid (edges and halves,
        h^2 / h^2) stay and every pointwise term (couplings between channels at a point,
        ground, inject, bias and cubic: h^2 times a continuum coefficient) is divided by
        ``scale`` = (h_old / h_new)^2 (the task's spacing); the network then samples the same
        continuum operator finer (tests/test_network.py checks it against a manufactured
        solution)."""
        if not (isinstance(scale, float | int) and np.isfinite(scale) and scale > 0):
            raise InputError(f"network transfer scale must be a finite number > 0, got {scale!r}")
        s = float(scale)
        return NetworkWeights(grid, self.edge, self.half, self.couple / s, self.ground / s,
                              self.inject / s, self.bias / s, self.cubic / s, self.readout,
                              self.sources)

    def sha256(self) -> str:
        current = " current" if self.sources == SourceKind.CURRENT else ""  # resistor: as before
        h = hashlib.sha256(f"network {self.grid} half {self.half is not None}{current}".encode())
        parts = [self.edge] + ([self.half] if self.half is not None else []) + [
            self.couple, self.ground, self.inject, self.bias, self.cubic]
        if self.readout is not None:  # a network without one keeps its earlier hash
            parts.append(self.readout)
        for arr in parts:
            h.update(str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        return h.hexdigest()


def _newton(A, cubic: np.ndarray, rhs: np.ndarray, z: np.ndarray, tol: float) -> np.ndarray:
    """Newton on A z + cubic z^3 = rhs with a backtracking line search on the energy."""

    def energy(v: np.ndarray) -> float:
        return float(0.5 * v @ (A @ v) + 0.25 * cubic @ v**4 - rhs @ v)

    limit = tol * max(1.0, float(np.linalg.norm(rhs)))
    for _ in range(NEWTON_MAX_ITER):
        residual = A @ z + cubic * z**3 - rhs
        if np.linalg.norm(residual) <= limit:
            return z
        jac = (A + sp.diags(3 * cubic * z**2)).tocsc()
        step = sla.spsolve(jac, residual, permc_spec="MMD_AT_PLUS_A")
        start, t = energy(z), 1.0
        while t > 1e-8 and energy(z - t * step) > start + 1e-14 * abs(start):
            t /= 2
        z = z - t * step
    raise InputError(f"the network's Newton solve did not reach {tol:g} in {NEWTON_MAX_ITER} "
                     f"steps; check the inputs' scale")


def _stencil(kernel: np.ndarray, grid: int) -> sp.csr_matrix:
    """The cross-correlation with ``kernel`` (out, in, k, k), zero padding, as CSR (out G^2) x
    (in G^2); entries only for taps inside the grid."""
    c_out, c_in, k, _ = kernel.shape
    r, g = k // 2, grid
    rows, cols, vals = [], [], []
    yy, xx = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            sy, sx = yy + dy, xx + dx
            inside = (sy >= 0) & (sy < g) & (sx >= 0) & (sx < g)
            here, there = (yy * g + xx)[inside], (sy * g + sx)[inside]
            for o in range(c_out):
                for i in range(c_in):
                    w = kernel[o, i, dy + r, dx + r]
                    if w == 0:
                        continue
                    rows.append(o * g * g + here)
                    cols.append(i * g * g + there)
                    vals.append(np.full(here.shape, w))
    if not rows:
        return sp.csr_matrix((c_out * g * g, c_in * g * g))
    rows, cols, vals = (np.concatenate(a) for a in (rows, cols, vals))
    return sp.coo_matrix((vals, (rows, cols)), shape=(c_out * g * g, c_in * g * g)).tocsr()
