"""The items a compiled circuit is made of, in SI units: elements, comments and bias-point
guesses. Parts (codesign.parts) emit them, the netlist writers (codesign.netlist) format them."""

from __future__ import annotations

from typing import NamedTuple


class Element(NamedTuple):
    """One element. The first letter of ``name`` is its SPICE type: r [Ohm], c [F], v [V] and
    i [A] (a dc ``value``, and in transients a ``wave``), s (a voltage-controlled switch of
    ``model``), x (subcircuit ``model`` with ``params``)."""

    name: str
    nodes: tuple[str, ...]
    value: float = 0.0
    model: str = ""
    params: tuple[tuple[str, float], ...] = ()
    wave: tuple[str, tuple[float, ...]] | None = None
    """A source's transient waveform: ("pulse", (v1, v2, td, tr, tf, pw, per)) or
    ("pwl", (t0, v0, t1, v1, ...)), in SI units."""


class Comment(NamedTuple):
    """A line of explanation between elements."""

    text: str


class Nodeset(NamedTuple):
    """An initial guess for the DC solution [V] (a hint to Newton's method, not a constraint)."""

    node: str
    volts: float


Item = Element | Comment | Nodeset
