"""The compiled circuit as a flat list of typed elements, in SI units.

The one place that decides the topology: node names, element names, which source drives which
cell. The SPICE writer (codesign.netlist.spice) formats these as text, the PySpice conversion
(codesign.netlist.pyspice) builds PySpice objects from them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from codesign.circuit.config import Reset, tile_spans
from codesign.circuit.noise import row_noise_psd, sample_rms
from codesign.netlist.deck import NoiseWaves
from codesign.parts import chip_parts
from codesign.parts.base import BIAS_NODES, CELL_SUPPLIES
from codesign.parts.items import Comment, Element, Item, Nodeset

__all__ = ["Comment", "Element", "Item", "Nodeset", "circuit_elements"]

if TYPE_CHECKING:
    from codesign.circuit.description import CrossbarCircuit

CORE_SUPPLIES = ("vdd", "vss")
ACTIVATION_SUPPLIES = ("vdda", "vssa")
"""The CMOS level's activation pairs and drivers have rails of their own (at the core's
voltages), so that their energy is measured apart from the amplifiers'."""
INPUT_SUPPLIES = ("vddi", "vssi")
BIAS_SUPPLIES = ("vddb", "vssb")
"""The rails of a bias current reference in the deck (codesign.parts.base.Bias.in_deck), at the
core's voltages, so that its energy is measured apart from the amplifiers'."""




INPUT_OHM = 1.0
"""The resistor each DAC source drives: a current source of e_k * v_fs / INPUT_OHM amperes sets
the DAC node to e_k * v_fs volts. A current source, not a voltage source, so that the node keeps
its own equation as its pivot under ngspice's KLU (see netlists/codesign_amplifiers.lib); it
draws nothing from the supplies, whose sources alone the energy counts."""


def input_source(k: int) -> str:
    """Name of the DAC source of core input k (a current source [A], into INPUT_OHM)."""
    return f"ie{k}"


def input_node(k: int) -> str:
    """The node the DAC source of core input k sets (e_k * v_fs)."""
    return f"d{k}"


def _set_node(source: str, node: str, volts: float) -> Iterator[Element]:
    """``node`` at ``volts``: a current source into INPUT_OHM to ground."""
    yield Element(source, ("0", node), volts / INPUT_OHM)
    yield Element(f"r{node}", (node, "0"), INPUT_OHM)


REFERENCE_NODE = "refp"
"""The bias reference's +v_fs output."""
REFERENCE_DAC_NODE = "dref"
"""The node the bias reference's source sets to v_fs (its driver's input: a driver's offset
moves REFERENCE_NODE, not this one)."""


def separate_activation_supplies(circuit: CrossbarCircuit) -> bool:
    """Whether the activations draw from vdda/vssa (the CMOS level) rather than vdd/vss."""
    return chip_parts(circuit.config).activation.separate_supplies


def _activation(circuit: CrossbarCircuit, i: int) -> Element:
    rails = ACTIVATION_SUPPLIES if separate_activation_supplies(circuit) else CORE_SUPPLIES
    nodes = (f"x{i}", f"zp{i}", f"zn{i}", *rails)
    return chip_parts(circuit.config).activation.element(circuit, i, nodes)


def amp_noise_density(circuit: CrossbarCircuit) -> float:
    """The summing amplifiers' input noise density in this circuit's transients [V/sqrt(Hz)]
    (0 when noise is off)."""
    noise = circuit.config.noise
    return noise.amp_density(circuit.config.neuron) if noise.enabled else 0.0


def noise_interval_s(circuit: CrossbarCircuit) -> float:
    """The noise sources' sample interval [s]."""
    return circuit.config.noise.sample_fraction * circuit.time_constant_s()


def noise_waves(circuit: CrossbarCircuit) -> NoiseWaves | None:
    """One noise current source per neuron into its summing node (codesign.circuit.noise),
    sampled every ``noise_interval_s``; None when the circuit's noise is off."""
    noise = circuit.config.noise
    if not noise.enabled:
        return None
    interval = noise_interval_s(circuit)
    psd = row_noise_psd(circuit.node_conductance(), amp_noise_density(circuit),
                        noise.temperature_k)
    return NoiseWaves(seed=int(circuit.spice_seed),
                      sources=tuple(f"inz{i}" for i in range(circuit.n)),
                      nodes=tuple(("0", f"s{i}") for i in range(circuit.n)),
                      rms_a=tuple(sample_rms(p, interval) for p in psd.tolist()),
                      interval_s=interval)


def _noise(circuit: CrossbarCircuit) -> Iterator[Item]:
    """The noise sources, at 0 A unless a transient's deck carries its waveforms
    (codesign.netlist.spice.job_deck)."""
    waves = noise_waves(circuit)
    if waves is None:
        return
    yield Comment(f"noise: 4kTG and the amplifier's input noise "
                  f"({amp_noise_density(circuit):.3g} V/rtHz) of each row, sampled every "
                  f"{waves.interval_s:.3g} s, set per transient")
    for name, nodes in zip(waves.sources, waves.nodes, strict=True):
        yield Element(name, nodes, 0.0, wave=("pwl", (0.0, 0.0, waves.interval_s, 0.0)))


RESET_NODE = "rst"
RESET_COMPLEMENT = "rstb"
RESET_S = 1e-9
"""How long the reset switches stay closed at the start of a transient [s]."""


def switched_reset(circuit: CrossbarCircuit) -> bool:
    return circuit.config.neuron.reset == Reset.SWITCHED


def _neurons(circuit: CrossbarCircuit) -> Iterator[Item]:
    parts = chip_parts(circuit.config)
    for i in range(circuit.n):
        yield Comment(f"neuron {i}")
        yield parts.amplifier.element(circuit, i, ("0", f"s{i}", f"x{i}", "vdd", "vss"))
        yield Element(f"rf{i}", (f"s{i}", f"x{i}"), 1.0 / float(circuit.g_feedback[i]))
        yield Element(f"cf{i}", (f"s{i}", f"x{i}"), float(circuit.c_feedback[i]))
        if parts.reset is not None:
            yield parts.reset.element(f"srst{i}", (f"s{i}", f"x{i}", RESET_NODE,
                                                   RESET_COMPLEMENT, "vdd", "vss"))
        yield _activation(circuit, i)


def bias_guesses(circuit: CrossbarCircuit) -> Iterator[Nodeset]:
    """The activations' bias-point guesses (Newton's starting point), where they have any."""
    return chip_parts(circuit.config).activation.guesses(circuit)


def line_node(i: int, position: int) -> str:
    """The ladder node of row i's line where the cell at wire ``position`` connects (with ideal
    wires every cell connects to s_i itself)."""
    return f"l{i}_{position}"


def column_node(position: int, i: int) -> str:
    """The node of column line ``position`` where row i's cell connects (with ideal column
    wires the cell connects to the driver's output itself)."""
    return f"k{position}_{i}"


def _cells(circuit: CrossbarCircuit, prefix: str, g: np.ndarray, first_column: int,
           side: int) -> Iterator[Element]:
    """A resistor into row i's line for every g[i, j] > 0; the cell sits at wire position
    p = 2 (first_column + j) + side (side 0: plus cell, 1: minus cell), driven by that
    position's source (position_sources), on row i's line and on position p's column line (or
    on s_i and the source, where ideal). ``g`` may be a scipy sparse matrix (a grid core's
    array): its stored non-zero entries, in row-major order as np.nonzero gives them."""
    if hasattr(g, "tocoo"):
        csr = g.tocsr()
        coo = (csr if csr.has_sorted_indices else csr.sorted_indices()).tocoo()
        keep = coo.data != 0
        rows, cols, values = coo.row[keep], coo.col[keep], coo.data[keep]
    else:
        rows, cols = np.nonzero(g)
        values = g[rows, cols]
    array = circuit.config.array
    sources = position_sources(circuit)
    positions = (2 * (first_column + cols) + side).tolist()
    rows_, cols_ = rows.tolist(), cols.tolist()
    names = [f"{prefix}{i}_{j}" for i, j in zip(rows_, cols_, strict=True)]
    row_nodes = ([line_node(i, p) for i, p in zip(rows_, positions, strict=True)]
                 if array.line_ohm > 0 else [f"s{i}" for i in rows_])
    def columns(positions: list[int]) -> list[str]:
        if array.column_ohm > 0:
            return [column_node(p, i) for i, p in zip(rows_, positions, strict=True)]
        return [sources[p] for p in positions]

    others = [p + 1 - 2 * side for p in positions]  # the pair's other line
    yield from chip_parts(circuit.config).cell.elements(
        names, columns(positions), columns(others), row_nodes, values.tolist())


def position_sources(circuit: CrossbarCircuit) -> list[str]:
    """The driver output at every wire position of [W | U | b] (plus cell, minus cell)."""
    pairs = ([(f"zn{j}", f"zp{j}") for j in range(circuit.n)]
             + [(f"en{k}", f"ep{k}") for k in range(circuit.m)] + [("refn", REFERENCE_NODE)])
    return [node for pair in pairs for node in pair]


def _ladder(first: str, node: Callable[[int], str], span: slice, ohm: float,
            name: Callable[[int], str]) -> Iterator[Element]:
    """One tile's part of a line: from ``first`` past the cells of ``span``, a segment before
    each cell's node."""
    previous = first
    for k in range(span.start, span.stop):
        yield Element(name(k), (previous, node(k)), ohm)
        previous = node(k)


def _row_lines(circuit: CrossbarCircuit) -> Iterator[Item]:
    """Each tile's part of each row line: from s_i past the tile's positions."""
    array = circuit.config.array
    positions = 2 * (circuit.n + circuit.m + 1)
    yield Comment(f"row lines: {array.line_ohm:g} Ohm per cell pitch, every tile's from s_i")
    for i in range(circuit.n):
        for span in tile_spans(positions, array.tile_columns):
            yield from _ladder(f"s{i}", lambda p, i=i: line_node(i, p), span, array.line_ohm,
                               lambda p, i=i: f"rl{i}_{p}")


def _column_lines(circuit: CrossbarCircuit) -> Iterator[Item]:
    """Each tile's part of each column line: from its driver past the tile's rows."""
    array = circuit.config.array
    yield Comment(f"column lines: {array.column_ohm:g} Ohm per cell pitch, every tile's from "
                  "its driver")
    for p, source in enumerate(position_sources(circuit)):
        for span in tile_spans(circuit.n, array.tile_rows):
            yield from _ladder(source, lambda i, p=p: column_node(p, i), span,
                               array.column_ohm, lambda i, p=p: f"rk{p}_{i}")


def _line_capacitance(circuit: CrossbarCircuit) -> Iterator[Item]:
    """line_c_f to ground at every line node (a row without wire resistance: its lines' total at
    s_i; a column without: none, its driver holds it)."""
    array = circuit.config.array
    c, positions = array.line_c_f, 2 * (circuit.n + circuit.m + 1)
    yield Comment(f"line capacitance: {c:g} F per cell pitch")
    for i in range(circuit.n):
        if array.line_ohm > 0:
            for p in range(positions):
                yield Element(f"cl{i}_{p}", (line_node(i, p), "0"), c)
        else:
            yield Element(f"cl{i}", (f"s{i}", "0"), c * positions)
    if array.column_ohm > 0:
        for p in range(positions):
            for i in range(circuit.n):
                yield Element(f"ck{p}_{i}", (column_node(p, i), "0"), c)


def _crossbar(circuit: CrossbarCircuit) -> Iterator[Item]:
    n, m = circuit.n, circuit.m
    array = circuit.config.array
    yield Comment("recurrent crossbar W: plus cells from -phi_j, minus cells from +phi_j")
    yield from _cells(circuit, "wp", circuit.g_w_plus, 0, 0)
    yield from _cells(circuit, "wm", circuit.g_w_minus, 0, 1)
    yield Comment("input crossbar U: plus cells from -e_k, minus cells from +e_k")
    yield from _cells(circuit, "up", circuit.g_u_plus, n, 0)
    yield from _cells(circuit, "um", circuit.g_u_minus, n, 1)
    yield Comment("bias column b: plus cells from -vfs, minus cells from +vfs")
    yield from _cells(circuit, "bp", circuit.g_b_plus[:, None], n + m, 0)
    yield from _cells(circuit, "bm", circuit.g_b_minus[:, None], n + m, 1)
    if array.line_ohm > 0:
        yield from _row_lines(circuit)
    if array.column_ohm > 0:
        yield from _column_lines(circuit)
    if array.line_c_f > 0:
        yield from _line_capacitance(circuit)


def _sources(circuit: CrossbarCircuit, inputs: Sequence[float]) -> Iterator[Item]:
    sup = circuit.config.supplies
    yield Comment("supplies: neurons (vdd, vss), input DACs and bias reference (vddi, vssi)")
    yield Element("vdd", ("vdd", "0"), sup.vdd_v)
    yield Element("vss", ("vss", "0"), sup.vss_v)
    if separate_activation_supplies(circuit):
        yield Element("vdda", ("vdda", "0"), sup.vdd_v)
        yield Element("vssa", ("vssa", "0"), sup.vss_v)
    rails = chip_parts(circuit.config).cell.rails_v
    if rails is not None:
        yield Element(CELL_SUPPLIES[0], (CELL_SUPPLIES[0], "0"), rails[0])
        yield Element(CELL_SUPPLIES[1], (CELL_SUPPLIES[1], "0"), rails[1])
    bias = chip_parts(circuit.config).bias
    if bias.in_deck:
        yield Comment(f"bias current reference ({bias.name}) on rails of its own (vddb, vssb): "
                      "every neuron's bias current is a PMOS tap on its pbias")
        yield Element(BIAS_SUPPLIES[0], (BIAS_SUPPLIES[0], "0"), sup.vdd_v)
        yield Element(BIAS_SUPPLIES[1], (BIAS_SUPPLIES[1], "0"), sup.vss_v)
        yield bias.element("xbias", (*BIAS_NODES, *BIAS_SUPPLIES))
    yield Element("vddi", ("vddi", "0"), sup.input_vdd_v)
    yield Element("vssi", ("vssi", "0"), sup.input_vss_v)
    yield Comment(f"input DACs: ie_k into {INPUT_OHM:g} Ohm sets d_k to e_k * vfs (per sample), "
                  "a driver makes +e_k and -e_k")
    driver = chip_parts(circuit.config).driver
    for k in range(circuit.m):
        yield from _set_node(input_source(k), input_node(k), float(inputs[k]) * circuit.v_fs)
        yield driver.element(circuit, f"xdac{k}",
                             (input_node(k), f"ep{k}", f"en{k}", "vddi", "vssi"))
    yield Comment("bias reference: +vfs and -vfs")
    yield from _set_node("iref", REFERENCE_DAC_NODE, circuit.v_fs)
    yield driver.element(circuit, "xref",
                         (REFERENCE_DAC_NODE, REFERENCE_NODE, "refn", "vddi", "vssi"))
    if switched_reset(circuit):
        reset = chip_parts(circuit.config).reset
        yield Comment("reset: the switches across Rf || Cf are closed at t = 0, open after "
                      f"{RESET_S:g} s ({reset.open_v:g} V, open, in .op)")
        controls = [(RESET_NODE, reset.closed_v, reset.open_v)]
        if reset.complementary:
            controls.append((RESET_COMPLEMENT, reset.open_v, reset.closed_v))
        for node, closed, opened in controls:
            yield Element(f"v{node}", (node, "0"), opened,
                          wave=("pulse", (closed, opened, 0.0, RESET_S, RESET_S, 1.0, 2.0)))


def circuit_elements(circuit: CrossbarCircuit,
                     inputs: Sequence[float] | None = None, *,
                     crossbar: bool = True) -> Iterator[Item]:
    """Every element of ``circuit``: sources (DACs at ``inputs``, units of full scale, zeros by
    default), neurons, crossbar cells (``crossbar`` False: all but the cells, for a deck that
    writes its crossbar in the operating-point form, op_crossbar)."""
    yield from _sources(circuit, [0.0] * circuit.m if inputs is None else inputs)
    yield from _neurons(circuit)
    if crossbar:
        yield from _crossbar(circuit)
    yield from _noise(circuit)
    yield from bias_guesses(circuit)


def op_form_exact(circuit: CrossbarCircuit) -> bool:
    """Whether the crossbar's operating-point form (op_crossbar) gives this circuit's operating
    point exactly: resistor cells on ideal row and column lines of a dense array, every column
    line driven by an ideal voltage source whose pair line is its exact negative (the
    behavioural activation's zp = phi(x), zn = -phi(x) and the behavioural drivers' +v(in),
    -v(in), all B sources: a load does not move them)."""
    parts = chip_parts(circuit.config)
    array = circuit.config.array
    return (parts.cell.name == "resistor" and parts.activation.name == "behavioural"
            and parts.driver.name == "behavioural" and array.line_ohm == 0
            and array.column_ohm == 0 and not getattr(circuit, "sparse", False))


class OpCrossbar(NamedTuple):
    """The crossbar [W | U | b] as the current it drives into each row's summing node, for
    operating points only (where op_form_exact): the pair of cells g+ (from the -line) and g-
    (from the +line) of a weight draws g+ (v(-line) - v(s_i)) + g- (v(+line) - v(s_i)) =
    (g- - g+) v(+line) - (g+ + g-) v(s_i) into s_i when the -line is the exact negative of the
    +line: one linear VCCS per weight (its name, row i, controlled by the +line, ``net`` [S])
    and one resistor per row to ground of the row's total cell conductance (``total`` [S]),
    from the same conductances. The lines' voltages are ideal sources' (a load does not move
    them), so every node voltage is the physical deck's; only the current the drivers deliver
    (the supplies' .op currents) differs, so transients and energies use the physical form.
    2 matrix entries per weight instead of 8 (~6x fewer non-zeros at n = 64), half the
    elements."""

    names: list[str]
    """Each VCCS's name (gw{i}_{j}, gu{i}_{k}, gb{i}), row-major."""
    rows: list[str]
    """Each VCCS's row node s_i."""
    lines: list[str]
    """Each VCCS's controlling +line (zp_j, ep_k, refp)."""
    net: np.ndarray
    """Each VCCS's transconductance g- - g+ [S] (weights whose cells cancel have none)."""
    total: np.ndarray
    """(n,) each row's total cell conductance [S] (its rsum{i} to ground; 0: none)."""


def op_crossbar(circuit: CrossbarCircuit) -> OpCrossbar:
    """The crossbar of ``circuit`` in its operating-point form (OpCrossbar)."""
    n, m = circuit.n, circuit.m
    g_plus = np.hstack([circuit.g_w_plus, circuit.g_u_plus, circuit.g_b_plus[:, None]])
    g_minus = np.hstack([circuit.g_w_minus, circuit.g_u_minus, circuit.g_b_minus[:, None]])
    net = g_minus - g_plus
    plus = [f"zp{j}" for j in range(n)] + [f"ep{k}" for k in range(m)] + [REFERENCE_NODE]
    suffix = [f"_{j}" for j in range(n)] + [f"_{k}" for k in range(m)] + [""]
    kind = ["gw"] * n + ["gu"] * m + ["gb"]
    rows, cols = np.nonzero(net)
    rows_, cols_ = rows.tolist(), cols.tolist()
    return OpCrossbar([f"{kind[j]}{i}{suffix[j]}" for i, j in zip(rows_, cols_, strict=True)],
                      [f"s{i}" for i in rows_], [plus[j] for j in cols_], net[rows, cols],
                      (g_plus + g_minus).sum(1))


# --- Kirchhoff network cores (codesign.circuit.network) -------------------------------------

NETWORK_SWITCH_MODELS = ("cd_net_sw", "cd_net_swb")
"""The half-edge switches' models: closed while the bit node is above v_fs / 2, and the
complement (its control taken from ground to the bit node: closed below v_fs / 2)."""


def network_node(i: int) -> str:
    """The node of network state i."""
    return f"u{i}"


def bit_source(q: int) -> str:
    """The source that sets grid point q's bit node (a current source into INPUT_OHM)."""
    return f"ibit{q}"


def bit_node(q: int) -> str:
    """Grid point q's bit node: bit x v_fs volts."""
    return f"bit{q}"


def _network_far(node: int) -> str:
    return "0" if node < 0 else f"m{node}"


def network_elements(circuit, inputs: Sequence[float] | None = None,
                     bits: Sequence[bool] | None = None) -> Iterator[Item]:
    """Every element of a NetworkCircuit (codesign.circuit.network): supplies, the DACs (at
    ``inputs`` [FS], zeros by default) with their +/- drivers, the bit sources (``bits``, 0 by
    default), the reference, the resistors, the half-edge switches, the cubic elements (B
    sources, named bcub*: their value is k [A/V^3]) and the ideal buffers that the ADCs read
    (E sources, zp_i = g_i u_i: unity, or the channel's readout gain)."""
    sup = circuit.config.supplies
    v_fs = circuit.v_fs
    driver = chip_parts(circuit.config).driver
    inputs = [0.0] * circuit.m if inputs is None else list(inputs)
    yield Comment("supplies: drivers and reference (vddi, vssi); vdd, vss unused (no neurons)")
    yield Element("vdd", ("vdd", "0"), sup.vdd_v)
    yield Element("vss", ("vss", "0"), sup.vss_v)
    yield Element("vddi", ("vddi", "0"), sup.input_vdd_v)
    yield Element("vssi", ("vssi", "0"), sup.input_vss_v)
    yield Comment(f"input DACs: ie_k into {INPUT_OHM:g} Ohm sets d_k to e_k * vfs (per sample); "
                  "ideal copies +e_k, -e_k (B sources, only those an injection uses)")
    driven = circuit.inj_inputs >= 0
    used = set() if circuit.current_sources else set(zip(
        circuit.inj_inputs[driven].tolist(), (circuit.inj_sign[driven] > 0).tolist(),
        strict=True))
    for k in range(circuit.m):
        yield from _set_node(input_source(k), input_node(k), float(inputs[k]) * v_fs)
        for positive, name in ((True, f"bdp{k}"), (False, f"bdn{k}")):
            if (k, positive) in used:
                yield Element(name, (f"e{'p' if positive else 'n'}{k}", "0"),
                              1.0 if positive else -1.0, model=input_node(k))
    if circuit.switched:
        bits = [False] * circuit.points if bits is None else list(bits)
        yield Comment(f"bits: ibit_q into {INPUT_OHM:g} Ohm sets bit_q to bit * vfs (per sample)")
        for q in range(circuit.points):
            yield from _set_node(bit_source(q), bit_node(q), float(bool(bits[q])) * v_fs)
    yield Comment("bias reference: +vfs and -vfs")
    yield from _set_node("iref", REFERENCE_DAC_NODE, v_fs)
    yield driver.element(circuit, "xref",
                         (REFERENCE_DAC_NODE, REFERENCE_NODE, "refn", "vddi", "vssi"))
    u = network_node
    yield Comment("node-to-node resistors: edges, then channel couplings (one per coupling)")
    for k, ((a, b), g) in enumerate(zip(circuit.pair_nodes.tolist(), circuit.g_pair.tolist(),
                                        strict=True)):
        yield Element(f"rp{k}", (u(a), u(b)), 1.0 / g)
    yield Comment("resistors to ground: boundary edges (Dirichlet 0 V), then ground")
    for k, (a, g) in enumerate(zip(circuit.ground_nodes.tolist(), circuit.g_ground.tolist(),
                                   strict=True)):
        yield Element(f"rg{k}", (u(a), "0"), 1.0 / g)
    if circuit.switched:
        yield Comment("switched half-edges: a resistor per alternative, its switch closed when "
                      "the grid point's bit equals the alternative")
        for k, (a, mid, q, on, g) in enumerate(zip(
                circuit.half_nodes.tolist(), circuit.half_mid.tolist(),
                circuit.half_point.tolist(), circuit.half_on.tolist(), circuit.g_half.tolist(),
                strict=True)):
            yield Element(f"rh{k}", (u(a), f"h{k}"), 1.0 / g)
            control = (bit_node(q), "0") if on else ("0", bit_node(q))
            yield Element(f"sh{k}", (f"h{k}", _network_far(mid), *control),
                          model=NETWORK_SWITCH_MODELS[0 if on else 1])
    injections = zip(circuit.inj_nodes.tolist(), circuit.inj_inputs.tolist(),
                     circuit.inj_sign.tolist(), circuit.g_inj.tolist(), strict=True)
    biases = zip(circuit.bias_nodes.tolist(), circuit.bias_sign.tolist(),
                 circuit.g_bias.tolist(), strict=True)
    if circuit.current_sources:
        yield Comment("injections: current-output DACs, i = +-g v(d_k) into the node (no load)")
        for k, (a, j, s, g) in enumerate(injections):
            yield Element(f"gi{k}", ("0", u(a), input_node(j), "0"), s * g)
        if len(circuit.g_bias):
            yield Comment("bias: reference currents, i = +-g v(ref) into the node")
        for k, (a, s, g) in enumerate(biases):
            yield Element(f"gb{k}", ("0", u(a), REFERENCE_NODE, "0"), s * g)
    else:
        yield Comment("injections: from the DACs' +e or -e copies (a tap outside the grid: to "
                      "0 V)")
        for k, (a, j, s, g) in enumerate(injections):
            far = "0" if j < 0 else f"ep{j}" if s > 0 else f"en{j}"
            yield Element(f"ri{k}", (far, u(a)), 1.0 / g)
        if len(circuit.g_bias):
            yield Comment("bias: from +vfs or -vfs")
        for k, (a, s, g) in enumerate(biases):
            yield Element(f"rb{k}", (REFERENCE_NODE if s > 0 else "refn", u(a)), 1.0 / g)
    if len(circuit.k_cubic):
        yield Comment("cubic elements: behavioural current sources i = k v^3 to ground")
    for a, k in zip(circuit.cubic_nodes.tolist(), circuit.k_cubic.tolist(), strict=True):
        yield Element(f"bcub{a}", (u(a), "0"), k)
    if circuit.readout_gain is None:
        yield Comment("ideal unity buffers into the ADCs: zp_i = u_i")
    else:
        yield Comment("ideal buffers into the ADCs: zp_i = g_i u_i, g_i the channel's readout "
                      "gain (it spreads the channel over the ADC's range)")
    for i, gain in enumerate(circuit.readout().tolist()):
        yield Element(f"ebuf{i}", (f"zp{i}", "0", u(i), "0"), gain)
