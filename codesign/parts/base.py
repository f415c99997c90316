"""What every circuit part is: a kind, a name users choose it by, the SPICE model libraries it
needs, the process it is drawn in, and what it costs (transistors, area); and per kind, how it
becomes elements of a compiled circuit.

A part reads the compiled circuit it belongs to (codesign.circuit.description.CrossbarCircuit)
through the attributes named in each method's docstring; it does not import it (parts lie below
the compiler, which chooses them)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np

from codesign.choices import Choice
from codesign.errors import InputError
from codesign.parts.geometry import part_area
from codesign.parts.items import Element, Nodeset


class PartKind(Choice):
    """The kinds of part a chip is built of."""

    CELL = "cell"
    """A weight: a conductance from a column (driver output) to a row (summing node)."""
    AMPLIFIER = "amplifier"
    """A neuron's summing amplifier."""
    ACTIVATION = "activation"
    """A neuron's activation and its +/- output copies."""
    DRIVER = "driver"
    """A unity buffer making +x and -x copies (the input DACs' and the bias reference's)."""
    RESET = "reset"
    """The switch across a neuron's feedback that starts a transient from reset."""
    BIAS = "bias"
    """The reference whose mirrors stand behind the deck's bias currents."""


class Process(Choice):
    """What a part's devices are drawn in."""

    BEHAVIOURAL = "behavioural"
    """Ideal sources and macromodels: the fast references, nothing anyone could lay out."""
    DISCRETE = "discrete"
    """Discrete-component models (a 2N3904 pair, 1 % resistors)."""
    SKY130 = "sky130"
    """SkyWater sky130 devices (codesign_sky130.lib's corners and mismatch)."""


Circuit = Any

CELL_SUPPLIES = ("vddc", "vssc")
"""The rails of cells that have their own (Cell.rails_v)."""
"""A compiled circuit (codesign.circuit.description.CrossbarCircuit)."""

BIAS_NODES = ("nbias", "pbias")
"""The nets of a bias reference in the deck (Bias.in_deck): its NMOS and PMOS taps' gates."""


@dataclass(frozen=True)
class Part:
    """One circuit part. Subclasses per kind add how it becomes elements."""

    kind: ClassVar[PartKind]
    name: str
    """What users choose it by (a config value)."""
    description: str
    libraries: tuple[str, ...] = ()
    """Model libraries under netlists/ that every deck using it includes, in this order."""
    files: tuple[str, ...] = ()
    """Other files under netlists/ its libraries read (copied with an exported deck)."""
    process: Process = Process.BEHAVIOURAL
    transistors: int = 0
    """Transistors per instance."""
    options: tuple[str, ...] = ()
    """ngspice options a deck with it sets (each an ``.options`` line)."""
    subckt: str = ""
    """Its subcircuit in its last library (what its area is read from)."""
    nominal: tuple[tuple[str, float], ...] = ()
    """Parameters of the subcircuit at which its area is read (its defaults otherwise)."""
    tapped: bool = False
    """Its subcircuit has a ``_tap`` variant taking its reference current from a PMOS tap on
    the chip's bias reference (codesign.parts.registry.tapped), which decks whose reference is
    in the deck (Bias.in_deck) hold instead."""

    def setup(self) -> tuple[str, ...]:
        """ngspice commands run before a deck's analyses (e.g. optran settings)."""
        return ()

    def drawn(self, taps: bool = False) -> str:
        """The subcircuit a deck holds: its ``_tap`` variant where the chip's bias reference
        is in the deck (``taps``) and it has one (``tapped``)."""
        return f"{self.subckt}_tap" if taps and self.tapped else self.subckt

    def transistor_count(self, taps: bool = False) -> int:
        """Transistors per instance as a deck holds it: its ``_tap`` variant (``taps`` and
        ``tapped``) has one more, the PMOS tap in place of the ideal reference source."""
        return self.transistors + (1 if taps and self.tapped else 0)

    def area_um2(self, taps: bool = False) -> float | None:
        """Drawn area of one instance from its devices' geometry [um^2], routing excluded
        (None: a behavioural part, nothing to draw); ``taps``: as in a deck whose bias
        reference is in the deck."""
        if self.process != Process.SKY130 or not self.subckt:
            return None
        return part_area(self.libraries[-1], self.drawn(taps), **dict(self.nominal)).um2

    def behavioural(self, taps: bool = False) -> tuple[str, ...]:
        """Its elements with no device behind them (all of it, for a behavioural part)."""
        if self.process != Process.SKY130 or not self.subckt:
            return (f"{self.kind} {self.name}: behavioural",)
        return part_area(self.libraries[-1], self.drawn(taps),
                         **dict(self.nominal)).behavioural


@dataclass(frozen=True)
class Amplifier(Part):
    kind: ClassVar[PartKind] = PartKind.AMPLIFIER

    def element(self, circuit: Circuit, i: int, nodes: tuple[str, ...]) -> Element:
        """Neuron i's amplifier (nodes: +in, -in, out, vdd, vss)."""
        raise NotImplementedError

    def supply_a(self, circuit: Circuit, i: int) -> float:
        """Neuron i's amplifier's quiescent supply current [A] (what a screen charges it; 0:
        an ideal amplifier draws nothing)."""
        return 0.0

    def gbw_hz(self, circuit: Circuit) -> Any:
        """(n,) a lower bound of each neuron's amplifier gain-bandwidth [Hz] at the circuit's
        bias and load, what the transient stops wait for (codesign.circuit.dynamics); None
        where the part has none (a behavioural amplifier: its config's ``gbw_hz``)."""
        return None

    def noise_gain_floor(self, circuit: Circuit) -> float:
        """The smallest noise gain its delay counts (codesign.parts.ota_speed)."""
        return 0.0


@dataclass(frozen=True)
class Activation(Part):
    kind: ClassVar[PartKind] = PartKind.ACTIVATION
    realises: frozenset[str] | None = None
    """The activations phi it can make (None: any)."""
    separate_supplies: bool = False
    """Draws from rails of its own (vdda, vssa) so its energy is measured apart."""
    behavioural_drivers: int = 1
    """Its +/- output copies per instance made by a behavioural driver (class-B sources with no
    idle current in the deck: the energy card charges each a real sky130 driver's idle
    current). Every activation here has one (a B-source pair or `cd_pm_driver`)."""

    def element(self, circuit: Circuit, i: int, nodes: tuple[str, ...]) -> Element:
        """Neuron i's activation (nodes: x, +z, -z, vdd, vss); ``circuit.activation`` names
        phi, ``circuit.v_fs`` the full scale."""
        raise NotImplementedError

    def guesses(self, circuit: Circuit) -> Iterator[Nodeset]:
        """Bias-point guesses for Newton's method (none by default)."""
        return iter(())

    def draws_mismatch(self, circuit: Circuit) -> bool:
        """Whether compiling it draws random numbers (its own mismatch)."""
        return False

    def driven_by(self, driver: Driver) -> Activation:
        """This activation in a chip whose +/- drivers are ``driver``: the same part where its
        output copies cannot be made by that driver (by default)."""
        return self


@dataclass(frozen=True)
class Driver(Part):
    kind: ClassVar[PartKind] = PartKind.DRIVER
    supply_a: float = 0.0
    """Its idle supply current [A], SPICE-measured on its own at ``supply_v`` (0: a behavioural
    driver, class-B sources that draw only their load current)."""
    supply_v: float = 1.8
    """The rails' span it was measured at [V]."""
    settle_s: float = 0.0
    """Its slower output's 0.1 % settling (of 0.25 V) at worst over the steps and loads of
    benchmarks.parts (into 15.6 kOhm beside 1 pF or a column's line capacitance, and into the
    light loads a chip's columns are, stepping to 0, +0.05 and -0.25 V), SPICE-measured on its
    own at tt, 27 C (0: a behavioural driver, ideal speed)."""

    def element(self, circuit: Circuit, name: str, nodes: tuple[str, ...]) -> Element:
        """A driver (nodes: in, +out, -out, vdd, vss) in ``circuit``'s deck."""
        raise NotImplementedError


@dataclass(frozen=True)
class ResetSwitch(Part):
    kind: ClassVar[PartKind] = PartKind.RESET
    closed_v: float = 1.0
    """Its control voltage while closed [V] (open: ``open_v``)."""
    open_v: float = 0.0
    complementary: bool = False
    """Also driven by the complementary control (closed at open_v, open at closed_v)."""

    def element(self, name: str, nodes: tuple[str, ...]) -> Element:
        """A switch between nodes[0] and nodes[1], controlled by the node nodes[2] (and its
        complement nodes[3] where ``complementary``), with supplies nodes[4], nodes[5]."""
        raise NotImplementedError


class CellWindow(NamedTuple):
    """The conductances a programmable cell can hold: code x g_lsb_s, code = 0 .. codes - 1."""

    g_lsb_s: float
    codes: int

    @property
    def g_max_s(self) -> float:
        return (self.codes - 1) * self.g_lsb_s


@dataclass(frozen=True)
class Cell(Part):
    """A weight cell: one per weight of [W | U | b], from a column line (the driver's copy of
    the weight's sign) to a row (the neuron's summing node)."""

    kind: ClassVar[PartKind] = PartKind.CELL
    window: CellWindow | None = None
    """The conductances it can be programmed to (None: any value, the mapping's window)."""
    rails_v: tuple[float, float] | None = None
    """Its own supply rails (vddc, vssc) [V]: its switches' gate drive (the stored bits'
    logic levels) and bodies; None: none."""

    def elements(self, names: Sequence[str], columns: Sequence[str], others: Sequence[str],
                 rows: Sequence[str], g: Sequence[float]) -> Iterator[Element]:
        """One cell per (name, column node, the column pair's other line, row node,
        conductance [S] > 0)."""
        raise NotImplementedError

    def load_s(self, g):
        """The conductance [S] the column's driver sees through a cell programmed to ``g`` [S]
        (an array; 0 where there is no cell), both ends at 0 V: what it draws from the driver,
        whatever of it reaches the row. A resistor: ``g`` itself."""
        return g

    @property
    def loads_row(self) -> bool:
        """Its deck holds a conductance from the row to analog ground beyond the weight
        (row_load_s is not all zero). A resistor: no."""
        return False

    def row_load_s(self, g: np.ndarray) -> np.ndarray:
        """The conductance [S] a cell programmed to ``g`` [S] (an array; 0 where there is no
        cell) adds from the row (the summing node) to analog ground beyond its weight, as its
        deck holds it: it raises the amplifier's noise gain (its offset and noise reach the
        output that much more). A resistor: none."""
        return np.zeros_like(np.asarray(g, dtype=float))



@dataclass(frozen=True)
class Bias(Part):
    """The chip's bias reference: not in the deck (its mirrors are the deck's ideal bias
    currents), charged by the energy card at its own measured supply current."""

    kind: ClassVar[PartKind] = PartKind.BIAS
    supply_a: float = 0.0
    """Its own supply current [A] (0: an ideal reference)."""
    taps: tuple[tuple[float, float], ...] = ()
    """(width [um], current [A]) of one PMOS mirror tap on its pbias at each width, SPICE-
    measured (increasing): a reference whose mirrors are in the deck. Empty: not in the deck
    (the deck's bias currents are ideal sources; the card charges ``supply_a``)."""

    @property
    def in_deck(self) -> bool:
        """Whether the deck holds the reference and every bias current is a tap on it."""
        return bool(self.taps)

    def element(self, name: str, nodes: tuple[str, ...]) -> Element:
        """The reference (nodes: nbias, pbias, vdd, vss)."""
        return Element(name, nodes, model=self.subckt)

    def tap_width_um(self, current_a: float) -> float:
        """The width [um] of the PMOS tap (l as measured) that mirrors ``current_a`` [A] from
        the reference: the measured widths interpolated (a tap's current is not proportional
        to its width: narrow devices carry more per micron), linear beyond the widest."""
        widths, currents = zip(*self.taps, strict=True)
        if not currents[0] <= current_a:
            raise InputError(f"a bias current of {current_a:.3g} A is below the narrowest "
                             f"tap's {currents[0]:.3g} A; raise it or use "
                             "periphery.bias=sky130_beta (an ideal mirror)")
        if current_a <= currents[-1]:
            return float(np.interp(current_a, currents, widths))
        slope = (currents[-1] - currents[-2]) / (widths[-1] - widths[-2])
        return widths[-1] + (current_a - currents[-1]) / slope
