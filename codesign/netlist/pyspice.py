"""Our circuit as a PySpice ``Circuit``, for users who work in PySpice.

Built from the same typed element list as the SPICE writer, so both describe one topology.
PySpice's element objects are slow for big cores (seconds for n = 512, against a fraction of a
second for codesign's writer): codesign's own simulations never go through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from codesign.errors import InputError, NgspiceNotFoundError
from codesign.netlist.elements import Element, circuit_elements
from codesign.netlist.library import LIBRARY_FILES, library_dir, part_libraries
from codesign.parts import Process, chip_parts

if TYPE_CHECKING:
    from codesign.circuit.description import CrossbarCircuit


def _circuit_class():
    try:
        # deferred: PySpice (GPL-3, optional) loads only for the conversion
        from PySpice.Spice.Netlist import Circuit
    except ImportError:
        raise NgspiceNotFoundError(
            "PySpice is not installed; install it with `pip install codesign[pyspice]`"
        ) from None
    return Circuit


def _node(name: str):
    return 0 if name == "0" else name


def _add(circuit, element: Element) -> None:
    kind, suffix = element.name[0], element.name[1:]
    nodes = [_node(n) for n in element.nodes]
    if kind == "x":
        circuit.X(suffix, element.model, *nodes, **dict(element.params))
    elif kind == "r":
        circuit.R(suffix, *nodes, element.value)
    elif kind == "c":
        circuit.C(suffix, *nodes, element.value)
    elif kind == "v":
        circuit.V(suffix, *nodes, element.value)
    elif kind == "i":
        circuit.I(suffix, *nodes, element.value)
    else:  # pragma: no cover - circuit_elements only yields the kinds above
        raise ValueError(f"unknown element kind {element.name!r}")


def to_pyspice(circuit: CrossbarCircuit, inputs: Sequence[float] | None = None,
               title: str = "codesign crossbar equilibrium core"):
    """A PySpice Circuit of ``circuit`` with the DAC sources set to ``inputs`` (units of full
    scale; zeros by default)."""
    if chip_parts(circuit.config).process == Process.SKY130:
        raise InputError("the PySpice conversion covers the ideal, opamp and transistor levels; "
                         "write a chip with sky130 parts with `codesign export`")
    Circuit = _circuit_class()
    result = Circuit(title)
    for name in LIBRARY_FILES + part_libraries(circuit.config):
        result.include(str(library_dir() / name))
    for item in circuit_elements(circuit, inputs):
        if isinstance(item, Element):
            _add(result, item)
    return result
