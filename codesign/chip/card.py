"""A chip's energy card and area card, the way a datasheet counts them.

Energy of one inference, line by line, each line SPICE-measured or cited (``Basis``):

- the supplies of the SPICE transients from reset up to the ADCs' sampling instant, by rail
  group (summing amplifiers; activations and their output drivers; input DAC drivers and the
  bias reference's buffer), per sample, so the card gives the median and the 95th percentile
  over the test set;
- the core kept biased while the ADCs convert (the SPICE power at the sampling instant times
  the conversion time), and idle between inferences at a stated rate (the same power: the
  design has no power-down);
- the bias reference: its own rails in the same transients where the deck holds it
  (Bias.in_deck), else its measured current over the active time;
- the converters (ADC and DAC energy per conversion, cited), each behavioural +/- driver's idle
  current at a real sky130 driver's (SPICE-measured on its own; the deck's class-B sources draw
  only their load), and the digital encoder and decoder (their MACs at a cited energy per MAC
  for the node).

Area per block from the parts' device geometry (codesign.parts: W x L, resistor and capacitor
areas from the PDK's densities), with a stated routing overhead; a block without a drawable
part (a behavioural one) has no area and is listed as such.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from codesign.choices import Choice
from codesign.circuit.config import ConverterConfig
from codesign.circuit.converters import adc_np
from codesign.circuit.dynamics import SETTLE_TOL_FS
from codesign.errors import CodesignError, InputError
from codesign.parts import PartKind, Process, chip_parts, registry
from codesign.parts.geometry import mim_area_um2, poly_area_um2
from codesign.references import (
    ADC_LOW_RES_FLOOR_130NM,
    ADC_SAR_130NM,
    ADC_SAR_130NM_CONVERSION_S,
    DAC_CAP_UNIT_F,
    DIGITAL_MAC_130NM,
)
from codesign.simulator.traces import TransientMetrics


class Basis(Choice):
    """Where a card line's figure comes from."""

    SPICE = "spice"
    """Integrated supply energy of the SPICE transients."""
    SPICE_POWER = "spice power x time"
    """SPICE power at the sampling instant times a stated or cited time."""
    CITED = "cited"
    """A published figure (codesign.references), per operation."""
    GEOMETRY = "geometry"
    """Device geometry of the drawn parts (W x L, PDK densities)."""
    NONE = "not drawable"
    """A behavioural part: no device to count."""


@dataclass(frozen=True)
class CardLine:
    """One line of a card: a block, its figure (median and 95th percentile over the samples
    for energy [J], the same value twice where it does not vary; area [um^2]), its basis and
    what it counts."""

    block: str
    median: float
    p95: float
    basis: Basis
    counts: str


@dataclass(frozen=True)
class EnergySettings:
    """What the card charges besides the SPICE supplies."""

    adc_conversion_j: float
    """Energy of one ADC conversion at the chip's ADC resolution [J] (cited)."""
    adc_source: str
    adc_conversion_s: float
    """Time the core stays biased while the ADCs convert [s] (cited)."""
    dac_conversion_j: float
    """Energy of one DAC conversion [J] (cited)."""
    dac_source: str
    digital_macs: int
    """MACs of the digital encoder and decoder per inference."""
    digital_mac_j: float
    """Energy per digital MAC at the node [J] (cited)."""
    digital_source: str
    inference_rate_hz: float | None = None
    """Inferences per second (None: back to back, no idle time)."""

    def __post_init__(self) -> None:
        for name in ("adc_conversion_j", "adc_conversion_s", "dac_conversion_j",
                     "digital_mac_j"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise InputError(f"energy card {name} must be a finite number >= 0, got {value}")
        if self.inference_rate_hz is not None and not self.inference_rate_hz > 0:
            raise InputError(f"inference_rate_hz must be > 0, got {self.inference_rate_hz}")


DIGITAL_SUPPLY_V = 1.8


def adc_conversion_j(bits: int) -> float:
    """Energy of one ADC conversion at ``bits`` [J]: the 130 nm SAR's Walden FoM x 2^bits, not
    below the lowest energy any ADC of 4-6.5 ENOB reached at 130-180 nm (codesign.references);
    0 for an ideal converter."""
    if not bits:
        return 0.0
    return max(ADC_SAR_130NM.value * 1e-15 * 2.0**bits, ADC_LOW_RES_FLOOR_130NM.value * 1e-12)


def dac_conversion_j(bits: int) -> float:
    """Energy of one DAC conversion at ``bits`` [J]: half of 2^bits sky130 MIM unit capacitors
    switched at 1.8 V (codesign.references.DAC_CAP_UNIT_F); 0 for an ideal converter."""
    return 0.5 * 2.0**bits * DAC_CAP_UNIT_F.value * DIGITAL_SUPPLY_V**2 if bits else 0.0


def cited_settings(config, digital_macs: int,
                   inference_rate_hz: float | None = None) -> EnergySettings:
    """The card's cited lines for a circuit ``config`` (its converters' bits) at sky130's
    node, with ``digital_macs`` MACs in the digital encoder and decoder."""
    conv = config.converters
    return EnergySettings(
        adc_conversion_j=adc_conversion_j(conv.adc_bits),
        adc_source=f"{ADC_SAR_130NM.name} x 2^bits, floor {ADC_LOW_RES_FLOOR_130NM.value} pJ "
                   "(Murmann's survey, references.ADC_SAR_130NM)",
        adc_conversion_s=ADC_SAR_130NM_CONVERSION_S.value,
        dac_conversion_j=dac_conversion_j(conv.dac_bits),
        dac_source="half of 2^bits 2.76 fF MIM units at 1.8 V (references.DAC_CAP_UNIT_F, an "
                   "estimate)",
        digital_macs=int(digital_macs), digital_mac_j=DIGITAL_MAC_130NM.value * 1e-12,
        digital_source=f"{DIGITAL_MAC_130NM.value} pJ per 8-bit MAC at 130 nm "
                       "(references.DIGITAL_MAC_130NM)",
        inference_rate_hz=inference_rate_hz)


@dataclass(frozen=True)
class EnergyCard:
    """The energy of one inference, line by line (the lines of each sample add up to its
    total; the card's median and p95 are those of the per-sample totals)."""

    lines: tuple[CardLine, ...]
    samples: int
    macs: int
    """Equivalent MACs of one inference: n (n + m), one pass of the dense core."""
    median_j: float
    p95_j: float
    sampling_s: float
    """Median sampling instant (settling from reset) [s]."""
    codes_equal: float
    """Fraction of the samples whose ADC codes at the sampling instant all equal the codes of
    their DC operating points."""
    code_agreement: float = 1.0
    """Fraction of the ADC codes (every sample's every neuron) at the sampling instant equal to
    the DC ones."""

    @property
    def per_mac_j(self) -> float:
        return self.median_j / self.macs

    @property
    def p95_per_mac_j(self) -> float:
        return self.p95_j / self.macs

    @property
    def tops_per_w(self) -> float:
        """2 operations per equivalent MAC, at the median energy."""
        return 2 * self.macs / self.median_j / 1e12

    def rows(self) -> list[dict]:
        return [{"block": line.block, "median_j": line.median, "p95_j": line.p95,
                 "basis": str(line.basis), "counts": line.counts} for line in self.lines]


def _stats(values: np.ndarray) -> tuple[float, float]:
    return float(np.median(values)), float(np.percentile(values, 95))


def codes_equal(transients: Sequence[TransientMetrics], z_op: np.ndarray,
                converters: ConverterConfig) -> np.ndarray:
    """(K, n) whether each ADC code at each transient's sampling instant equals the code of its
    DC operating point z_op (K, n)."""
    sampled = np.array([t.z_sampled for t in transients])
    if sampled.shape != z_op.shape:
        raise InputError("the transients carry no sampled state (z_sampled); rerun them")
    return adc_np(sampled, converters) == adc_np(z_op, converters)


CONVERSION_LINES = ("ADC conversions", "DAC conversions")
"""The card's converter lines (cited per conversion)."""


def _card_lines(chip, settle: np.ndarray, amplifiers: np.ndarray, act: np.ndarray,
                inputs: np.ndarray, power: np.ndarray, settings: EnergySettings,
                bias: np.ndarray | None = None) -> list:
    """(block, (K,) energies [J], basis, what it counts) of the card's lines for K inferences:
    settling times [s], the supplies' energies to then by rail group, the power then [W];
    ``bias``: the bias reference's own rails' energy to then, where the deck holds it (None:
    its measured supply current x the time)."""
    n, m = chip.n, chip.m
    conv = chip.config.converters
    active_s = settle + settings.adc_conversion_s
    idle_s = (np.zeros_like(settle) if settings.inference_rate_hz is None
              else np.maximum(1.0 / settings.inference_rate_hz - active_s, 0.0))
    parts = chip_parts(chip.config)
    sup = chip.config.supplies
    bias_w = parts.bias.supply_a * (sup.vdd_v - sup.vss_v)
    bias_source = (f"its own {parts.bias.supply_a * 1e6:.3g} uA (SPICE, benchmarks.parts) x "
                   f"{sup.vdd_v - sup.vss_v:.3g} V" if parts.bias.supply_a else
                   "ideal references: nothing charged")
    bias_line = ("bias reference", bias_w * (active_s + idle_s), Basis.SPICE_POWER,
                 f"{parts.bias.name}: {bias_source}")
    if bias is not None:
        bias_line = ("bias reference", bias, Basis.SPICE,
                     f"{parts.bias.name}, in the deck: supplies vddb/vssb to the sampling "
                     "instant (its taps' currents are in their neurons' lines; while the ADC "
                     "converts, in the line below)")
    ones = np.ones_like(settle)
    drivers, idle_w, idle_source = behavioural_driver_idle(chip, float(np.median(settle)))
    per_sample = [
        ("summing amplifiers", amplifiers, Basis.SPICE,
         f"{parts.amplifier.name}: supplies vdd/vss to the sampling instant"),
        ("activations and output drivers", act, Basis.SPICE,
         f"{parts.activation.name}: supplies vdda/vssa to the sampling instant, the recurrent "
         "columns' conduction included"),
        ("input DAC drivers and bias buffer", inputs, Basis.SPICE,
         f"{parts.driver.name} drivers: supplies vddi/vssi to the sampling instant, the input "
         "and bias columns' conduction included"),
        ("biased during conversion", power * settings.adc_conversion_s, Basis.SPICE_POWER,
         f"SPICE power at the sampling instant x the ADC conversion time "
         f"{settings.adc_conversion_s:.3g} s"),
        ("idle between inferences", power * idle_s, Basis.SPICE_POWER,
         "back to back: no idle time" if settings.inference_rate_hz is None else
         f"the biased core's power between inferences at {settings.inference_rate_hz:.3g}/s "
         "(no power-down)"),
        bias_line,
        ("behavioural drivers' idle current", idle_w * (active_s + idle_s), Basis.SPICE_POWER,
         f"{drivers}: {idle_source}" if drivers else "no behavioural driver"),
        (CONVERSION_LINES[0], ones * n * (settings.adc_conversion_j if conv.adc_bits else 0.0),
         Basis.CITED, f"{n} x {conv.adc_bits}-bit: {settings.adc_source}"),
        (CONVERSION_LINES[1], ones * m * (settings.dac_conversion_j if conv.dac_bits else 0.0),
         Basis.CITED, f"{m} x {conv.dac_bits}-bit: {settings.dac_source}"),
        ("digital encoder and decoder", ones * settings.digital_macs * settings.digital_mac_j,
         Basis.CITED, f"{settings.digital_macs} MACs: {settings.digital_source}"),
    ]
    return per_sample


IDLE_DRIVER_NOT_FOUND = ("no sky130 driver with a measured idle current (Driver.supply_a) in "
                         "the registry: the card cannot charge the behavioural drivers; "
                         "reinstall codesign")


def behavioural_driver_idle(chip, sampling_s: float = 0.0) -> tuple[str, float, str]:
    """(which drivers, their idle power [W], its source) for the +/- drivers of ``chip`` that
    have no idle current of their own: the input DACs' and the bias reference's (m + 1, where
    the driver part has none, ``Driver.supply_a == 0``) and the activations' output copies
    (``Activation.behavioural_drivers`` per neuron). Their class-B sources draw only their
    load current in the deck, at ideal speed; a real driver also idles, so each is charged the
    idle power of a sky130 driver in the registry, as SPICE measured it on its own
    (``Driver.supply_a`` at ``supply_v``): the one that idles at the least power among those
    whose worst step settles (``Driver.settle_s``) within the chip's sampling time
    ``sampling_s`` [s], or, where none does, the fastest (a lower bound: a driver fast enough
    would idle at more)."""
    parts = chip_parts(chip.config)
    inputs = chip.m + 1 if parts.driver.supply_a == 0 else 0
    outputs = chip.n * parts.activation.behavioural_drivers
    if not inputs + outputs:
        return "", 0.0, ""
    real = [p for (kind, _), p in sorted(registry().items()) if kind == PartKind.DRIVER
            and p.process == Process.SKY130 and p.supply_a > 0]
    if not real:
        raise CodesignError(IDLE_DRIVER_NOT_FOUND)
    in_time = [p for p in real if p.settle_s <= sampling_s]
    pick = (min(in_time, key=lambda p: p.supply_a * p.supply_v) if in_time
            else min(real, key=lambda p: (p.settle_s, p.supply_a * p.supply_v)))
    why = (f"the sky130 driver that idles at the least power of those settling within the "
           f"sampling time {sampling_s * 1e6:.3g} us (it: {pick.settle_s * 1e6:.2g} us)"
           if in_time else
           f"the fastest sky130 driver, {pick.settle_s * 1e6:.2g} us at worst: none "
           f"settles within the sampling time {sampling_s * 1e6:.3g} us, so a lower bound")
    which = " and ".join(w for w in (f"{inputs} input/bias" if inputs else "",
                                     f"{outputs} activation output" if outputs else "") if w)
    return (f"{which} drivers", (inputs + outputs) * pick.supply_a * pick.supply_v,
            f"each charged {pick.name}'s idle {pick.supply_a * 1e6:.3g} uA x "
            f"{pick.supply_v:.3g} V (SPICE, benchmarks.parts), {why}")


def screened_lines_j(chip, settle_s: float, power_w: float,
                     settings: EnergySettings) -> dict[str, float]:
    """The card's lines {block: J} for an inference a screen estimated (a static ``power_w``
    [W] for ``settle_s`` [s], no SPICE): its supplies' lines as power x time, every other line
    as the card charges it."""
    one = np.ones(1)
    lines = _card_lines(chip, one * settle_s, one * power_w * settle_s, 0 * one, 0 * one,
                        one * power_w, settings)
    return {block: float(values[0]) for block, values, _, _ in lines}


def screened_card_j(chip, settle_s: float, power_w: float, settings: EnergySettings) -> float:
    """The card's total [J] for an inference a screen estimated (screened_lines_j)."""
    return sum(screened_lines_j(chip, settle_s, power_w, settings).values())


def sampling_tol_fs(converters: ConverterConfig) -> float:
    """The card's settling tolerance [FS]: a quarter of the ADC's LSB, tight enough that the
    codes at the sampling instant are the DC codes (the card records how many are:
    EnergyCard.codes_equal); an ideal ADC: SETTLE_TOL_FS."""
    if not converters.adc_bits:
        return SETTLE_TOL_FS
    return 2 * converters.range_fs / (2**converters.adc_bits - 1) / 4


def energy_card(chip, transients: Sequence[TransientMetrics], z_op: np.ndarray,
                settings: EnergySettings) -> EnergyCard:
    """The energy card of ``chip`` (codesign.chip.Chip) from SPICE transients from reset and
    their DC operating points z_op (K, n) [FS]. A transient that did not settle is a failed
    measurement: InputError."""
    if not transients:
        raise InputError("an energy card needs at least one transient")
    settle = np.array([t.settling_time_s for t in transients])
    if not np.isfinite(settle).all():
        ends = [t.final_error_fs for t in transients if not math.isfinite(t.settling_time_s)]
        raise InputError(f"{len(ends)} of {len(settle)} transients did not settle (at their runs' "
                         f"ends {min(ends):.3g}-{max(ends):.3g} FS from their operating "
                         "points): a failed measurement, not a settling time (run longer)")
    n, m = chip.n, chip.m
    conv = chip.config.converters
    core = np.array([t.core_energy_j for t in transients])
    act = np.array([t.activation_energy_j for t in transients])
    inputs = np.array([t.input_energy_j for t in transients])
    power = np.array([t.final_power_w for t in transients])
    bias = (np.array([t.bias_energy_j for t in transients])
            if chip_parts(chip.config).bias.in_deck else None)
    per_sample = _card_lines(chip, settle, core - act - (0 if bias is None else bias), act,
                             inputs, power, settings, bias)
    total = sum(values for _, values, _, _ in per_sample)
    lines = tuple(CardLine(block, *_stats(values), basis, counts)
                  for block, values, basis, counts in per_sample)
    median, p95 = _stats(total)
    equal = codes_equal(transients, z_op, conv)
    return EnergyCard(lines=lines, samples=len(transients), macs=n * (n + m), median_j=median,
                      p95_j=p95, sampling_s=float(np.median(settle)),
                      codes_equal=float(equal.all(axis=1).mean()),
                      code_agreement=float(equal.mean()))


ROUTING_OVERHEAD = 0.3
"""Area added to the devices' for wiring and spacing (a stated estimate, not a layout)."""


@dataclass(frozen=True)
class AreaCard:
    """The area of a chip by block [um^2]; blocks without a drawable part count 0 and are
    listed with Basis.NONE."""

    lines: tuple[CardLine, ...]
    routing_overhead: float

    @property
    def drawn_um2(self) -> float:
        return sum(line.median for line in self.lines)

    @property
    def total_mm2(self) -> float:
        return self.drawn_um2 * (1 + self.routing_overhead) / 1e6

    @property
    def complete(self) -> bool:
        """Whether every block is drawable."""
        return all(line.basis != Basis.NONE for line in self.lines)

    def tops_per_mm2(self, macs: int, inference_s: float) -> float:
        """2 operations per equivalent MAC, one inference every ``inference_s``."""
        return 2 * macs / inference_s / 1e12 / self.total_mm2

    def rows(self) -> list[dict]:
        return [{"block": line.block, "area_um2": line.median, "basis": str(line.basis),
                 "counts": line.counts} for line in self.lines]


def feedback_area(chip) -> CardLine:
    """Each neuron's feedback Rf || Cf drawn as an xhigh_po strip and a MIM capacitor."""
    c = chip.circuit
    um2 = float(sum(poly_area_um2(1.0 / g) + mim_area_um2(cf)
                    for g, cf in zip(c.g_feedback, c.c_feedback, strict=True)))
    return CardLine("feedback Rf || Cf", um2, um2, Basis.GEOMETRY,
                    f"{chip.n} x (xhigh_po Rf, median {np.median(1 / c.g_feedback) / 1e6:.2f} "
                    f"MOhm, and MIM Cf, median {np.median(c.c_feedback) * 1e12:.2f} pF)")


def area_card(chip, routing_overhead: float = ROUTING_OVERHEAD) -> AreaCard:
    """The area card of ``chip``: its parts' areas times their counts and its neurons' feedback
    networks (feedback_area)."""
    n, m = chip.n, chip.m
    parts = chip_parts(chip.config)
    counts = [(parts.cell, n * (n + m + 1), "weight cells, one per weight of [W | U | b]"),
              (parts.amplifier, n, "summing amplifiers"),
              (parts.activation, n, "activations and output drivers"),
              (parts.driver, m + 1, "input DAC drivers and the bias buffer")]
    if parts.reset is not None:
        counts.append((parts.reset, n, "reset switches"))
    counts.append((parts.bias, 1, "bias reference"))
    lines = []
    for part, count, block in counts:
        each = part.area_um2(parts.bias.in_deck)
        if each is None:
            lines.append(CardLine(block, 0.0, 0.0, Basis.NONE,
                                  f"{count} x {part.name}: behavioural, no device area"))
        else:
            lines.append(CardLine(block, count * each, count * each, Basis.GEOMETRY,
                                  f"{count} x {part.name} at {each:.4g} um^2"))
    return AreaCard(lines=(*lines, feedback_area(chip)), routing_overhead=routing_overhead)
