"""The sky130 two-stage Miller OTA (codesign_cmos.lib, 8 transistors): its output sink is sized
per neuron for the load its row puts on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.parts import ota_speed as speed
from codesign.parts.base import Amplifier, Circuit, Process
from codesign.parts.items import Element
from codesign.parts.registry import tapped

SPEED = speed.OtaModel(input_squares=10.0, miller_a=1.0, miller_parasitic_f=0.0,
                       first_stage_f=60e-15, first_stage_gds_per_a=0.2, output_f=30e-15)
"""Its gain-bandwidth model (codesign.parts.ota_speed): xm1/xm2 nfet w=10 l=1."""
OUTPUT_SQUARES_PER_K2 = 4.0
"""xm5: w = 2 k2, l = 0.5, at k2 ib (over the sink xm6)."""


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

    def gbw_hz(self, circuit: Circuit) -> np.ndarray:
        """Its class-A output's xm5 at k2 ib, k2 sized per neuron (cmos_output_ratio); reads
        ``circuit.config.neuron.cmos``, ``circuit.g_feedback`` and ``circuit.c_feedback``."""
        cmos = circuit.config.neuron.cmos
        k2 = np.array([cmos_output_ratio(circuit, i) for i in range(len(circuit.g_feedback))])
        gm2 = k2 * speed.gm_ekv(cmos.ota_bias_a, speed.N_PMOS,
                                speed.I_SQ_PMOS_A * OUTPUT_SQUARES_PER_K2)
        return speed.two_stage_gbw_hz(SPEED, cmos.ota_bias_a, cmos.ota_cc_f,
                                      speed.row_load_s(circuit), circuit.c_feedback, gm2,
                                      k2 * cmos.ota_bias_a, speed.GATE_DRAIN_F_PER_UM * 2 * k2)

    def noise_gain_floor(self, circuit: Circuit) -> float:
        return speed.noise_gain_floor(SPEED, circuit.config.neuron.cmos.ota_cc_f)


PART = Sky130Ota("cd_ota_sky130", "a sky130 two-stage Miller OTA",
                 libraries=("codesign_cmos.lib",), process=Process.SKY130, tapped=True,
                 transistors=8,
                 subckt="cd_ota_sky130", nominal=(("k2", 4.0),))
