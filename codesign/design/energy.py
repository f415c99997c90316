"""Energy of one inference of a CMOS chip, by component: the screen's estimate (static power
from the compiled circuit at the proxy's equilibrium, times the proxy's settling time) and the
breakdown of a SPICE transient's supply energy.

Where the energy goes (SPICE): the summing amplifiers draw from vdd/vss, the activation pairs
and their output drivers from vdda/vssa, the input DACs and the bias reference from vddi/vssi.
The crossbar's own conduction, sum G (V_source - V_row)^2 with the rows at virtual ground, is
delivered by the activation drivers (recurrent columns) and the DAC drivers (input and bias
columns), so it is carved out of theirs: the rest is what the drivers' rails waste above the
signal (a class-B driver from +-V_rail delivers G |v| V_rail for G v^2 dissipated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.chip.chip import Chip
from codesign.circuit.dynamics import settling_bound_s
from codesign.parts import chip_parts
from codesign.proxy.params import ProxyParams
from codesign.simulator.traces import SETTLE_TOL_FS


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy of one inference [J] by component (their sum is ``total_j``)."""

    amplifiers_j: float
    """Summing OTAs: bias, input pair, output stage (and the feedback and attenuator loads)."""
    crossbar_j: float
    """Conduction in the array's cells, sum G (V_source - V_row)^2 over the settling time."""
    activations_j: float
    """MOS pairs and their output drivers, less the crossbar conduction they deliver."""
    dac_drivers_j: float
    """The input DACs' and bias reference's drivers, less the conduction they deliver."""
    dac_conversions_j: float
    """m conversions at the DAC figure of merit."""
    adc_conversions_j: float
    """n conversions at the ADC figure of merit."""

    @property
    def total_j(self) -> float:
        return (self.amplifiers_j + self.crossbar_j + self.activations_j + self.dac_drivers_j
                + self.dac_conversions_j + self.adc_conversions_j)

    def row(self) -> dict[str, float]:
        return {"amplifiers_j": self.amplifiers_j, "crossbar_j": self.crossbar_j,
                "activations_j": self.activations_j, "dac_drivers_j": self.dac_drivers_j,
                "dac_conversions_j": self.dac_conversions_j,
                "adc_conversions_j": self.adc_conversions_j, "total_j": self.total_j}


def conduction_w(chip: Chip, e: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K,) crossbar conduction [W] delivered by the activations' columns and by the input and
    bias columns, at states z (K, n) and inputs e (K, m) [FS], rows at virtual ground."""
    v2 = chip.v_fs**2
    g_w, g_u, g_b = column_loads_s(chip)
    return v2 * (z**2 @ g_w), v2 * (e**2 @ g_u + g_b)


def column_loads_s(chip: Chip) -> tuple[np.ndarray, np.ndarray, float]:
    """(n,) recurrent, (m,) input and the bias column's conductance [S] seen by their drivers:
    the cells' loads (Cell.load_s: a resistor its conductance, an R-2R ladder its input
    conductance whatever its code), summed over the rows."""
    c, cell = chip.circuit, chip_parts(chip.config).cell
    return ((cell.load_s(c.g_w_plus) + cell.load_s(c.g_w_minus)).sum(0),
            (cell.load_s(c.g_u_plus) + cell.load_s(c.g_u_minus)).sum(0),
            float((cell.load_s(c.g_b_plus) + cell.load_s(c.g_b_minus)).sum()))


def screen_power_w(chip: Chip, e: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(K,) static power [W] of the CMOS chip at states z and inputs e [FS], from its compiled
    circuit: each amplifier's quiescent current (Amplifier.supply_a: the Miller OTA's bias,
    tail 2 ib and output sink k2 ib), each pair's reference and
    tail, from the 1.8 V supply, and the column drivers' currents into their cells' loads
    (column_loads_s) from their rails."""
    c, config = chip.circuit, chip.config
    cmos, sup = config.neuron.cmos, config.supplies
    span = sup.vdd_v - sup.vss_v
    amplifier = chip_parts(config).amplifier
    amplifiers_a = sum(amplifier.supply_a(c, i) for i in range(c.n))
    bias = span * (amplifiers_a + 2 * cmos.pair_tail_a * c.n)
    v = chip.v_fs
    g_w, g_u, g_b = column_loads_s(chip)
    core_drive = 0.5 * span * v * (np.abs(z) @ g_w)
    in_rail = 0.5 * (sup.input_vdd_v - sup.input_vss_v)
    in_drive = in_rail * v * (np.abs(e) @ g_u + g_b)
    return bias + core_drive + in_drive


def proxy_settling_s(chip: Chip, params: ProxyParams, e: np.ndarray,
                     tol_fs: float = SETTLE_TOL_FS, points: int = 400) -> np.ndarray:
    """(K,) the proxy's settling time from reset to within ``tol_fs`` of its equilibrium [s]
    (inf when it has not settled by twice the contraction bound)."""
    tau = chip.circuit.time_constant_s()
    rho = min(chip.core.spectral_norm, 0.995)
    horizon = 2 * settling_bound_s(tau, rho, float(np.sqrt(chip.n)), tol_fs) + 10 * tau
    times = np.linspace(0.0, horizon, points)
    z_t = chip.proxy_trajectory(params, e, times)
    z_final = chip.proxy_equilibrium(params, e)
    deviation = np.abs(z_t - z_final[:, None, :]).max(-1)
    out = np.full(len(e), np.inf)
    for k, dev in enumerate(deviation):
        outside = np.nonzero(dev > tol_fs)[0]
        if len(outside) == 0:
            out[k] = 0.0
        elif outside[-1] + 1 < len(times):
            out[k] = times[outside[-1] + 1]
    return out


def spice_breakdown(chip: Chip, e: np.ndarray, z: np.ndarray, settling_s: np.ndarray,
                    amplifiers_j: np.ndarray, activations_j: np.ndarray,
                    inputs_j: np.ndarray) -> EnergyBreakdown:
    """The mean breakdown over SPICE transients: supply energies by rail group up to settling
    (K,) each, the crossbar conduction at the SPICE equilibria z over the same time."""
    from_z, from_inputs = conduction_w(chip, e, z)
    xbar_z, xbar_in = from_z * settling_s, from_inputs * settling_s
    conv = chip.config.converters
    return EnergyBreakdown(
        amplifiers_j=float(np.mean(amplifiers_j)),
        crossbar_j=float(np.mean(xbar_z + xbar_in)),
        activations_j=float(np.mean(activations_j - xbar_z)),
        dac_drivers_j=float(np.mean(inputs_j - xbar_in)),
        dac_conversions_j=chip.m * conv.conversion_j(conv.dac_bits, conv.dac_fom_j),
        adc_conversions_j=chip.n * conv.conversion_j(conv.adc_bits, conv.adc_fom_j))
