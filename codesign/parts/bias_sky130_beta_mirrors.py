"""The sky130 beta-multiplier reference in the deck (netlists/codesign_sky130_periphery.lib:
cd_bias_ref, on its own rails vddb/vssb) with every bias current of the neurons a PMOS mirror
tap on its pbias: the OTAs' reference currents and the activation pairs' tails come from
drawable transistors, with their mismatch, instead of ideal sources, and the reference's own
current is measured in SPICE with the rest of the chip.

TAPS is one pfet_01v8_lvt tap (l = 4 um, its drain at 0.1 V, tt, 27 C) at each width, measured
in ngspice against the reference alone (``python -m benchmarks.parts`` prints the 4 um tap):
the current per micron falls from 0.29 uA at 0.5-1 um to 0.225 uA above 16 um (narrow-width
effect), so a tap's width is interpolated in this table, not scaled."""

from __future__ import annotations

from codesign.parts.base import Bias, Process

TAPS = ((0.5, 1.410e-07), (1.0, 2.903e-07), (1.5, 4.043e-07), (2.0, 5.192e-07),
        (3.0, 7.500e-07), (4.0, 9.529e-07), (6.0, 1.3568e-06), (8.0, 1.7814e-06),
        (12.0, 2.6830e-06), (16.0, 3.5845e-06), (24.0, 5.3876e-06), (32.0, 7.1907e-06))

PART = Bias("sky130_beta_mirrors", "a sky130 beta-multiplier reference in the deck, every bias "
            "current a mirror tap on it", libraries=("codesign_sky130_periphery.lib",),
            process=Process.SKY130, transistors=10, subckt="cd_bias_ref", supply_a=2.25e-6,
            taps=TAPS)
