"""The behavioural +/- driver (codesign_amplifiers.lib: cd_pm_driver): class-B B-sources with
no quiescent current."""

from __future__ import annotations

from dataclasses import dataclass

from codesign.parts.base import Circuit, Driver
from codesign.parts.items import Element


@dataclass(frozen=True)
class BehaviouralDriver(Driver):
    def element(self, circuit: Circuit, name: str, nodes: tuple[str, ...]) -> Element:
        return Element(name, nodes, model="cd_pm_driver")


PART = BehaviouralDriver("behavioural", "ideal +x / -x copies (class-B B-sources)",
                         libraries=("codesign_amplifiers.lib",))
