"""Typed results of a loop run (summary.json, read back by ``codesign report`` through
codesign.schema): the settings, the baselines, each round, the energy stage and the verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from codesign.circuit.config import CircuitConfig
from codesign.deq.model import DEFAULT_GAMMA, DEQConfig
from codesign.results.calibration import RefitResult
from codesign.results.verify import EnergySpread, Spread
from codesign.tasks.base import AcceptanceItem, Metric, TaskMetrics
from codesign.tasks.profile import TaskProfile


@dataclass(frozen=True)
class LoopSettings:
    """One loop run. Sizes and counts default to the task's profile (Task.profile)."""

    task: str = "control"
    neuron: str = "transistor"
    """Fidelity level of the verified circuit (ideal, opamp, transistor, cmos)."""
    rounds: int = 3
    """At most this many train -> verify -> calibrate rounds."""
    mismatch_sigma: float = 0.05
    """Relative programming error per device, in training draws and in the verified chip."""
    levels: int | None = None
    """Conductance levels per cell (0: continuous; None: the profile's, digits 2)."""
    chip_seed: int = 1
    """Seed of the verified chip instance's mismatch."""
    params_path: str = ""
    """Starting proxy parameters (default: calibration/NEURON.json)."""
    evaluate: bool = True
    """After the rounds: seeds comparison, robustness curves, energy and latency."""
    seeds: int = 0
    """Seeds of the physics-aware vs naive comparison (0: the profile's)."""
    verify_samples: int = 0
    """Held-out test samples per SPICE verification (0: the profile's)."""
    dac_bits: int = 8
    """Bits of the core's input DACs (0: ideal converters)."""
    adc_bits: int = 8
    """Bits of the neuron outputs' ADCs (0: ideal converters)."""
    circuit_path: str = ""
    """A circuit config (JSON, e.g. a design search's chosen/circuit.json) to use instead of
    the level's default with levels, mismatch and bits above."""
    circuit_overrides: dict[str, Any] = field(default_factory=dict)
    """Circuit settings by dotted path (``--set``), applied last (codesign.circuit.settings)."""
    encoder: str = "linear-tanh"
    """The model's encoder: linear-tanh (digital) or none (the task's features to the DACs)."""
    decoder: str = "linear"
    """The model's decoder: linear (digital) or per-neuron (each neuron one output)."""
    gamma: float = DEFAULT_GAMMA
    """The core's contraction bound ||W||_2 <= gamma < 1 (every model the run trains, the
    digital baselines included)."""


@dataclass(frozen=True)
class ModelRun:
    """One model's metric on one chip's samples, three ways: the digital core (float64 fixed
    point), the proxy of the chip and the chip in SPICE."""

    digital: TaskMetrics
    proxy: TaskMetrics
    circuit: TaskMetrics

    def row(self) -> dict:
        """Flat columns: digital, proxy, circuit (the metrics) and NAME_count etc."""
        out = {}
        for name in ("digital", "proxy", "circuit"):
            metrics = getattr(self, name)
            out[name] = metrics.metric
            for key in ("count", "success_rate", "spread"):
                out[f"{name}_{key}"] = getattr(metrics, key)
        return out


@dataclass(frozen=True)
class BaselineRow:
    """A digital model on the full test (closed-loop tasks: the episodes)."""

    model: str
    parameters: int
    """Trainable parameters (the expert's gains for a controller)."""
    train_s: float
    """Training wall time [s]."""
    test_metric: float
    """The task's metric on the whole test (closed-loop tasks: the episodes)."""
    success_rate: float | None = None

    def row(self) -> dict:
        """The baseline as a baselines.csv row."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class RoundRecord:
    """One round: fine-tune through the proxy, verify the chip, re-fit the proxy."""

    round: int
    params: str
    """Which proxy parameters the round trained through."""
    train_s: float
    run: ModelRun
    reference_digital: float
    """The naive digital DEQ's metric on the same samples."""
    within_target: bool
    calibration: RefitResult
    wall_s: float

    def row(self) -> dict:
        """The round as a rounds.csv row."""
        return {"round": self.round, "params": self.params, "train_s": self.train_s,
                **self.run.row(), "reference_digital": self.reference_digital,
                "within_target": self.within_target,
                **{f"calibration_{k}": v for k, v in vars(self.calibration).items()},
                "wall_s": self.wall_s}


@dataclass(frozen=True)
class DigitalSolve:
    """The digital core solve of the same equilibrium, measured here."""

    iterations: float
    latency_batch1_s: float
    time_per_sample_batched_s: float
    torch_threads: int


@dataclass(frozen=True)
class EnergyResult:
    """Settling and energy from transients from reset, beside the digital solve."""

    samples: int
    settling_s: Spread
    settling_bound_s: Spread
    tau_s: float
    energy_per_inference_j: EnergySpread
    energy_per_mac_j: float
    macs_per_matvec: int
    digital_solve: DigitalSolve
    circuit: CircuitConfig


@dataclass(frozen=True)
class LoopSummary:
    """Everything a loop run measured (summary.json); written after every stage, ``complete``
    once the run has finished."""

    settings: LoopSettings
    profile: TaskProfile
    deq: DEQConfig
    circuit: CircuitConfig
    task_source: str
    metric: Metric
    verified_samples: int
    ngspice_version: str
    backend: str
    timings_s: dict[str, float] = field(default_factory=dict)
    baselines: tuple[BaselineRow, ...] = ()
    reference: ModelRun | None = None
    rounds: tuple[RoundRecord, ...] = ()
    converged: bool | None = None
    energy: EnergyResult | None = None
    acceptance: tuple[AcceptanceItem, ...] = ()
    complete: bool = False
