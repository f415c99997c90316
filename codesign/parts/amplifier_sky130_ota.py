"""The sky130 two-stage Miller OTA (codesign_cmos.lib, 8 transistors): its output sink is sized
per neuron for the load its row puts on it."""

from __future__ import annotations

from dataclasses import dataclass

from codesign.parts.base import Amplifier, Circuit, Process
from codesign.parts.items import Element
from codesign.parts.registry import tapped


def cmos_output_ratio(circuit: Circuit, i: int) -> float:
    """k2 of neuron i's OTA: its output sink carries k2 ib, sized for the largest load the row
    puts on it (the feedback conductance and the pair's attenuator at the full swing). Reads
    ``circuit.config.neuron.cmos`` and ``circuit.g_feedback``."""
    cmos = circuit.config.neuron.cmos
    load_a = cmos.output_swing_v * (float(circuit.g_feedback[i]) + 1.0 / cmos.attenuator_ohm)
    return max(2.0, cmos.output_margin * load_a / cmos.ota_bias_a)


@dataclass(frozen=True)
class Sky130Ota(Amplifier):
    def element(self, circuit: Circuit, i: int, nodes: tuple[str, ...]) -> Element:
        """Reads ``circuit.config.neuron.cmos`` (CmosParams)."""
        cmos = circuit.config.neuron.cmos
        params = (("ib", cmos.ota_bias_a), ("k2", cmos_output_ratio(circuit, i)),
                  ("cc", cmos.ota_cc_f), ("rz", cmos.ota_rz_ohm))
        return tapped(circuit, Element(f"xamp{i}", nodes, model=self.name, params=params),
                      cmos.ota_bias_a, drop=("ib",))

    def supply_a(self, circuit: Circuit, i: int) -> float:
        """Its reference ib, tail 2 ib and output sink k2 ib."""
        return circuit.config.neuron.cmos.ota_bias_a * (3 + cmos_output_ratio(circuit, i))


PART = Sky130Ota("cd_ota_sky130", "a sky130 two-stage Miller OTA",
                 libraries=("codesign_cmos.lib",), process=Process.SKY130, tapped=True,
                 transistors=8,
                 subckt="cd_ota_sky130", nominal=(("k2", 4.0),))
