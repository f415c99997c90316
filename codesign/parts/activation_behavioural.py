"""A B-source computing phi exactly, with ideal +/- copies (codesign_neurons.lib)."""

from __future__ import annotations

from dataclasses import dataclass

from codesign.parts.base import Activation, Circuit
from codesign.parts.items import Element

SUBCKT = {"tanh": "cd_act_tanh", "identity": "cd_act_identity", "hardclip": "cd_act_hardclip"}


@dataclass(frozen=True)
class BehaviouralActivation(Activation):
    def element(self, circuit: Circuit, i: int, nodes: tuple[str, ...]) -> Element:
        return Element(f"xact{i}", nodes, model=SUBCKT[circuit.activation],
                       params=(("vfs", circuit.v_fs),))


PART = BehaviouralActivation("behavioural", "a B-source computing phi exactly",
                             libraries=("codesign_neurons.lib",), realises=frozenset(SUBCKT))
