"""Calibration specs (TOML): which circuit, which probes, which parameters to sweep, how to fit.

    name = "transistor"
    [circuit]           # flat circuit settings, see SETTINGS
    neuron = "transistor"
    [probes]            # ProbeSpec fields
    sizes = [32, 64]
    [sweep]             # optional: a list per setting; one calibration per grid point
    dc_gain = [1e3, 1e4, 1e5]
    [fit]               # FitSpec fields

The point without [sweep] (the [circuit] settings alone) is the base point: its fitted
parameters are what ``codesign calibrate --out`` writes.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from codesign.circuit.config import (
    ArrayConfig,
    CircuitConfig,
    MappingConfig,
    circuit_config,
)
from codesign.errors import InputError, check_keys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

OPAMP_SETTINGS = {"dc_gain": "dc_gain", "gbw_hz": "gbw_hz", "offset_v": "offset_v"}
ARRAY_SETTINGS = ("levels", "mismatch_sigma", "line_ohm")
MAPPING_SETTINGS = ("g_min_s", "g_max_s", "v_fs")
NEURON_SETTINGS = ("tau_s", "pair_mismatch_sigma")
SETTINGS = ("neuron", "n", "rail_fs", *OPAMP_SETTINGS, *ARRAY_SETTINGS, *MAPPING_SETTINGS,
            *NEURON_SETTINGS)
"""Names a [circuit] or [sweep] table may use. rail_fs: symmetric op-amp rails [FS]; n: the core
size (replaces probes.sizes at that point)."""


def build_circuit(settings: dict) -> CircuitConfig:
    """A CircuitConfig from flat settings (see SETTINGS)."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise InputError(f"unknown circuit settings {unknown}; use any of: {', '.join(SETTINGS)}")
    mapping = replace(MappingConfig(), **{k: settings[k] for k in MAPPING_SETTINGS
                                          if k in settings})
    amp = {OPAMP_SETTINGS[k]: float(settings[k]) for k in OPAMP_SETTINGS if k in settings}
    if "rail_fs" in settings:
        rail = float(settings["rail_fs"]) * mapping.v_fs
        amp.update(rail_high_v=rail, rail_low_v=-rail)
    array = ArrayConfig(**{k: settings[k] for k in ARRAY_SETTINGS if k in settings})
    config = circuit_config(str(settings.get("neuron", "opamp")), array=array, mapping=mapping,
                            **amp)
    neuron = {k: settings[k] for k in NEURON_SETTINGS if k in settings}
    return replace(config, neuron=replace(config.neuron, **neuron)) if neuron else config


@dataclass(frozen=True)
class ProbeSpec:
    """The random cores and inputs simulated at each grid point."""

    sizes: tuple[int, ...] = (32, 64)
    """Core sizes n; each core has m = n // 2 inputs."""
    rho: tuple[float, ...] = (0.5, 0.9)
    """Spectral norms ||W||_2 of the random cores."""
    cores: int = 2
    """Cores per (size, rho) used for fitting."""
    holdout_cores: int = 1
    """Cores per (size, rho) never used for fitting: the held-out test."""
    samples: int = 16
    """Input vectors per core (uniform in [-1, 1] FS)."""
    transients: int = 4
    """Of those, how many also run a transient from reset (0: none)."""
    instances: int = 0
    """Monte Carlo chip instances per held-out core (>= 2 to check the mismatch spread)."""
    mc_samples: int = 4
    """Input vectors per Monte Carlo instance (the first of the core's samples)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.sizes) < 1 or self.cores < 1 or self.samples < 1:
            raise InputError("probes need sizes >= 1, cores >= 1 and samples >= 1")
        if not all(0 < r < 1 for r in self.rho):
            raise InputError(f"probe rho must lie in (0, 1), got {self.rho}")
        if not 0 <= self.transients <= self.samples:
            raise InputError("probes.transients must lie in [0, samples]")


@dataclass(frozen=True)
class FitSpec:
    """The gradient-descent fits. Each runs ``*_steps`` Adam steps, then L-BFGS iterations;
    L-BFGS alone (the defaults) starts on the nominal parameters and finds the better minimum."""

    adam_steps: int = 0
    """Adam steps of the equilibrium fit."""
    lr: float = 0.02
    """Adam learning rate of the equilibrium fit (on the reparametrised values)."""
    lbfgs_steps: int = 100
    """L-BFGS iterations of the equilibrium fit."""
    tran_steps: int = 0
    """Adam steps of the transient fit (tau, output tau, dead time)."""
    tran_lbfgs_steps: int = 60
    """L-BFGS iterations of the transient fit."""


@dataclass(frozen=True)
class CalibrationSpec:
    name: str
    circuit: dict
    probes: ProbeSpec = field(default_factory=ProbeSpec)
    sweep: dict = field(default_factory=dict)
    fit: FitSpec = field(default_factory=FitSpec)
    description: str = ""

    def points(self) -> list[dict]:
        """Flat circuit settings of every grid point; the base point first."""
        base = dict(self.circuit)
        keys = list(self.sweep)
        grid = [dict(zip(keys, combo, strict=True))
                for combo in itertools.product(*(self.sweep[k] for k in keys))]
        return [base] + [{**base, **point} for point in grid if point]


def _section(data: dict, name: str, cls):
    table = data.get(name, {})
    check_keys(table, (f.name for f in fields(cls)), f"[{name}]")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in table.items()})


def load_spec(path: Path) -> CalibrationSpec:
    """Read and check a calibration spec; every problem is an InputError naming the fix."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"cannot read spec {path} ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"spec {path} is not valid TOML ({exc})") from None
    unknown = sorted(set(data) - {"name", "description", "circuit", "probes", "sweep", "fit"})
    if unknown:
        raise InputError(f"spec {path}: unknown tables or keys {unknown}")
    sweep = data.get("sweep", {})
    for key, values in sweep.items():
        if not isinstance(values, list) or not values:
            raise InputError(f"[sweep] {key} must be a non-empty list of values")
    spec = CalibrationSpec(
        name=str(data.get("name", path.stem)), circuit=dict(data.get("circuit", {})),
        probes=_section(data, "probes", ProbeSpec), sweep=sweep,
        fit=_section(data, "fit", FitSpec), description=str(data.get("description", "")))
    for point in spec.points():
        build_circuit(point)  # every grid point must be a valid circuit before anything runs
    return spec
