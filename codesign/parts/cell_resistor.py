"""An ideal resistor per weight, of any value (the behavioural levels' cell: the fast
reference; its conductance window is the mapping's, not a device's)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from codesign.parts.base import Cell
from codesign.parts.items import Element


@dataclass(frozen=True)
class ResistorCell(Cell):
    def elements(self, names: Sequence[str], columns: Sequence[str], others: Sequence[str],
                 rows: Sequence[str], g: Sequence[float]) -> Iterator[Element]:
        for name, column, row, conductance in zip(names, columns, rows, g, strict=True):
            yield Element(f"r{name}", (column, row), 1.0 / conductance)


PART = ResistorCell("resistor", "an ideal resistor of any value per weight")
