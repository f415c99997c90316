"""A programmable weight cell of sky130 devices: a signed 6-bit R-2R current-steering ladder in
xhigh_po poly (2 kOhm/sq, 0.35 um wide strips of R = 1 MOhm), its legs steered by stored bits
(netlists/codesign_sky130_cells.lib: cd_wcell).

Why it suits a DEQ loop: the ladder's two leg ends, the summing node and analog ground, both sit
at 0 V (the summing node is a virtual ground), so the current division is exact and static; the
cell is a linear conductance code/64/R from the driver to the row (0.04 % median, 0.19 % worst
nonlinearity over +-0.25 V), with no clock, no refresh, and a sign bit picking the driver's +x
or -x line, so the continuous-time feedback sees a plain resistor. Its temperature coefficient
(the poly's, about -0.25 %/K: +15 % from 27 to 85 C) tracks a feedback resistor of the same poly,
so G / G_f, the weight, holds. Its mismatch is the PDK's (poly body and heads: sigma 0.2-0.8 % per
code over 30 seeds, tt_mm), drawn by ngspice where the chip's device mismatch is on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from codesign.parts.base import CELL_SUPPLIES, Cell, CellWindow, Process
from codesign.parts.items import Element

LEG_UM = 135.6
"""Length of the R strip for 1 MOhm [um]: R = 2 R_head + R_sheet (L - 0.0592) / W_eff with
R_sheet 2000 Ohm/sq (sky130 parameters_res_nom.spice, sw_sky130_fd_pr__res_xhigh_po_rs),
W_eff = 0.35 - 0.056 um and R_head = 188.2 / (W_eff + 1.41) Ohm (models_resistors.spice of the
PDK's combined models, res_xhigh_po)."""
SWITCH_W_UM, SIGN_W_UM, PMOS_RATIO = 4.0, 8.0, 3.0
"""Leg switch and sign transmission-gate nfet widths (L = 0.15 um); each pfet is 3x wider."""
G_LSB_S = 15.614e-9
"""One code's conductance, SPICE-measured on the cell at tt, 27 C: G(63) / 63 = 983.7 nS / 63
(the formula gives 984.4 nS: the switches' on-resistance takes 0.07 %)."""

RESISTOR_PITCH_UM = 0.35 + 0.48
"""A strip's width plus the PDK's poly-resistor spacing (poly.9, 0.48 um)."""
HEAD_UM = 2 * (2.0 + 0.06)
"""Poly beyond the body at both ends: the contact slot (2.0 um) and its enclosure (0.06 um), as
the PDK's p_n_poly pcell draws them."""
DIFFUSION_UM = 2 * 0.29
"""Contacted source and drain length added to each transistor's L."""
LATCH_UM2 = 15.01
"""One stored bit: sky130_fd_sc_hd__dlxtp_1 (2.76 x 5.44 um), 7 per cell."""


def drawn_area_um2(leg_um: float = LEG_UM, switch_w_um: float = SWITCH_W_UM,
                   sign_w_um: float = SIGN_W_UM, pmos_ratio: float = PMOS_RATIO) -> float:
    """Device area of one cell [um^2]: 5 R and 7 2R strips at the resistor pitch, 12 leg and
    4 sign switches (W x (L + contacted diffusion)), 7 latches; routing excluded."""
    resistors = RESISTOR_PITCH_UM * (5 * (leg_um + HEAD_UM) + 7 * (2 * leg_um + HEAD_UM))
    switches = (6 * switch_w_um + 2 * sign_w_um) * (1 + pmos_ratio) * (0.15 + DIFFUSION_UM)
    return resistors + switches + 7 * LATCH_UM2


MISMATCH_SIGMA = ((1, 0.00734), (8, 0.00587), (32, 0.00501), (63, 0.00299))
"""(code, relative sigma of its conductance): cd_wcell's Monte Carlo at tt_mm over 30 seeds,
the PDK's poly body and head mismatch (models_global.spice) and its switches' threshold
mismatch; interpolated in log(code) in between."""


CELL_AC: tuple[tuple[float, float, float], ...] = (
    (0.000, 9.27, 0.0),
    (28.092, 22.85, 333.4),
    (22.758, 22.89, 333.8),
    (24.529, 38.88, 501.3),
    (17.144, 22.83, 335.7),
    (19.332, 38.04, 587.0),
    (19.009, 38.83, 505.6),
    (20.301, 56.45, 591.2),
    (11.460, 22.61, 343.6),
    (13.311, 37.15, 637.8),
    (13.719, 37.73, 599.2),
    (15.024, 54.68, 727.6),
    (13.349, 38.30, 523.2),
    (14.483, 54.47, 735.4),
    (14.689, 55.81, 615.0),
    (15.579, 74.39, 661.6),
    (5.760, 22.07, 374.8),
    (7.078, 36.09, 692.5),
    (7.652, 36.40, 677.3),
    (8.729, 52.83, 829.1),
    (8.038, 36.69, 648.0),
    (8.994, 52.34, 883.6),
    (9.375, 53.41, 786.6),
    (10.188, 71.47, 856.6),
    (7.657, 36.83, 593.4),
    (8.476, 51.81, 872.0),
    (8.818, 52.66, 817.8),
    (9.532, 70.06, 930.6),
    (9.009, 53.59, 710.6),
    (9.667, 70.20, 907.2),
    (9.923, 71.81, 771.3),
    (10.507, 90.83, 802.3),
    (0.056, 21.35, 499.5),
    (0.910, 34.93, 832.9),
    (1.397, 34.96, 833.3),
    (2.162, 50.96, 1000.8),
    (1.960, 34.90, 835.2),
    (2.669, 50.11, 1086.5),
    (3.056, 50.91, 1005.0),
    (3.699, 68.53, 1090.7),
    (2.340, 34.68, 843.0),
    (2.970, 49.22, 1137.2),
    (3.314, 49.81, 1098.6),
    (3.891, 66.76, 1227.0),
    (3.686, 50.37, 1022.6),
    (4.229, 66.55, 1234.8),
    (4.515, 67.88, 1114.4),
    (5.016, 86.47, 1161.0),
    (1.958, 34.15, 874.1),
    (2.494, 48.16, 1191.8),
    (2.792, 48.47, 1176.6),
    (3.289, 64.91, 1328.4),
    (3.128, 48.77, 1147.3),
    (3.600, 64.42, 1382.9),
    (3.855, 65.49, 1285.8),
    (4.295, 83.55, 1355.8),
    (3.315, 48.91, 1092.7),
    (3.750, 63.89, 1371.2),
    (3.986, 64.74, 1317.0),
    (4.394, 82.14, 1429.8),
    (4.235, 65.67, 1209.8),
    (4.627, 82.28, 1406.4),
    (4.832, 83.89, 1270.4),
    (5.200, 102.91, 1301.4),
)
"""Per code 0..63, cd_wcell's small-signal figures at 100 kHz (tt, 27 C; ``python -m
benchmarks.parts --ac``): the Elmore delay of its current into the summing node [ns], the
summing node's capacitance [fF] and its conductance to AC ground [nS] (the series path's code
G_LSB and the paths through the ladder's other legs). The driver's line sees CELL_CIN_F at every
code. The delay is each bit's (28.1 ns for bit 0 down to 0.06 ns for bit 5: the strips'
parasitic capacitance, the PDK's, along the ladder) weighted by its current."""
CELL_CIN_F = 60.93e-15
"""The driver line's capacitance per cell [F] (cd_wcell at 100 kHz, every code)."""


def rc_params(code: int) -> tuple[tuple[str, float], ...]:
    """cd_wcell_rc's dynamic parameters at ``code`` (CELL_AC): tau [s], cin, cs [F], gx [S]."""
    tau_ns, cs_ff, gs_ns = CELL_AC[code]
    gx = max(gs_ns * 1e-9 - code * G_LSB_S, 0.0)
    return (("tau", float(f"{tau_ns * 1e-9:.4g}")), ("cin", CELL_CIN_F),
            ("cs", float(f"{cs_ff * 1e-15:.4g}")), ("gx", float(f"{gx:.4g}")))


_ROW_LOAD_S = np.array([dict(rc_params(code))["gx"] for code in range(64)])
"""cd_wcell_rc's gx per code [S], as its deck writes it."""


def mismatch_sigma(code: int) -> float:
    """The relative sigma of a cell's conductance at ``code`` (MISMATCH_SIGMA)."""
    codes, sigmas = zip(*MISMATCH_SIGMA, strict=True)
    return float(np.interp(np.log(max(code, 1)), np.log(codes), sigmas))


def codes_of(conductance: np.ndarray) -> np.ndarray:
    """The stored magnitude codes of programmed conductances [S] (an array)."""
    return np.clip(np.rint(np.asarray(conductance, dtype=float) / G_LSB_S), 0, 63).astype(int)


def code_of(conductance: float) -> int:
    """The stored magnitude code of a programmed conductance [S]."""
    return int(codes_of(conductance))


@dataclass(frozen=True)
class R2RCell(Cell):
    equivalent: bool = False
    """Write the cell's linear two-resistor equivalent (cd_wcell_eq) instead of its devices."""
    dynamic: bool = False
    """With ``equivalent``: the equivalent with the cell's small-signal dynamics (cd_wcell_rc:
    its delay and both ends' capacitance, CELL_AC)."""

    def elements(self, names: Sequence[str], columns: Sequence[str], others: Sequence[str],
                 rows: Sequence[str], g: Sequence[float]) -> Iterator[Element]:
        """A cell per weight: its sign line (pos=1) is the weight's column, the other line
        of the pair its off side; the code is the conductance in LSBs."""
        for name, column, other, row, conductance in zip(names, columns, others, rows, g,
                                                          strict=True):
            code = code_of(conductance)
            nodes = (column, other, row, "0", *CELL_SUPPLIES)
            if self.equivalent:
                params = (("code", code), ("sg", mismatch_sigma(code)))
                yield Element(f"x{name}", nodes, model=self.subckt,
                              params=params + rc_params(code) if self.dynamic else params)
            else:
                yield Element(f"x{name}", nodes, model="cd_wcell",
                              params=(("code", code), ("pos", 1)))

    def area_um2(self, taps: bool = False) -> float:
        return drawn_area_um2()

    def load_s(self, g):
        """The ladder's input conductance, 64 G_LSB whatever the code (its off legs' current
        goes to analog ground), where a cell is drawn."""
        return np.where(np.asarray(g) > 0, 64 * G_LSB_S, 0.0)

    def row_load_s(self, g: np.ndarray) -> np.ndarray:
        """The ladder's legs reaching the summing node, 0-556 nS by code (CELL_AC's third
        column less the weight: cd_wcell_rc's gx), where the deck holds them: the device cell
        and its dynamic equivalent (its rx), not the DC equivalent (cd_wcell_eq leaves them
        out)."""
        g = np.asarray(g, dtype=float)
        if not self.loads_row:
            return np.zeros_like(g)
        return np.where(g > 0, _ROW_LOAD_S[codes_of(g)], 0.0)

    @property
    def loads_row(self) -> bool:
        return not self.equivalent or self.dynamic

    def behavioural(self, taps: bool = False) -> tuple[str, ...]:
        if self.dynamic:
            return ("cd_wcell_rc: resistors and capacitors standing for cd_wcell at its DC "
                    "operating point and its small-signal dynamics",)
        if self.equivalent:
            return ("cd_wcell_eq: two resistors standing for cd_wcell at its DC operating point",)
        return tuple(f"{name} (a stored bit's latch output)" for name in super().behavioural(taps))


# The device cell's decks set rshunt=1e12 (1 pS from every node to ground, 1e-6 of a cell's
# conductance): without it Newton's first steps on a CMOS deck drove a poly body's
# voltage-dependent resistance out of floating-point range (ngspice: "out of range for ^").
_COMMON = dict(libraries=("codesign_sky130_cells.lib",),
               files=("sky130/sky130_xhigh_po.spice",), process=Process.SKY130,
               window=CellWindow(G_LSB_S, 64), rails_v=(0.9, -0.9))
PARTS = (
    R2RCell("sky130_r2r", "a signed 6-bit R-2R xhigh_po cell of sky130 devices, 7 stored bits "
            "(cd_wcell: 12 poly strips, 16 transistors)", transistors=16, subckt="cd_wcell",
            options=("rshunt=1e12",), **_COMMON),
    R2RCell("sky130_r2r_eq", "the sky130_r2r cell as its linear equivalent for arrays "
            "(cd_wcell_eq: two resistors, the cell's measured gain, mismatch and tempco)",
            equivalent=True, subckt="cd_wcell_eq", **_COMMON),
    R2RCell("sky130_r2r_rc", "the sky130_r2r cell as its linear equivalent with its dynamics "
            "(cd_wcell_rc: cd_wcell_eq with its delay per code and both ends' capacitance)",
            equivalent=True, dynamic=True, subckt="cd_wcell_rc", **_COMMON),
)
