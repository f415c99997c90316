"""A sky130 +/- driver: a class-AB follower makes +x, a class-AB inverter (two 1 MOhm
resistors) makes -x from it (netlists/codesign_sky130_periphery.lib: cd_pm_driver_sky130, 65
transistors, one 0.5 uA reference mirrored to everything), its outputs idling at kq = 32 times
the reference: at the library's default kq = 8 the outputs still ring (10 mV peak to peak)
8 us after a step to 0 V into an open column, which 15.6 kOhm alone had hidden (`python -m
benchmarks.parts --driver-sweep`).

Measured in ngspice (`python -m benchmarks.parts --seeds 30`, docs/results/parts.json): 16.3 uA
quiescent (12.7-20.0 uA over the five corners at 0-85 C), gain +0.007 % / -0.000 %, offset
-1.2 and -0.8 mV systematic, sigma 1.8 mV (+x) and 4.2 mV (-x) over 30 Monte Carlo seeds; the slower
output settles to 0.1 % of 0.25 V in at most 4.64 us at tt 27 C over every load and level the
benchmark steps it through (3.5 us into 15.6 kOhm with 1 pF or a column's 3.9 pF), 4.95 us over
the corners: its 3 pF Miller capacitors and long mirrors set it, not the load.
"""

from __future__ import annotations

from dataclasses import dataclass

from codesign.parts.base import Circuit, Driver, Process
from codesign.parts.geometry import model_library_dir, spice_number, subckts
from codesign.parts.items import Element
from codesign.parts.registry import tapped


@dataclass(frozen=True)
class Sky130Driver(Driver):
    def element(self, circuit: Circuit, name: str, nodes: tuple[str, ...]) -> Element:
        """The driver at its parameters; where the chip's bias reference is in the deck, its
        ``_tap`` variant, whose reference current is a PMOS tap on that reference."""
        return tapped(circuit, Element(name, nodes, model=self.subckt, params=self.nominal),
                      self.reference_a, drop=("ib",))

    @property
    def reference_a(self) -> float:
        """Its one reference current [A] (``ib``: its own, else its subcircuit's default)."""
        given = dict(self.nominal)
        if "ib" in given:
            return float(given["ib"])
        table = subckts(model_library_dir() / self.libraries[-1])
        return float(spice_number(table[self.subckt].params["ib"]))


PART = Sky130Driver("sky130_ab", "sky130 class-AB follower and inverter (65 transistors, "
                    "16.3 uA)", libraries=("codesign_sky130_periphery.lib",),
                    process=Process.SKY130, transistors=65, subckt="cd_pm_driver_sky130",
                    tapped=True, nominal=(("kq", 32.0),), supply_a=16.3e-6, supply_v=1.8,
                    settle_s=4.64e-6)
