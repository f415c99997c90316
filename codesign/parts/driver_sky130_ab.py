"""A sky130 +/- driver: a class-AB follower makes +x, a class-AB inverter (two 1 MOhm
resistors) makes -x from it (netlists/codesign_sky130_periphery.lib: cd_pm_driver_sky130, 65
transistors, one 0.5 uA reference mirrored to everything).

Measured in ngspice (tt, 27 C, into 15.6 kOhm || 1 pF): 11.5 uA quiescent (10.8-11.9 uA over
the five corners at 0-85 C), gain +0.006 % / -0.003 %, offset -1.4 mV systematic, sigma 1.7 mV
(+x) and 3.4 mV (-x) over 30 Monte Carlo seeds, 2.3 us (+x) and 3.6 us (-x) to 0.1 % after a
0.25 V step, with 1 pF or with a column's 3.9 pF beside the 15.6 kOhm (2.1-2.7 and 3.4-4.1 us
over the corners): its 3 pF Miller capacitors and long mirrors set it, not the load (`python -m
benchmarks.parts --seeds 30`, docs/results/parts.json).
"""

from __future__ import annotations

from dataclasses import dataclass

from codesign.parts.base import Driver, Process
from codesign.parts.items import Element


@dataclass(frozen=True)
class Sky130Driver(Driver):
    def element(self, name: str, nodes: tuple[str, ...]) -> Element:
        return Element(name, nodes, model=self.subckt, params=self.nominal)


PART = Sky130Driver("sky130_ab", "sky130 class-AB follower and inverter (65 transistors, "
                    "11.5 uA)", libraries=("codesign_sky130_periphery.lib",),
                    process=Process.SKY130, transistors=65, subckt="cd_pm_driver_sky130",
                    supply_a=11.5e-6, supply_v=1.8, settle_s=3.55e-6)
