"""The compiler of a Kirchhoff network core: NetworkWeights -> NetworkCircuit (element values in
SI units), and the circuit's own DC equilibrium from them (``predict_network``).

The state is the node voltages u_i of a passive resistor network on the grid (no neurons):

    +e_k, -e_k (DAC copies) --[G_inj]--+
    +vfs or -vfs (reference) --[G_b]---+
    neighbour u_q ----------[G_edge]---+--- u_i --(ideal unity buffer)--> ADC
    boundary (0 V) ---------[G_edge]---+    |
    midpoint m_pq --[G_half]--/ S(bit)-+    +--[G_ground]-- 0
                                            +--(i = k u_i^3)-- 0   (cubic element)

Every coupling of the model is ONE resistor between its two nodes, so KCL's row sums are those
of the realised conductances whatever their mismatch (a coupling's device appears with + on one
node's diagonal and - off it, the same value): the inverting-summer array's failure mode (a
local term made as a small difference of two large mismatched cells) cannot occur.

Conductances: model conductance x G_unit, G_unit = g_max_s / (the largest model conductance of
any resistor), so the largest maps to the top of the cell window (the mapping's; the resistor
cell takes any value), then the array's quantization (``levels`` evenly spaced over the
mapping's window, a device never rounded to 0: at least the lowest level) and programming
mismatch G -> G (1 + sigma N), as codesign.circuit.mapping does for crossbar cells. The cubic
element (a behavioural current source, like the op-amp level's behavioural activations) has
k = cubic x G_unit / v_fs^2 [A/V^3] with the same mismatch, no quantization.

Input-switched half-edges (Darcy's binary coefficient): each half of a switched edge p-q is, per
alternative bit value, a resistor from u_p to an internal node and a voltage-controlled switch
(ngspice ``S``, on resistance SWITCH_RON_OHM, off SWITCH_ROFF_OHM, both in the prediction) from
there to the edge's midpoint node m_pq, closed when the grid point's bit equals the
alternative's. The bits are per-sample sources like the DACs (a node at bit x v_fs set by a
current source into 1 Ohm), so the existing operating-point sweep (a ``.dc`` over the sample
index whose B sources look every input source's value up: codesign.netlist.spice.sweep_circuit)
sweeps them with the DACs; a resistor cannot be changed inside one ``.dc`` sweep. A half-edge to
the outside boundary is a resistor of half its conductance to ground behind its switch.

Mismatch draws (one standard normal per device, from ``rng``, in this order): node-to-node
resistors (edges, then couplings), node-to-ground resistors (boundary edges, then ground), the
switched halves, the injections, the bias resistors, the cubic elements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as sla
import torch

from codesign.circuit.config import CircuitConfig
from codesign.circuit.mapping import program, quantize, window_low
from codesign.circuit.predict import CircuitPrediction
from codesign.deq.network import NetworkWeights, SourceKind
from codesign.errors import InputError
from codesign.parts import Process, chip_parts

SWITCH_RON_OHM = 1.0
"""On resistance of a half-edge's switch [Ohm] (in series with its resistor; predicted)."""
SWITCH_ROFF_OHM = 1e15
"""Off resistance of a half-edge's switch [Ohm] (predicted as well)."""


@dataclass(frozen=True, eq=False)
class NetworkCircuit:
    """Element values of a compiled network core. Conductances [S], volts [V]; node indices as
    NetworkWeights (i = channel G^2 + row G + col), midpoint nodes numbered 0..midpoints-1,
    input k = input channel G^2 + row G + col, grid point q = row G + col."""

    config: CircuitConfig
    grid: int
    channels: int
    inputs_per_point: int
    g_unit_s: float
    """The conductance of one model unit [S]."""
    pair_nodes: np.ndarray
    """(P, 2) the two nodes of each node-to-node resistor (edges, then couplings)."""
    g_pair: np.ndarray
    """(P,) their conductances [S]."""
    ground_nodes: np.ndarray
    """(Q,) the node of each resistor to ground (boundary edges, then ground conductances)."""
    g_ground: np.ndarray
    """(Q,) [S]."""
    half_nodes: np.ndarray
    """(H,) the node of each switched half-edge resistor."""
    half_mid: np.ndarray
    """(H,) its midpoint node (-1: ground, a half-edge to the outside boundary)."""
    half_point: np.ndarray
    """(H,) the grid point whose bit drives its switch."""
    half_on: np.ndarray
    """(H,) bool: the bit value that closes the switch."""
    g_half: np.ndarray
    """(H,) the resistor's conductance [S] (without the switch)."""
    midpoints: int
    inj_nodes: np.ndarray
    """(J,) the node of each injection resistor."""
    inj_inputs: np.ndarray
    """(J,) the DAC (core input) driving it; -1: a tap outside the grid, a resistor to 0 V
    (the zero padding: every node carries the same injection load)."""
    inj_sign: np.ndarray
    """(J,) +1: from the DAC's +e copy, -1: from its -e copy."""
    g_inj: np.ndarray
    """(J,) [S]."""
    bias_nodes: np.ndarray
    bias_sign: np.ndarray
    """+1: from +v_fs, -1: from -v_fs."""
    g_bias: np.ndarray
    """[S]."""
    cubic_nodes: np.ndarray
    k_cubic: np.ndarray
    """(C,) the cubic elements' coefficients [A/V^3]: i = k v^3 from the node to ground."""
    weights_sha256: str
    switch_ron_ohm: float = SWITCH_RON_OHM
    """The half-edge switches' on resistance [Ohm]."""
    switch_roff_ohm: float = SWITCH_ROFF_OHM
    """Their off resistance [Ohm]."""
    omitted: int = 0
    """Resistors of the network not drawn: below half the mapping's window (current-source
    networks are compiled into the window, compile_network)."""
    readout_gain: np.ndarray | None = None
    """(n,) the gain of each node's buffer into its ADC (NetworkWeights.readout, per channel;
    None: unity). Ideal voltage-controlled sources: no offset, no gain error."""
    sources: SourceKind = SourceKind.RESISTOR
    """RESISTOR: g_inj and g_bias are resistors from the DAC copies and the reference; CURRENT:
    they are transconductances [S] of current sources into their nodes (i = g e v_fs: a
    current-output DAC; i = g v_fs from the reference), which load nothing."""

    def readout(self) -> np.ndarray:
        """(n,) each node's buffer gain into its ADC (ones where there is no readout gain)."""
        if self.readout_gain is None:
            return np.ones(self.n)
        return self.readout_gain

    @property
    def n(self) -> int:
        return self.channels * self.grid**2

    @property
    def m(self) -> int:
        return self.inputs_per_point * self.grid**2

    @property
    def points(self) -> int:
        """Grid points (bits per sample where the network has switched half-edges)."""
        return self.grid**2

    @property
    def switched(self) -> bool:
        return len(self.g_half) > 0

    @property
    def v_fs(self) -> float:
        return self.config.mapping.v_fs

    @property
    def current_sources(self) -> bool:
        """Whether the injections and the bias are current sources (SourceKind.CURRENT)."""
        return self.sources == SourceKind.CURRENT

    def source_count(self) -> int:
        """Injections and bias elements (resistors or current sources)."""
        return int(len(self.g_inj) + len(self.g_bias))

    def resistor_count(self) -> int:
        """Resistors of the network (every coupling one), the half-edges' per alternative, and
        the sources where they are resistors."""
        return len(self.resistors())

    def switch_count(self) -> int:
        return int(len(self.g_half))

    def device_count(self) -> int:
        """Devices: resistors, current sources and cubic elements (switches: switch_count)."""
        sources = self.source_count() if self.current_sources else 0
        return self.resistor_count() + sources + int(len(self.k_cubic))

    def resistors(self) -> np.ndarray:
        """Every resistor's conductance [S] (the sources' where they are resistors)."""
        return np.concatenate([getattr(self, name)
                               for name in resistor_families(self.sources)])

    def conductance_range(self) -> tuple[float, float]:
        """(smallest, largest) resistor conductance [S]: the dynamic range a device needs."""
        g = self.resistors()
        return float(g.min()), float(g.max())

    def floating(self) -> int:
        """Nodes (states and midpoints) with no resistive path to a fixed potential: a
        connected component of the resistors (switches closed) without a resistor to ground or
        to a source's far end."""
        g_matrix = self.conductance_matrix(
            np.ones(self.points, bool) if self.switched else None).tocsr()
        rows = np.asarray(g_matrix.sum(axis=1)).ravel()  # a node's conductance to ground
        grounded = rows > 1e-9 * g_matrix.diagonal()
        count, label = csgraph.connected_components(g_matrix, directed=False)
        anchored = np.zeros(count, bool)
        anchored[label[grounded]] = True
        return int((~anchored[label]).sum())

    def check_bits(self, bits: np.ndarray | None, count: int) -> np.ndarray | None:
        """``bits`` as (count, G^2) bool (None where the network has no switched half-edge);
        InputError where they are missing or shaped wrong."""
        if not self.switched:
            if bits is not None:
                raise InputError("this network has no switched half-edges; pass no bits")
            return None
        if bits is None:
            raise InputError("this network switches half-edges by the input's bits; pass bits "
                             "(samples, G, G) (NetworkDEQ.bits(x))")
        b = np.asarray(bits)
        g = self.grid
        if b.shape in ((g, g), (g * g,)):
            b = np.broadcast_to(b.reshape(1, -1), (count, g * g))
        if b.shape[-2:] == (g, g) and b.ndim == 3:
            b = b.reshape(len(b), -1)
        if b.shape != (count, g * g):
            raise InputError(f"bits must be (samples, {g}, {g}) for {count} samples, got "
                             f"{np.shape(bits)}")
        if b.dtype != bool and not np.isin(b, (0, 1)).all():
            raise InputError("bits must be 0/1 (or bool)")
        return b.astype(bool)

    def unknowns(self) -> int:
        """Node voltages the prediction solves for: the states and the midpoints."""
        return self.n + self.midpoints

    def conductance_matrix(self, bits_row: np.ndarray | None) -> sp.csr_matrix:
        """(n + midpoints) square nodal conductance matrix [S] for one sample's bits: every
        resistor, each half-edge in series with its switch (on or off), the injection and bias
        resistors' loads (their far ends are sources; none for current sources)."""
        size = self.unknowns()
        rows, cols, vals = [], [], []

        def stamp(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> None:
            grounded = b < 0
            rows.extend((a, b[~grounded], a[~grounded], b[~grounded]))
            cols.extend((a, b[~grounded], b[~grounded], a[~grounded]))
            vals.extend((g, g[~grounded], -g[~grounded], -g[~grounded]))

        stamp(self.pair_nodes[:, 0], self.pair_nodes[:, 1], self.g_pair)
        loads = [(self.ground_nodes, self.g_ground)]
        if not self.current_sources:  # a current source loads nothing
            loads += [(self.inj_nodes, self.g_inj), (self.bias_nodes, self.g_bias)]
        for nodes, g in loads:
            stamp(nodes, np.full(len(nodes), -1), g)
        if self.switched:
            closed = bits_row[self.half_point] == self.half_on
            r_switch = np.where(closed, self.switch_ron_ohm, self.switch_roff_ohm)
            g_eff = 1.0 / (1.0 / self.g_half + r_switch)
            mid = np.where(self.half_mid < 0, -1, self.half_mid + self.n)
            stamp(self.half_nodes, mid, g_eff)
        return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                     np.concatenate(cols))), shape=(size, size))

    def source_currents(self, e: np.ndarray) -> np.ndarray:
        """(K, n + midpoints) current into each node from the DACs and the reference [A] for DAC
        values ``e`` (K, m) [FS]: a resistor source's Norton current (its load is in
        conductance_matrix), or a current source's own."""
        out = np.zeros((len(e), self.unknowns()))
        driven = self.inj_inputs >= 0
        volts = e[:, self.inj_inputs[driven]] * self.v_fs * self.inj_sign[driven]
        np.add.at(out.T, self.inj_nodes[driven], (volts * self.g_inj[driven]).T)
        np.add.at(out.T, self.bias_nodes,
                  np.broadcast_to(self.g_bias * self.bias_sign * self.v_fs, (len(e),
                                                                             len(self.g_bias))).T)
        return out


def _check_config(config: CircuitConfig) -> None:
    array = config.array
    if array.line_ohm > 0 or array.column_ohm > 0 or array.line_c_f > 0 or array.tile_rows \
            or array.tile_columns or array.row_trim:
        raise InputError("a network core compiles with ideal wires and no tiles or row trim; "
                         "set line_ohm, column_ohm, line_c_f, the tiles and row_trim to 0")
    parts = chip_parts(config)
    if parts.process == Process.SKY130 or parts.cell.name != "resistor":
        raise InputError("a network core compiles at the behavioural levels (--neuron opamp or "
                         "ideal, resistor cells): its drivers are behavioural")
    if config.noise.enabled:
        raise InputError("a network core has no noise model; disable CircuitConfig.noise")


def _grid_pairs(g: int, direction: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p, q, border) in grid-point indices: the neighbour pairs (p, q = p + right or down) of
    ``direction`` (0 right, 1 down) and the border points of that direction (each border edge
    once per point: first then last column / row, so a G = 1 point has two)."""
    idx = np.arange(g * g).reshape(g, g)
    if direction == 0:
        p, q = idx[:, :-1].ravel(), idx[:, 1:].ravel()
        border = np.concatenate([idx[:, 0], idx[:, -1]])
    else:
        p, q = idx[:-1, :].ravel(), idx[1:, :].ravel()
        border = np.concatenate([idx[0, :], idx[-1, :]])
    return p, q, border


def _topology(w: NetworkWeights) -> dict[str, np.ndarray | int]:
    """Every device of ``w`` in model units, in the mismatch draw order (current sources: no
    injection for a tap outside the grid)."""
    g, c, pts = w.grid, w.c, w.grid**2
    pair_a, pair_b, pair_g, gnd_n, gnd_g = [], [], [], [], []
    edge = np.asarray(w.edge, np.float64)
    for ch in range(c):
        for d in (0, 1):
            if edge[ch, d] > 0:
                p, q, _ = _grid_pairs(g, d)
                pair_a.append(ch * pts + p)
                pair_b.append(ch * pts + q)
                pair_g.append(np.full(len(p), edge[ch, d]))
    couple = np.asarray(w.couple, np.float64)
    for a in range(c):
        for b in range(a + 1, c):
            if couple[a, b] > 0:
                pair_a.append(a * pts + np.arange(pts))
                pair_b.append(b * pts + np.arange(pts))
                pair_g.append(np.full(pts, couple[a, b]))
    for ch in range(c):
        for d in (0, 1):
            if edge[ch, d] > 0:
                border = _grid_pairs(g, d)[2]
                gnd_n.append(ch * pts + border)
                gnd_g.append(np.full(len(border), edge[ch, d]))
    ground = np.asarray(w.ground, np.float64)
    for ch in range(c):
        if ground[ch] > 0:
            gnd_n.append(ch * pts + np.arange(pts))
            gnd_g.append(np.full(pts, ground[ch]))
    h_node, h_mid, h_point, h_on, h_g = [], [], [], [], []
    mids = 0
    if w.half is not None:
        half = np.asarray(w.half, np.float64)
        for ch in range(c):
            for d in (0, 1):
                if not (half[ch, d] > 0).any():
                    continue
                if not (half[ch, d] > 0).all():
                    raise InputError(f"half-edge [{ch}, {d}] has an alternative of 0, which "
                                     "leaves its midpoint floating; make both > 0 or both 0")
                p, q, border = _grid_pairs(g, d)
                mid = mids + np.arange(len(p))
                mids += len(p)
                for bit in (0, 1):
                    for side in (p, q):
                        h_node.append(ch * pts + side)
                        h_mid.append(mid)
                        h_point.append(side)
                        h_on.append(np.full(len(side), bool(bit)))
                        h_g.append(np.full(len(side), half[ch, d, bit]))
                    h_node.append(ch * pts + border)
                    h_mid.append(np.full(len(border), -1))
                    h_point.append(border)
                    h_on.append(np.full(len(border), bool(bit)))
                    h_g.append(np.full(len(border), half[ch, d, bit] / 2))
    inj_n, inj_k, inj_s, inj_g = [], [], [], []
    inject = np.asarray(w.inject, np.float64)
    k = inject.shape[-1]
    r = k // 2
    rows, cols = np.divmod(np.arange(pts), g)
    for ch in range(c):
        for j in range(inject.shape[1]):
            for dy in range(k):
                for dx in range(k):
                    value = inject[ch, j, dy, dx]
                    if value == 0:
                        continue
                    y, x = rows + dy - r, cols + dx - r
                    inside = (y >= 0) & (y < g) & (x >= 0) & (x < g)
                    at = np.ones(pts, bool) if w.sources == SourceKind.RESISTOR else inside
                    inj_n.append(ch * pts + np.arange(pts)[at])
                    inj_k.append(np.where(inside, j * pts + y * g + x, -1)[at])
                    inj_s.append(np.full(int(at.sum()), np.sign(value)))
                    inj_g.append(np.full(int(at.sum()), abs(value)))
    bias = np.asarray(w.bias, np.float64)
    b_n, b_s, b_g = [], [], []
    for ch in range(c):
        if bias[ch] != 0:
            b_n.append(ch * pts + np.arange(pts))
            b_s.append(np.full(pts, np.sign(bias[ch])))
            b_g.append(np.full(pts, abs(bias[ch])))
    cubic = np.asarray(w.cubic, np.float64)
    c_n, c_k = [], []
    for ch in range(c):
        if cubic[ch] > 0:
            c_n.append(ch * pts + np.arange(pts))
            c_k.append(np.full(pts, cubic[ch]))

    def cat(parts: list, dtype=np.float64) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    return {"pair_nodes": np.stack([cat(pair_a, np.int64), cat(pair_b, np.int64)], axis=1),
            "g_pair": cat(pair_g), "ground_nodes": cat(gnd_n, np.int64), "g_ground": cat(gnd_g),
            "half_nodes": cat(h_node, np.int64), "half_mid": cat(h_mid, np.int64),
            "half_point": cat(h_point, np.int64), "half_on": cat(h_on, bool),
            "g_half": cat(h_g), "midpoints": mids, "inj_nodes": cat(inj_n, np.int64),
            "inj_inputs": cat(inj_k, np.int64), "inj_sign": cat(inj_s), "g_inj": cat(inj_g),
            "bias_nodes": cat(b_n, np.int64), "bias_sign": cat(b_s), "g_bias": cat(b_g),
            "cubic_nodes": cat(c_n, np.int64), "k_cubic": cat(c_k)}


SOURCE_FAMILIES = ("g_inj", "g_bias")
"""The sources' families: resistors (SourceKind.RESISTOR) or current sources' transconductances
(SourceKind.CURRENT)."""
RESISTORS = ("g_pair", "g_ground", "g_half", *SOURCE_FAMILIES)
"""The conductance families, in the mismatch draw order (the cubic elements follow)."""


def resistor_families(sources: SourceKind) -> tuple[str, ...]:
    """The families that are resistors for ``sources``: all of RESISTORS, or without the
    sources' where they are current sources."""
    if sources == SourceKind.CURRENT:
        return tuple(name for name in RESISTORS if name not in SOURCE_FAMILIES)
    return RESISTORS


def _quantize(g: np.ndarray, config: CircuitConfig) -> np.ndarray:
    """The array's levels over the mapping's window; a device never rounds to nothing."""
    levels = config.array.levels
    if levels == 0 or len(g) == 0:
        return g
    mapping = config.mapping
    low = window_low(mapping)
    lowest = low if low > 0 else (mapping.g_max_s - low) / (levels - 1)
    rounded = quantize(torch.from_numpy(g), mapping, levels).numpy()
    return np.maximum(rounded, lowest)


def _drawable(top: dict, values: dict, floor_s: float) -> int:
    """Hold a current-source network's resistors to the mapping's window [floor_s, g_max] in
    place: a node-to-node or ground resistor below floor_s / 2 is not drawn (removed), every
    other resistor below floor_s is raised to it (a half-edge always stays: its midpoint needs
    it). Returns the resistors removed. The sources carry the signal, so what falls away is
    learned residue (near-zero couplings and grounds); benchmarks.grid_network_window measures
    what the window costs."""
    removed = 0
    for name, nodes in (("g_pair", "pair_nodes"), ("g_ground", "ground_nodes")):
        keep = values[name] >= floor_s / 2
        removed += int((~keep).sum())
        top[nodes] = top[nodes][keep]
        values[name] = np.maximum(values[name][keep], floor_s)
    values["g_half"] = np.maximum(values["g_half"], floor_s)
    return removed


def compile_network(weights: NetworkWeights, config: CircuitConfig,
                    rng: np.random.Generator | None = None, *,
                    switch_ohm: tuple[float, float] = (SWITCH_RON_OHM, SWITCH_ROFF_OHM)
                    ) -> NetworkCircuit:
    """Map ``weights`` onto resistors (module text): G = model x G_unit, quantized, mismatched
    with ``rng`` (required when config.array.mismatch_sigma > 0); ``switch_ohm``: the half-edge
    switches' (on, off) resistance [Ohm]. A network with current sources (SourceKind.CURRENT)
    is compiled drawable: its resistors held to the mapping's window (_drawable); one with
    resistor sources keeps every value, however small (its sources need them)."""
    ron, roff = (float(v) for v in switch_ohm)
    if not 0 < ron < roff or not np.isfinite(roff):
        raise InputError(f"switch_ohm must be (on, off) with 0 < on < off < inf, got "
                         f"{switch_ohm!r}")
    if not isinstance(weights, NetworkWeights):
        raise InputError(f"compile_network takes NetworkWeights, got {type(weights).__name__}")
    _check_config(config)
    sigma = config.array.mismatch_sigma
    if sigma > 0 and rng is None:
        raise InputError("device mismatch needs a seeded numpy Generator (rng=...; --seed)")
    top = _topology(weights)
    # the window's top is the largest resistor; a current source's transconductance scales
    # with the same unit (its full-scale current g v_fs), whatever its size
    largest = max((float(top[name].max()) for name in resistor_families(weights.sources)
                   if len(top[name])),
                  default=0.0)
    if not largest > 0:
        raise InputError("the network has no resistor; it needs a path from every node to "
                         "ground")
    g_unit = config.mapping.g_max_s / largest
    values = {name: _quantize(top[name] * g_unit, config) for name in RESISTORS}
    values["k_cubic"] = top["k_cubic"] * g_unit / config.mapping.v_fs**2
    omitted = 0
    if weights.sources == SourceKind.CURRENT:
        omitted = _drawable(top, values, config.mapping.g_min_s)
    if sigma > 0:
        for name in (*RESISTORS, "k_cubic"):
            g = values[name]
            values[name] = program(torch.from_numpy(g), sigma,
                                   torch.from_numpy(rng.standard_normal(g.shape))).numpy()
    top.update(values)
    readout = None if weights.readout is None else np.repeat(weights.readout, weights.grid**2)
    circuit = NetworkCircuit(config=config, grid=weights.grid, channels=weights.c,
                             inputs_per_point=weights.p, g_unit_s=g_unit,
                             weights_sha256=weights.sha256(), switch_ron_ohm=ron,
                             switch_roff_ohm=roff, readout_gain=readout,
                             sources=weights.sources, omitted=omitted, **top)
    floating = circuit.floating() if omitted else 0
    if floating:
        raise InputError(f"held to the mapping's window, the network leaves {floating} node(s) "
                         "without a path to ground; lower mapping.g_min_s or train the network "
                         "with larger ground or edge conductances")
    return circuit


def predict_network(circuit: NetworkCircuit, e: np.ndarray, bits: np.ndarray | None = None,
                    tol_v: float = 1e-15, max_iter: int = 100) -> CircuitPrediction:
    """The DC equilibrium of ``circuit`` for DAC values ``e`` (K, m) [FS] and the bits (K, G, G)
    of a switched network: KCL at every node and midpoint with the realised element values
    (mismatch, quantization, the switches' on and off resistance, ideal drivers and buffers),
    solved by Newton with a sparse LU (one LU for all samples where the network is linear and
    unswitched). x: the node voltages [FS]; z: the buffers' outputs into the ADCs, x times
    each node's readout gain (ideal buffers; z = x without a readout gain)."""
    e = np.asarray(e, np.float64)
    if e.ndim == 1:
        e = e[None]
    if e.ndim != 2 or e.shape[1] != circuit.m or not np.isfinite(e).all():
        raise InputError(f"network inputs must be finite (samples, {circuit.m}), got "
                         f"{np.shape(e)}")
    bits = circuit.check_bits(bits, len(e))
    currents = circuit.source_currents(e)
    size = circuit.unknowns()
    nodes, k = circuit.cubic_nodes, circuit.k_cubic
    v = np.zeros((len(e), size))
    converged = True
    lu = None
    for s in range(len(e)):
        if lu is None or circuit.switched:
            g_matrix = circuit.conductance_matrix(None if bits is None else bits[s]).tocsc()
            lu = sla.splu(g_matrix)
        x = lu.solve(currents[s])
        if len(k):
            x, ok = _newton(g_matrix, nodes, k, currents[s], x, tol_v, max_iter)
            converged &= ok
        v[s] = x
    x = v[:, :circuit.n] / circuit.v_fs
    return CircuitPrediction(x, x * circuit.readout(), bool(converged))


def _newton(g_matrix: sp.csc_matrix, nodes: np.ndarray, k: np.ndarray, rhs: np.ndarray,
            x: np.ndarray, tol_v: float, max_iter: int) -> tuple[np.ndarray, bool]:
    """Newton on G x + k x^3 = rhs (convex: a damped step always decreases the residual)."""

    def residual(x: np.ndarray) -> np.ndarray:
        r = g_matrix @ x - rhs
        np.add.at(r, nodes, k * x[nodes] ** 3)
        return r

    r = residual(x)
    for _ in range(max_iter):
        diag = np.zeros(len(x))
        np.add.at(diag, nodes, 3.0 * k * x[nodes] ** 2)
        step = sla.spsolve((g_matrix + sp.diags(diag)).tocsc(), -r)
        t, norm = 1.0, np.linalg.norm(r)
        while True:
            trial = x + t * step
            r_trial = residual(trial)
            if np.linalg.norm(r_trial) <= norm or t < 1e-6:
                break
            t /= 2
        x, r = trial, r_trial
        if np.abs(t * step).max() <= tol_v + 1e-13 * np.abs(x).max():
            return x, True
    return x, False
