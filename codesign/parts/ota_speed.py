"""How fast the sky130 summing OTAs are, for the transient stops
(codesign.circuit.dynamics.opamp_delay_s, through each amplifier part's ``gbw_hz``): the
physics of a lower bound of their gain-bandwidth product at the
bias current and Miller capacitor the CMOS level gives them (CmosParams.ota_bias_a, ota_cc_f)
and the load their neuron puts on them. The CMOS level's ``neuron.opamp.gbw_hz`` (5 MHz) is a
nominal figure that says nothing about the OTA a chip holds: 1.4x cd_ota_sky130's (3.4-3.7 MHz
in SPICE) at the level's own ib = 0.5 uA, Cc = 0.5 pF, about 1/35 of cd_ota_ab_sky130's at
ib = 2 uA, Cc = 10 fF.

Both OTAs are two-stage Miller amplifiers (netlists/codesign_cmos.lib: cd_ota_sky130,
codesign_cmos_ab.lib: cd_ota_ab_sky130): each input device carries ib (the tail 2 ib) and gives
gm1 into the first stage's output node (capacitance C1, resistance R1 = 1 / (2 g1 ib)); the
second stage gives gm2 into the neuron's load (R2: Rf, the activation's attenuator and the output
devices' own conductance; C2: Cf and the node's own), the Miller capacitor Cc between them. The
dominant pole's gain-bandwidth (Gray & Meyer's two-stage pole, in gm1 / C_eff form) is

    GBW = gm1 / (2 pi C_eff),
    C_eff = Cc (1 + a / (gm2 R2)) + C_M + C1 / (gm2 R2) + (Cc + C2) / (gm2 R1)

(a = 1 for the textbook pole; C_M: the output device's gate-drain capacitance, in parallel with
Cc, and a margin for the second pole near where the loop closes). At Cc = 10 fF the parasitic
terms are most of C_eff: gm1 / (2 pi Cc) alone is 3-5x faster than the OTA.

Each approximation errs slow (the estimate is below the OTA's gain-bandwidth, so the delay it
gives is longer than the OTA's own): gm1 and gm2 by the EKV interpolation
I / (n U_T) * 2 / (1 + sqrt(1 + 4 I / I_spec)), which lies below the weak-inversion I / (n U_T),
with n at the high end and the specific current I_spec at the low end (both lower gm / I); the
conductances at the high end (R1, R2 low); the capacitances and a at the high end. The constants
are bounds of SPICE measurements: over ib 0.5-8 uA, Cc 10 fF-1 pF, Cf 22-540 fF, two loads
(Rf 141 kOhm with a 250 kOhm attenuator, 190 kOhm with 4.7 MOhm), at noise gains 8-40 and the
tt, ss, fs and sf corners, the estimate is 0.36-0.94 of NG f_NG, f_NG where the open-loop gain
|A| falls to the noise gain NG (tests/test_ota_speed.py checks a few of these points).

Below a noise gain of about 8 a small Cc no longer splits the poles: at Cc = 10 fF the second
pole lowers NG f_NG by up to 1.6x at NG = 2. The delay (opamp_delay_s) therefore counts each
neuron's noise gain as at least noise_gain_floor, about 8 at Cc = 10 fF and below 1 from 0.5 pF:
|A| falls through a smaller noise gain at a higher frequency than through the floor, so its
loop closes faster than the floor's delay says. With it the delay outlasts 1 / (2 pi f_NG) at
every noise gain 1.5-40 of the measurements above (by 1.08x at least, and Cc 20 and 40 fF at tt).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

THERMAL_VOLTAGE_V = 1.380649e-23 * 300.15 / 1.602176634e-19
"""kT/q at ngspice's default 27 C [V] (codesign.circuit.config.THERMAL_VOLTAGE_V, which a part
cannot import: the circuit layer builds on the parts)."""

N_NMOS = 1.5
"""Subthreshold slope factor of the sky130 nfet_01v8 (high end): the input pair's gm / I at
0.1 uA is 26.1 /V in SPICE (tt), n = 1.48."""
N_PMOS = 2.3
"""The same of the pfet_01v8 at l = 0.5 (high end): gm / I of 19.9 /V (n = 1.94) at 83 nA
(cd_ota_ab_sky130's xmp), 17.3 /V (n = 2.24) in cd_ota_sky130's xm5."""
I_SQ_NMOS_A = 0.45e-6
"""nfet_01v8's specific current per square, 2 n mu Cox U_T^2 (low end, with N_NMOS): the input
pair's gm / I falls from 26.1 /V at 0.1 uA to 23.3 at 1 uA and 17.6 at 10 uA (W / L = 10)."""
I_SQ_PMOS_A = 0.4e-6
"""pfet_01v8's at l = 0.5 (low end, with N_PMOS): cd_ota_sky130's xm5 at gm / I of 14.6 /V at
ib = 1 uA, 6.7 at 10 uA."""
OUTPUT_GDS_PER_A = 0.2
"""An output device's drain conductance per ampere of its current [1/V] (high end: 0.04-0.17)."""
GATE_DRAIN_F_PER_UM = 0.35e-15
"""pfet_01v8's gate-drain overlap capacitance per micron of width [F/um] (cgdo + cgdl of the
models)."""
NOISE_GAIN_FLOOR = 10.0
"""The smallest noise gain the delay counts at Cc << C1, NOISE_GAIN_FLOOR C1 / (C1 + Cc) in
general (noise_gain_floor; the module docstring)."""


class OtaModel(NamedTuple):
    """What one OTA's gain-bandwidth depends on beyond its bias: its devices' sizes (from its
    subcircuit) and the bounds fitted to its SPICE measurements."""

    input_squares: float
    """W / L of each input device (a self-cascode: its two devices' series W / L)."""
    miller_a: float
    """a: how much more of Cc the second stage's finite gain adds."""
    miller_parasitic_f: float
    """C_M [F] beyond the output PMOS's overlap (GATE_DRAIN_F_PER_UM times its width)."""
    first_stage_f: float
    """C1 [F]: the first stage's output node, Cc apart."""
    first_stage_gds_per_a: float
    """g1: the first stage's output conductance per side per ampere of ib [1/V]."""
    output_f: float
    """The output node's own capacitance [F] (Cf on top)."""


def gm_ekv(current_a, n: float, i_spec_a):
    """The EKV transconductance I / (n U_T) * 2 / (1 + sqrt(1 + 4 I / I_spec)) [S]: the weak-
    inversion I / (n U_T) at I << I_spec, sqrt(I I_spec) / (n U_T) at I >> I_spec."""
    current_a = np.asarray(current_a, float)
    return (current_a / (n * THERMAL_VOLTAGE_V)
            * 2 / (1 + np.sqrt(1 + 4 * current_a / np.asarray(i_spec_a, float))))


def two_stage_gbw_hz(ota: OtaModel, ib_a: float, cc_f: float, load_s, load_f, gm2,
                     output_a, overlap_f) -> np.ndarray:
    """A lower bound of a two-stage OTA's gain-bandwidth [Hz] (the module docstring's C_eff),
    per neuron: ``ota`` its sizes and fitted bounds, ``ib_a`` its reference current [A],
    ``cc_f`` its Miller capacitance [F], ``load_s`` [S] and ``load_f`` [F] what its output
    drives (Rf and the activation's attenuator; Cf), ``gm2`` [S] its output stage's
    transconductance at ``output_a`` [A] (each output device's current) and ``overlap_f`` [F]
    the output device's gate-drain overlap."""
    gm1 = gm_ekv(ib_a, N_NMOS, I_SQ_NMOS_A * ota.input_squares)
    gm2_r2 = gm2 / (np.asarray(load_s, float) + 2 * OUTPUT_GDS_PER_A * output_a)
    gm2_r1 = gm2 / (2 * ota.first_stage_gds_per_a * ib_a)
    c_eff = (cc_f * (1 + ota.miller_a / gm2_r2) + overlap_f + ota.miller_parasitic_f
             + ota.first_stage_f / gm2_r2
             + (cc_f + np.asarray(load_f, float) + ota.output_f) / gm2_r1)
    return gm1 / (2 * math.pi * c_eff)


def noise_gain_floor(ota: OtaModel, cc_f: float) -> float:
    """The smallest noise gain an OTA's delay counts at Miller capacitance ``cc_f``:
    NOISE_GAIN_FLOOR C1 / (C1 + Cc), 8-8.6 at Cc = 10 fF, 3-4 at 0.1 pF, below 1 from 0.5 pF
    (a Cc well above C1 splits the poles: the estimate holds down to a noise gain of 2)."""
    return NOISE_GAIN_FLOOR * ota.first_stage_f / (ota.first_stage_f + cc_f)


def row_load_s(circuit) -> np.ndarray:
    """(n,) what each neuron's OTA output drives [S]: its Rf and the activation's attenuator.
    Reads ``circuit.g_feedback`` and ``circuit.config.neuron.cmos``."""
    return (np.asarray(circuit.g_feedback, float)
            + 1.0 / circuit.config.neuron.cmos.attenuator_ohm)
