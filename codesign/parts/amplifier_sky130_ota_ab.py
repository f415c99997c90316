"""The sky130 two-stage OTA with a class-AB output (codesign_cmos_ab.lib, 17 transistors): a
push-pull output biased by a floating class-AB control: its output stage idles at about ib and
sources or sinks the row's load current only when the output needs it. It idles at about 4 ib from
the supply (3.95 uA at ib = 1 uA, tt) whatever the load, where cd_ota_sky130 idles at (3 + k2) ib
with k2 sized for the row's largest load (9.9 uA at k2 = 5.5); nothing is sized per neuron.
``python -m benchmarks.amplifier_ab`` measures both side by side.

Choose it with ``--neuron cmos --set neuron.opamp.model=cd_ota_ab_sky130``; it reads the same
CmosParams (ota_bias_a, ota_cc_f, ota_rz_ohm) as cd_ota_sky130."""

from __future__ import annotations

from dataclasses import dataclass

from codesign.parts.base import Amplifier, Circuit, Process
from codesign.parts.items import Element
from codesign.parts.registry import tapped

IDLE_RATIO = 3.95
"""Idle supply current / ib: 3.95 uA at ib = 1 uA, tt, SPICE (python -m benchmarks.amplifier_ab);
3.87-4.03 over the ss, ff, sf and fs corners."""


@dataclass(frozen=True)
class Sky130OtaAb(Amplifier):
    def element(self, circuit: Circuit, i: int, nodes: tuple[str, ...]) -> Element:
        """Reads ``circuit.config.neuron.cmos`` (CmosParams)."""
        cmos = circuit.config.neuron.cmos
        params = (("ib", cmos.ota_bias_a), ("cc", cmos.ota_cc_f), ("rz", cmos.ota_rz_ohm))
        return tapped(circuit, Element(f"xamp{i}", nodes, model=self.name, params=params),
                      cmos.ota_bias_a, drop=("ib",))

    def supply_a(self, circuit: Circuit, i: int) -> float:
        """Its idle current, IDLE_RATIO ib (the load current it sources on demand on top)."""
        return IDLE_RATIO * circuit.config.neuron.cmos.ota_bias_a


# Its decks set rshunt=1e12 (1 pS from every node to ground, 1e-4 of the smallest cell
# conductance, and nothing at the virtual-ground rows): without it, ngspice 46's KLU solver took
# 12,348 Newton iterations for a 25 us transient of a 12-neuron cmos chip with this amplifier,
# against 270 with it or with Sparse 1.3 (263 with cd_ota_sky130); a shunt on the activations'
# B-source node (cd_act_mos_pair's a) alone did the same.
PART = Sky130OtaAb("cd_ota_ab_sky130", "a sky130 two-stage OTA with a class-AB output",
                   libraries=("codesign_cmos_ab.lib",), process=Process.SKY130, tapped=True,
                   transistors=17,
                   options=("rshunt=1e12",), subckt="cd_ota_ab_sky130")
