"""The sky130 +/- driver of driver_sky130_ab (cd_pm_driver_sky130, 65 transistors) sized for
speed into a column instead of for precision: short mirrors (l = 1 um, where sky130_ab's are
8 um long) and input pair, Miller capacitors of 0.3 pF behind 80 kOhm (3 pF with none), an input
tail of 3 ib (2 ib), a 0.35 uA reference (0.5 uA), 200 kOhm inverter resistors (1 MOhm), and
its output idling at kq = 32 (as sky130_ab's).

The output's idle current is what keeps it stable. At kq = 4 (this part until it was found) it
settled into 15.6 kOhm in 0.39 us, but into the loads a chip's columns are (a few cells' codes
times 15.6 nS: hundreds of kOhm to open, beside the cells' capacitance) and near 0 V, where a
class-AB output carries only its idle current, it rang for good (55 mV peak to peak into an
open 8-cell column), and a chip with it never settled. At kq = 8 its worst step takes 3.3 us,
16: 1.2 us, 32: 0.71 us; the Miller resistor at 80 kOhm brings that to 0.48 us and at 120 kOhm
it oscillates again (`python -m benchmarks.parts --driver-sweep`).

Measured in ngspice (`python -m benchmarks.parts --seeds 30`, docs/results/parts.json): 16.9 uA
quiescent (12.8-22.7 uA over the five corners at 0 and 85 C); the slower output settles to 0.1 %
of 0.25 V in at most 0.48 us at tt 27 C over every load and level the benchmark steps it through
(15.6 kOhm with 1 pF or a column's 3.9 pF; open with 8 or 64 cells' capacitance and 250 kOhm
with 64, stepping to 0, +0.05 and -0.25 V), at most 0.60 us over the corners, and rings by
less than 0.1 mV afterwards. Gain -0.03 % / -0.06 %. What the speed costs is the short mirrors'
mismatch: an offset of +5.6 and +5.0 mV, sigma 7.8 mV (+x) and 15.9 mV (-x) over 30 Monte Carlo
seeds, against sky130_ab's 1.8 and 4.2 mV. A static offset moves each neuron by a constant current,
which the chip instance's per-neuron trim absorbs.
"""

from __future__ import annotations

from codesign.parts.base import Process
from codesign.parts.driver_sky130_ab import Sky130Driver

PART = Sky130Driver("sky130_ab_fast", "sky130 class-AB follower and inverter sized for a "
                    "column's load (65 transistors, 16.9 uA, 0.48 us)",
                    libraries=("codesign_sky130_periphery.lib",), process=Process.SKY130,
                    transistors=65, subckt="cd_pm_driver_sky130",
                    tapped=True,
                    nominal=(("ib", 0.35e-6), ("kt", 3.0), ("kq", 32.0), ("cc", 0.3e-12),
                             ("rz", 8e4), ("rf", 2e5), ("lin", 1.0), ("l1", 1.0), ("lb", 1.0)),
                    supply_a=16.9e-6, supply_v=1.8, settle_s=0.48e-6)
