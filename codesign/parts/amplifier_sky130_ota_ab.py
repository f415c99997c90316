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

import numpy as np

from codesign.parts import ota_speed as speed
from codesign.parts.base import Amplifier, Circuit, Process
from codesign.parts.items import Element
from codesign.parts.registry import tapped

IDLE_RATIO = 3.95
"""Idle supply current / ib: 3.95 uA at ib = 1 uA, tt, SPICE (python -m benchmarks.amplifier_ab);
3.87-4.03 over the ss, ff, sf and fs corners."""


SPEED = speed.OtaModel(input_squares=1 / (1 / 10 + 0.5 / 40), miller_a=1.0,
                       miller_parasitic_f=15e-15, first_stage_f=40e-15,
                       first_stage_gds_per_a=0.5, output_f=30e-15)
"""Its gain-bandwidth model (codesign.parts.ota_speed): xm1a/xm2a nfet w=10 l=1 under
xm1b/xm2b w=40 l=0.5."""
OUTPUT_RATIO = 0.4
"""Its output devices' idle current / ib (low end): 0.83 at 0.1 uA, 0.72 at 1 uA, 0.40 at
10 uA (SPICE, tt)."""
OUTPUT_PMOS_W_UM = 16.0
OUTPUT_PMOS_SQUARES = 32.0
"""The push-pull xmp: pfet w=16 l=0.5."""
OUTPUT_NMOS_SQUARES = 4.0
"""xmn: nfet w=4 l=1."""


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

    def gbw_hz(self, circuit: Circuit) -> np.ndarray:
        """Its push-pull output, both devices at OUTPUT_RATIO ib; reads
        ``circuit.config.neuron.cmos``, ``circuit.g_feedback`` and ``circuit.c_feedback``."""
        cmos = circuit.config.neuron.cmos
        output_a = OUTPUT_RATIO * cmos.ota_bias_a
        gm2 = (speed.gm_ekv(output_a, speed.N_PMOS, speed.I_SQ_PMOS_A * OUTPUT_PMOS_SQUARES)
               + speed.gm_ekv(output_a, speed.N_NMOS, speed.I_SQ_NMOS_A * OUTPUT_NMOS_SQUARES))
        return speed.two_stage_gbw_hz(SPEED, cmos.ota_bias_a, cmos.ota_cc_f,
                                      speed.row_load_s(circuit), circuit.c_feedback, gm2,
                                      output_a, speed.GATE_DRAIN_F_PER_UM * OUTPUT_PMOS_W_UM)

    def noise_gain_floor(self, circuit: Circuit) -> float:
        return speed.noise_gain_floor(SPEED, circuit.config.neuron.cmos.ota_cc_f)


# Its decks set rshunt=1e12 (1 pS from every node to ground, 1e-4 of the smallest cell
# conductance, and nothing at the virtual-ground rows): without it, ngspice 46's KLU solver took
# 12,348 Newton iterations for a 25 us transient of a 12-neuron cmos chip with this amplifier,
# against 270 with it or with Sparse 1.3 (263 with cd_ota_sky130); a shunt on the activations'
# B-source node (cd_act_mos_pair's a) alone did the same.
PART = Sky130OtaAb("cd_ota_ab_sky130", "a sky130 two-stage OTA with a class-AB output",
                   libraries=("codesign_cmos_ab.lib",), process=Process.SKY130, tapped=True,
                   transistors=17,
                   options=("rshunt=1e12",), subckt="cd_ota_ab_sky130")
