"""A sky130 beta-multiplier (constant-gm) reference with its start-up
(netlists/codesign_sky130_periphery.lib: cd_bias_ref, 10 transistors and an 80 kOhm resistor):
about 1 uA per mirror tap, 64 NMOS and 64 PMOS taps checked, drawing 2.25 uA itself at tt, 27 C
(2.00-2.68 uA over corners and 0-85 C; `python -m benchmarks.parts`). The deck keeps its
mirrors as ideal currents; the energy card charges its own current."""

from __future__ import annotations

from codesign.parts.base import Bias, Process

PART = Bias("sky130_beta", "a sky130 beta-multiplier reference, 2.25 uA itself",
            libraries=("codesign_sky130_periphery.lib",), process=Process.SKY130,
            transistors=10, subckt="cd_bias_ref", supply_a=2.25e-6)
