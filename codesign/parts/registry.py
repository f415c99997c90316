"""The registry of parts: every module of this package that defines ``PART`` (or ``PARTS``, a
part's fidelities) adds it (a new part is one module, plus its model library under netlists/),
and ``chip_parts`` picks a
circuit's parts from its config."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import Any, NamedTuple

from codesign.errors import InputError
from codesign.parts.base import (
    BIAS_NODES,
    Activation,
    Amplifier,
    Bias,
    Cell,
    Driver,
    Part,
    PartKind,
    Process,
    ResetSwitch,
)
from codesign.parts.items import Element

INFRASTRUCTURE = frozenset({"base", "geometry", "items", "ota_speed", "registry"})
"""The package's modules that are not parts (shared by the part modules)."""


@lru_cache(maxsize=1)
def registry() -> dict[tuple[PartKind, str], Part]:
    """(kind, name) -> part, from every part module of this package."""
    package = importlib.import_module("codesign.parts")
    parts: dict[tuple[PartKind, str], Part] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name in INFRASTRUCTURE:
            continue
        module = importlib.import_module(f"codesign.parts.{info.name}")
        found = getattr(module, "PARTS", ()) + ((module.PART,) if hasattr(module, "PART") else ())
        for part in found:
            key = (part.kind, part.name)
            if key in parts:
                raise RuntimeError(f"two {part.kind} parts are named {part.name!r}")
            parts[key] = part
    return parts


def names(kind: PartKind) -> list[str]:
    """The names of every part of ``kind``."""
    return sorted(name for k, name in registry() if k == kind)


def get_part(kind: PartKind | str, name: str) -> Part:
    """The part of ``kind`` named ``name``; InputError lists the valid names."""
    kind = PartKind.parse(kind, "part kind")
    try:
        return registry()[(kind, name)]
    except (KeyError, TypeError):
        raise InputError(f"unknown {kind} {name!r}; use one of: "
                         f"{', '.join(names(kind))}") from None


class ChipParts(NamedTuple):
    """The parts one circuit config is built of."""

    cell: Cell
    amplifier: Amplifier
    activation: Activation
    driver: Driver
    reset: ResetSwitch | None
    bias: Bias

    def all(self) -> tuple[Part, ...]:
        return tuple(p for p in self if p is not None)

    def in_deck(self) -> tuple[Part, ...]:
        """The parts whose elements the deck holds (of a bias reference not in the deck, its
        mirrors only, as ideal sources)."""
        return tuple(p for p in self.all() if p.kind != PartKind.BIAS or self.bias.in_deck)

    def libraries(self) -> tuple[str, ...]:
        """Every model library the deck's parts need, each once, in the parts' order."""
        return tuple(dict.fromkeys(name for p in self.in_deck() for name in p.libraries))

    @property
    def process(self) -> Process | None:
        """The process a deck must include (sky130), None if no part needs one."""
        return Process.SKY130 if any(p.process == Process.SKY130 for p in self.in_deck()) \
            else None

    def options(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(o for p in self.all() for o in p.options))

    def setup(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(cmd for p in self.all() for cmd in p.setup()))

    def sky130_transistors_per_neuron(self, n: int = 0, m: int = 0) -> int:
        """The sky130 transistors per neuron of an n x m core: its amplifier, activation and
        reset switch, its row's n + m + 1 cells, and its share of the m + 1 drivers (about
        20 kB of ngspice memory each: codesign.limits)."""
        def sky130(part) -> int:
            return part.transistor_count(self.bias.in_deck) if part is not None \
                and part.process == Process.SKY130 else 0
        own = sum(sky130(p) for p in (self.amplifier, self.activation, self.reset))
        drivers = -(-(m + 1) * sky130(self.driver) // n) if n else 0
        return own + (n + m + 1) * sky130(self.cell) * (n > 0) + drivers

    def behavioural(self) -> list[str]:
        """Every element of its parts with no device behind it."""
        return [b for p in self.all() for b in p.behavioural(self.bias.in_deck)]

    def describe(self) -> str:
        return "; ".join(f"{p.kind} {p.name}" for p in self.all())


def tapped(circuit: Any, element: Element, current_a: float,
           drop: tuple[str, ...] = ()) -> Element:
    """``element``, a subcircuit whose reference current ``current_a`` [A] comes from an ideal
    source, as its ``_tap`` variant where the chip's bias reference is in the deck
    (Bias.in_deck): the same subcircuit with that current from a PMOS tap on the reference's
    pbias (a pin before the two supplies, its width ``tapw`` [um]), without the ``drop``
    parameters the variant does not take. Unchanged otherwise."""
    bias = chip_parts(circuit.config).bias
    if not bias.in_deck:
        return element
    params = tuple(p for p in element.params if p[0] not in drop)
    return element._replace(nodes=(*element.nodes[:-2], BIAS_NODES[1], *element.nodes[-2:]),
                            model=f"{element.model}_tap",
                            params=(*params, ("tapw", bias.tap_width_um(current_a))))


def chip_parts(config: Any) -> ChipParts:
    """The parts of a circuit config (codesign.circuit.config.CircuitConfig): the amplifier by
    ``neuron.opamp.model``, the activation by ``neuron.activation_circuit``, the cell by
    ``array.cell``, the driver and reset switch by ``periphery`` (a reset switch only where
    ``neuron.reset`` is switched)."""
    neuron, periphery = config.neuron, config.periphery
    return _parts(str(config.array.cell), neuron.opamp.model, str(neuron.activation_circuit),
                  periphery.driver,
                  periphery.reset if str(neuron.reset) == "switched" else None, periphery.bias)


@lru_cache(maxsize=64)
def _parts(cell: str, amplifier: str, activation: str, driver: str,
           reset: str | None, bias: str) -> ChipParts:
    chosen = get_part(PartKind.DRIVER, driver)
    return ChipParts(cell=get_part(PartKind.CELL, cell),
                     amplifier=get_part(PartKind.AMPLIFIER, amplifier),
                     activation=get_part(PartKind.ACTIVATION, activation).driven_by(chosen),
                     driver=chosen,
                     reset=None if reset is None else get_part(PartKind.RESET, reset),
                     bias=get_part(PartKind.BIAS, bias))
