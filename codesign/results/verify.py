"""Typed results of a verification (codesign.schema writes and reads them): errors, settling,
energy, the proxy's check and the task metric. Units in the field names: _fs full scale, _s
seconds, _j joules, _v volts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.circuit.config import CircuitConfig
from codesign.netlist.deck import Analysis


@dataclass(frozen=True)
class ErrorStats:
    """Largest and RMS absolute difference (units in the containing field's name)."""

    max: float
    rms: float

    @staticmethod
    def of(diff: np.ndarray) -> ErrorStats:
        return ErrorStats(float(np.abs(diff).max()), float(np.sqrt(np.mean(diff**2))))


@dataclass(frozen=True)
class ProxyCheck:
    """Which proxy parameters predicted the chip beside SPICE."""

    neuron_model: str
    matches_circuit: bool
    """Fitted to this chip's neuron model."""
    library_current: bool
    """Fitted to the SPICE libraries this codesign ships."""
    path: str = ""


@dataclass(frozen=True)
class Spread:
    """Mean, median and largest of the finite values (None when there are none)."""

    mean: float | None
    median: float | None
    max: float | None

    @staticmethod
    def of(values) -> Spread:
        values = np.asarray(values, float)
        finite = values[np.isfinite(values)]
        if len(finite) == 0:
            return Spread(None, None, None)
        return Spread(float(finite.mean()), float(np.median(finite)), float(finite.max()))


@dataclass(frozen=True)
class VerificationSummary:
    """What ``codesign verify`` measured (summary.json)."""

    backend: str
    """The simulator backend (process or shared)."""
    ngspice_version: str
    klu: bool
    """Whether the decks asked for the KLU solver (the ngspice build has it)."""
    analysis: Analysis
    samples: int
    n: int
    """Neurons of the core."""
    m: int
    """Inputs of the core (its DACs)."""
    activation: str
    spectral_norm: float
    """||W||_2 of the core (< 1: a contraction, one stable equilibrium)."""
    neuron: str
    """The neuron fidelity level."""
    circuit: CircuitConfig
    weights_sha256: str
    devices: int
    full_scale_v: float
    mismatch_seed: int | None
    equilibrium_error_fs: ErrorStats
    """SPICE against the float64 PyTorch fixed point."""
    model_error_fs: ErrorStats
    """SPICE against the circuit-aware prediction (finite gain, offsets, rails)."""
    model_converged: bool
    rail_clipped_fraction: float
    """Fraction of neuron outputs on an op-amp rail."""
    settling: SettlingSummary | None = None
    energy_per_inference_j: EnergySpread | None = None
    energy_per_mac_j: float | None = None
    macs_per_matvec: int | None = None
    proxy: ProxyCheck | None = None
    proxy_error_fs: ErrorStats | None = None
    task_metric: TaskMetric | None = None
    test_metric_full_digital: float | None = None
    source: str = ""
    wall_s: float = 0.0


@dataclass(frozen=True)
class SettlingSummary:
    """Transients from reset: time to within ``tol_fs`` of the operating point."""

    tol_fs: float
    tau_s: float
    time_s: Spread
    unsettled_samples: int
    bound_s: Spread
    within_bound: bool | None
    """Every sample within the contraction's bound (None: ||W||_2 >= 1, no bound)."""
    bound_unit_distance_s: float
    """tau ln(1 / tol) / (1 - ||W||_2): the bound for an equilibrium at distance 1 FS."""
    final_error_fs_max: float


@dataclass(frozen=True)
class EnergySpread:
    """Energy per inference [J]: from the supplies over the settling time (SPICE), and the
    converters' conversions (ConverterConfig.energy_j)."""

    mean: float | None
    median: float | None
    max: float | None
    core_mean: float
    """From the neurons' supplies."""
    input_mean: float
    """From the input DACs' and the bias reference's supplies."""
    converters: float = 0.0
    """The m DAC and n ADC conversions of one inference (a figure of merit, not SPICE)."""


@dataclass(frozen=True)
class TaskMetric:
    """The task's metric on the verified samples, from the digital and the circuit equilibria."""

    name: str
    """The task's offline metric (accuracy, relative L2 error, RMS action error)."""
    digital: float
    """From the float64 PyTorch fixed point of the core."""
    circuit: float
    """From ngspice's operating points."""
    agreement: float | None = None
    """Classification: the fraction of samples the circuit gives the digital model's class."""
    readout_samples: int | None = None
    """The circuit's decoder was fitted to this chip's SPICE states of that many training
    inputs (codesign.calibration.readout; None: the decoder as trained)."""
