"""The ideal summing amplifier: a VCVS of gain a0, no rails, no supply current."""

from __future__ import annotations

from dataclasses import dataclass

from codesign.parts.base import Amplifier, Circuit
from codesign.parts.items import Element


@dataclass(frozen=True)
class IdealAmplifier(Amplifier):
    def element(self, circuit: Circuit, i: int, nodes: tuple[str, ...]) -> Element:
        """Reads ``circuit.config.neuron.opamp.dc_gain``."""
        amp = circuit.config.neuron.opamp
        return Element(f"xamp{i}", nodes, model=self.name, params=(("a0", amp.dc_gain),))


PART = IdealAmplifier("cd_opamp_ideal", "an ideal VCVS (codesign_amplifiers.lib)",
                      libraries=("codesign_amplifiers.lib",))
