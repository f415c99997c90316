"""The sky130 +/- driver of driver_sky130_ab (cd_pm_driver_sky130, 65 transistors) sized for
speed into a column of 64 cells instead of for precision: short mirrors (l = 1 um, where
sky130_ab's are 8 um long) and input pair, Miller capacitors of 0.3 pF with 20 kOhm in series
(3 pF with none), an input tail of 3 ib (2 ib), an output idling at 4 ib (8 ib), a 0.35 uA
reference (0.5 uA) and 200 kOhm inverter resistors (1 MOhm).

Measured in ngspice (`python -m benchmarks.parts --seeds 30`, docs/results/parts.json): 10.5 uA
quiescent (9.9-11.3 uA over the five corners at 0 and 85 C); after a 0.25 V step into a column's
load (64 cells' 3.9 pF beside 15.6 kOhm) the +x output settles to 0.1 % in 0.29 us and -x in
0.39 us (0.27-0.35 and 0.36-0.43 us over the corners); gain -0.04 % / -0.07 %. What the speed
costs is the short mirrors' mismatch: an offset of +3.9 mV, sigma 6.6 mV (+x) and 14.3 mV (-x)
over 30 Monte Carlo seeds, against sky130_ab's 1.7 and 3.4 mV. A static offset moves each
neuron by a constant current, which the chip instance's per-neuron trim absorbs.
"""

from __future__ import annotations

from codesign.parts.base import Process
from codesign.parts.driver_sky130_ab import Sky130Driver

PART = Sky130Driver("sky130_ab_fast", "sky130 class-AB follower and inverter sized for a "
                    "column's load (65 transistors, 10.5 uA, 0.39 us)",
                    libraries=("codesign_sky130_periphery.lib",), process=Process.SKY130,
                    transistors=65, subckt="cd_pm_driver_sky130",
                    nominal=(("ib", 0.35e-6), ("kt", 3.0), ("kq", 4.0), ("cc", 0.3e-12),
                             ("rz", 2e4), ("rf", 2e5), ("lin", 1.0), ("l1", 1.0), ("lb", 1.0)),
                    supply_a=10.5e-6, supply_v=1.8, settle_s=0.39e-6)
