"""A sky130 MOS differential pair in weak inversion making tanh, behind a resistive attenuator
(codesign_cmos.lib: cd_act_mos_pair); its rails are its own (vdda, vssa) so that its energy is
measured apart from the amplifiers'."""

from __future__ import annotations

from dataclasses import dataclass

from codesign.parts.base import Activation, Circuit, Driver, Process
from codesign.parts.geometry import part_area
from codesign.parts.items import Element
from codesign.parts.registry import chip_parts, tapped

DRIVEN_SUBCKT = "cd_act_mos_pair_sd"
"""The pair read out by a PMOS mirror with a sky130 driver's +/- copies (MosPair.driven_by)."""


@dataclass(frozen=True)
class MosPair(Activation):
    def element(self, circuit: Circuit, i: int, nodes: tuple[str, ...]) -> Element:
        """Reads ``circuit.config.neuron.cmos`` (CmosParams)."""
        cmos = circuit.config.neuron.cmos
        att = cmos.attenuation(circuit.v_fs)
        params = (("vfs", circuit.v_fs), ("att", att), ("it", cmos.pair_tail_a),
                  ("ra", (1 - att) * cmos.attenuator_ohm), ("rb", att * cmos.attenuator_ohm))
        return tapped(circuit, Element(f"xact{i}", nodes, model=self.subckt,
                                       params=params + self.nominal), cmos.pair_tail_a)

    def draws_mismatch(self, circuit: Circuit) -> bool:
        return circuit.config.neuron.cmos.device_mismatch

    def driven_by(self, driver: Driver) -> Activation:
        """Where the chip's +/- drivers are a sky130 driver on cd_pm_driver_sky130, its output
        copies are that driver too (cd_act_mos_pair_sd, at the driver's parameters), read out
        by a PMOS mirror instead of the ideal ``ba``: its idle current then flows in the pair's
        own rails, and its speed and the readout's are inside the loop."""
        if driver.process != Process.SKY130 or driver.subckt != "cd_pm_driver_sky130":
            return self
        own = part_area(self.libraries[-1], DRIVEN_SUBCKT).transistors
        return DrivenMosPair(
            f"{self.name}+{driver.name}",
            f"{self.description}, read out by a PMOS mirror, its +/- copies by {driver.name}",
            libraries=tuple(dict.fromkeys((*driver.libraries, *self.libraries))),
            process=Process.SKY130, tapped=True, transistors=own + driver.transistors,
            realises=self.realises, separate_supplies=True, subckt=DRIVEN_SUBCKT,
            behavioural_drivers=0, nominal=tuple((f"d{k}", v) for k, v in driver.nominal),
            driver=driver)


@dataclass(frozen=True)
class DrivenMosPair(MosPair):
    """A MosPair read out by a PMOS mirror whose +/- output copies are a sky130 driver part
    (MosPair.driven_by)."""

    driver: Driver | None = None

    def driven_by(self, driver: Driver) -> Activation:
        return self

    def element(self, circuit: Circuit, i: int, nodes: tuple[str, ...]) -> Element:
        """As MosPair's; where the chip's bias reference is in the deck, the driver's reference
        is a tap on it too (``dtapw``, the width for its ``ib``)."""
        element = super().element(circuit, i, nodes)
        if not element.model.endswith("_tap"):
            return element
        width = chip_parts(circuit.config).bias.tap_width_um(self.driver.reference_a)
        return element._replace(params=(*element.params, ("dtapw", width)))

    def transistor_count(self, taps: bool = False) -> int:
        """The pair's and its driver's, each with its tap where ``taps``."""
        own = part_area(self.libraries[-1], self.drawn(taps)).transistors
        return own + self.driver.transistor_count(taps)

    def area_um2(self, taps: bool = False) -> float | None:
        """The pair's devices plus its driver's (whose subcircuit is in another library)."""
        return float(super().area_um2(taps)) + float(self.driver.area_um2(taps))

    def behavioural(self, taps: bool = False) -> tuple[str, ...]:
        own = tuple(b for b in super().behavioural(taps) if "cd_pm_driver_sky130" not in b)
        return own + tuple(f"{self.drawn(taps)}.xd: {b}" for b in self.driver.behavioural(taps))


PART = MosPair("mos_pair", "a sky130 MOS pair in weak inversion making tanh",
               libraries=("codesign_amplifiers.lib", "codesign_cmos.lib"),
               process=Process.SKY130, tapped=True, transistors=4, realises=frozenset({"tanh"}),
               separate_supplies=True, subckt="cd_act_mos_pair")
