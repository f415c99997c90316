"""The compiled circuit as a flat list of typed elements, in SI units.

The one place that decides the topology: node names, element names, which source drives which
cell. The SPICE writer (codesign.netlist.spice) formats these as text, the PySpice conversion
(codesign.netlist.pyspice) builds PySpice objects from them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from codesign.circuit.description import CrossbarCircuit

ACTIVATION_SUBCKT = {
    "tanh": "cd_act_tanh",
    "identity": "cd_act_identity",
    "hardclip": "cd_act_hardclip",
}
CORE_SUPPLIES = ("vdd", "vss")
INPUT_SUPPLIES = ("vddi", "vssi")


class Element(NamedTuple):
    """One element. The first letter of ``name`` is its SPICE type: r [Ohm], c [F], v [V dc],
    x (subcircuit ``model`` with ``params``)."""

    name: str
    nodes: tuple[str, ...]
    value: float = 0.0
    model: str = ""
    params: tuple[tuple[str, float], ...] = ()


class Comment(NamedTuple):
    """A line of explanation between elements."""

    text: str


Item = Element | Comment


def input_source(k: int) -> str:
    """Name of the DAC voltage source of core input k."""
    return f"ve{k}"


def _opamp(circuit: CrossbarCircuit, i: int) -> Element:
    amp = circuit.config.neuron.opamp
    params: tuple[tuple[str, float], ...] = (("a0", amp.dc_gain),)
    if amp.model != "cd_opamp_ideal":
        params += (
            ("gbw", amp.gbw_hz),
            ("vos", float(circuit.offset_v[i])),
            ("iq", amp.quiescent_a),
            ("voh", amp.rail_high_v),
            ("vol", amp.rail_low_v),
        )
    return Element(f"xamp{i}", ("0", f"s{i}", f"x{i}", "vdd", "vss"), model=amp.model,
                   params=params)


def _neurons(circuit: CrossbarCircuit) -> Iterator[Item]:
    act = ACTIVATION_SUBCKT[circuit.activation]
    for i in range(circuit.n):
        yield Comment(f"neuron {i}")
        yield _opamp(circuit, i)
        yield Element(f"rf{i}", (f"s{i}", f"x{i}"), 1.0 / float(circuit.g_feedback[i]))
        yield Element(f"cf{i}", (f"s{i}", f"x{i}"), float(circuit.c_feedback[i]))
        yield Element(f"xact{i}", (f"x{i}", f"zp{i}", f"zn{i}", "vdd", "vss"), model=act,
                      params=(("vfs", circuit.v_fs),))


def _cells(prefix: str, g: np.ndarray, sources: list[str]) -> Iterator[Element]:
    """A resistor from ``sources[j]`` into summing node s_i for every g[i, j] > 0."""
    rows, cols = np.nonzero(g)
    ohms = 1.0 / g[rows, cols]
    for i, j, r in zip(rows.tolist(), cols.tolist(), ohms.tolist(), strict=True):
        yield Element(f"r{prefix}{i}_{j}", (sources[j], f"s{i}"), r)


def _crossbar(circuit: CrossbarCircuit) -> Iterator[Item]:
    n, m = circuit.n, circuit.m
    yield Comment("recurrent crossbar W: plus cells from -phi_j, minus cells from +phi_j")
    yield from _cells("wp", circuit.g_w_plus, [f"zn{j}" for j in range(n)])
    yield from _cells("wm", circuit.g_w_minus, [f"zp{j}" for j in range(n)])
    yield Comment("input crossbar U: plus cells from -e_k, minus cells from +e_k")
    yield from _cells("up", circuit.g_u_plus, [f"en{k}" for k in range(m)])
    yield from _cells("um", circuit.g_u_minus, [f"ep{k}" for k in range(m)])
    yield Comment("bias column b: plus cells from -vfs, minus cells from +vfs")
    yield from _cells("bp", circuit.g_b_plus[:, None], ["refn"])
    yield from _cells("bm", circuit.g_b_minus[:, None], ["refp"])


def _sources(circuit: CrossbarCircuit, inputs: Sequence[float]) -> Iterator[Item]:
    sup = circuit.config.supplies
    yield Comment("supplies: neurons (vdd, vss), input DACs and bias reference (vddi, vssi)")
    yield Element("vdd", ("vdd", "0"), sup.vdd_v)
    yield Element("vss", ("vss", "0"), sup.vss_v)
    yield Element("vddi", ("vddi", "0"), sup.input_vdd_v)
    yield Element("vssi", ("vssi", "0"), sup.input_vss_v)
    yield Comment("input DACs: ve_k sets e_k * vfs (per sample), a driver makes +e_k and -e_k")
    for k in range(circuit.m):
        yield Element(input_source(k), (f"d{k}", "0"), float(inputs[k]) * circuit.v_fs)
        yield Element(f"xdac{k}", (f"d{k}", f"ep{k}", f"en{k}", "vddi", "vssi"),
                      model="cd_pm_driver")
    yield Comment("bias reference: +vfs and -vfs")
    yield Element("vref", ("dref", "0"), circuit.v_fs)
    yield Element("xref", ("dref", "refp", "refn", "vddi", "vssi"), model="cd_pm_driver")


def circuit_elements(circuit: CrossbarCircuit,
                     inputs: Sequence[float] | None = None) -> Iterator[Item]:
    """Every element of ``circuit``: sources (DACs at ``inputs``, units of full scale, zeros by
    default), neurons, crossbar cells."""
    yield from _sources(circuit, [0.0] * circuit.m if inputs is None else inputs)
    yield from _neurons(circuit)
    yield from _crossbar(circuit)
