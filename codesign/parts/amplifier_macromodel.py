"""The single-pole op-amp macromodel: DC gain, gain-bandwidth, offset, quiescent current and
output rails (codesign_amplifiers.lib)."""

from __future__ import annotations

from dataclasses import dataclass

from codesign.parts.base import Amplifier, Circuit
from codesign.parts.items import Element


@dataclass(frozen=True)
class MacromodelAmplifier(Amplifier):
    def element(self, circuit: Circuit, i: int, nodes: tuple[str, ...]) -> Element:
        """Reads ``circuit.config.neuron.opamp`` and neuron i's ``circuit.offset_v``."""
        amp = circuit.config.neuron.opamp
        params = (("a0", amp.dc_gain), ("gbw", amp.gbw_hz), ("vos", float(circuit.offset_v[i])),
                  ("iq", amp.quiescent_a), ("voh", amp.rail_high_v), ("vol", amp.rail_low_v))
        return Element(f"xamp{i}", nodes, model=self.name, params=params)


PART = MacromodelAmplifier("cd_opamp_1p", "a single-pole op-amp macromodel with rails",
                           libraries=("codesign_amplifiers.lib",))
