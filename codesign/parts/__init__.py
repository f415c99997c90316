"""Circuit parts: weight cells, summing amplifiers, activations, drivers, reset switches. Each
part is one module here (defining ``PART``) plus its model library under netlists/; the
registry finds it, configs choose it by name, and the compiler (codesign.netlist.elements) asks
it for its elements.
"""

from codesign.parts.base import (
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
from codesign.parts.registry import ChipParts, chip_parts, get_part, names, registry

__all__ = ["Activation", "Amplifier", "Bias", "Cell", "ChipParts", "Driver", "Part", "PartKind",
           "Process", "ResetSwitch", "chip_parts", "get_part", "names", "registry"]
