"""The behavioural reset switch (codesign_cmos.lib: a voltage-controlled switch of 1 Ohm on,
1e15 Ohm off)."""

from __future__ import annotations

from dataclasses import dataclass

from codesign.parts.base import ResetSwitch
from codesign.parts.items import Element


@dataclass(frozen=True)
class BehaviouralReset(ResetSwitch):
    def element(self, name: str, nodes: tuple[str, ...]) -> Element:
        return Element(name, (*nodes[:3], "0"), model="cd_reset_switch")


PART = BehaviouralReset("behavioural", "an ideal voltage-controlled switch",
                        libraries=("codesign_cmos.lib",))
