"""A sky130 MOS differential pair in weak inversion making tanh, behind a resistive attenuator
(codesign_cmos.lib: cd_act_mos_pair); its rails are its own (vdda, vssa) so that its energy is
measured apart from the amplifiers'."""

from __future__ import annotations

from dataclasses import dataclass

from codesign.parts.base import Activation, Circuit, Process
from codesign.parts.items import Element
from codesign.parts.registry import tapped


@dataclass(frozen=True)
class MosPair(Activation):
    def element(self, circuit: Circuit, i: int, nodes: tuple[str, ...]) -> Element:
        """Reads ``circuit.config.neuron.cmos`` (CmosParams)."""
        cmos = circuit.config.neuron.cmos
        att = cmos.attenuation(circuit.v_fs)
        params = (("vfs", circuit.v_fs), ("att", att), ("it", cmos.pair_tail_a),
                  ("ra", (1 - att) * cmos.attenuator_ohm), ("rb", att * cmos.attenuator_ohm))
        return tapped(circuit, Element(f"xact{i}", nodes, model="cd_act_mos_pair",
                                       params=params), cmos.pair_tail_a)

    def draws_mismatch(self, circuit: Circuit) -> bool:
        return circuit.config.neuron.cmos.device_mismatch


PART = MosPair("mos_pair", "a sky130 MOS pair in weak inversion making tanh",
               libraries=("codesign_amplifiers.lib", "codesign_cmos.lib"),
               process=Process.SKY130, tapped=True, transistors=4, realises=frozenset({"tanh"}),
               separate_supplies=True, subckt="cd_act_mos_pair")
