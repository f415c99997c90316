"""A sky130 transmission-gate reset switch (netlists/codesign_sky130_periphery.lib: cd_reset_tg:
nfet 2/0.15 and pfet_lvt 4/0.35), driven by complementary controls at the rails.

Measured in ngspice (tt): on-resistance 0.9-2.6 kOhm over +-0.25 V, off leakage below 1 fA at
85 C (channel only), charge injection -0.9 to +2.2 fC into 1 pF."""

from __future__ import annotations

from dataclasses import dataclass

from codesign.parts.base import Process, ResetSwitch
from codesign.parts.items import Element


@dataclass(frozen=True)
class TransmissionGate(ResetSwitch):
    def element(self, name: str, nodes: tuple[str, ...]) -> Element:
        return Element(f"x{name}", nodes, model=self.subckt)


PART = TransmissionGate("sky130_tg", "a sky130 transmission gate (2 transistors)",
                        libraries=("codesign_sky130_periphery.lib",), process=Process.SKY130,
                        transistors=2, subckt="cd_reset_tg", closed_v=0.9, open_v=-0.9,
                        complementary=True)
