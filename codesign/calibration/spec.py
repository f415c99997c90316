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
import math
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from codesign.circuit.config import (
    ArrayConfig,
    CircuitConfig,
    circuit_config,
    level_mapping,
)
from codesign.errors import InputError, SizeError
from codesign.files import safe_name
from codesign.limits import check_samples, check_size
from codesign.schema import from_json

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

OPAMP_SETTINGS = {"dc_gain": "dc_gain", "gbw_hz": "gbw_hz", "offset_v": "offset_v"}
ARRAY_SETTINGS = ("levels", "mismatch_sigma", "line_ohm")
MAPPING_SETTINGS = ("g_min_s", "g_max_s", "v_fs")
NEURON_SETTINGS = ("tau_s", "pair_mismatch_sigma")
CMOS_SETTINGS = ("corner", "device_mismatch", "ota_bias_a", "ota_cc_f", "ota_rz_ohm",
                 "output_swing_v", "output_margin", "pair_tail_a", "slope_factor",
                 "attenuator_ohm")
"""The CMOS neuron's design (codesign.circuit.config.CmosParams), for the cmos level only."""
SETTINGS = ("neuron", "n", "rail_fs", *OPAMP_SETTINGS, *ARRAY_SETTINGS, *MAPPING_SETTINGS,
            *NEURON_SETTINGS, *CMOS_SETTINGS)
"""Names a [circuit] or [sweep] table may use. rail_fs: symmetric op-amp rails [FS]; n: the core
size (replaces probes.sizes at that point)."""


MAX_JOBS = 20_000
"""SPICE jobs one spec may plan without --force."""


def _check_types(settings: dict) -> None:
    for key, value in settings.items():
        if key in ("neuron", "corner"):
            ok = isinstance(value, str)
        elif key == "device_mismatch":
            ok = isinstance(value, bool)
        elif key in ("n", "levels"):
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok:
            raise InputError(f"circuit setting {key} = {value!r} has the wrong type; "
                             f"{'a neuron level name' if key == 'neuron' else 'a number'} is "
                             "needed")


def build_circuit(settings: dict) -> CircuitConfig:
    """A CircuitConfig from flat settings (see SETTINGS)."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise InputError(f"unknown circuit settings {unknown}; use any of: {', '.join(SETTINGS)}")
    _check_types(settings)
    level = str(settings.get("neuron", "opamp"))
    mapping = replace(level_mapping(level), **{k: settings[k] for k in MAPPING_SETTINGS
                                               if k in settings})
    amp = {OPAMP_SETTINGS[k]: float(settings[k]) for k in OPAMP_SETTINGS if k in settings}
    if "rail_fs" in settings:
        rail = float(settings["rail_fs"]) * mapping.v_fs
        amp.update(rail_high_v=rail, rail_low_v=-rail)
    array = ArrayConfig(**{k: settings[k] for k in ARRAY_SETTINGS if k in settings})
    config = circuit_config(level, array=array, mapping=mapping, **amp)
    neuron = {k: settings[k] for k in NEURON_SETTINGS if k in settings}
    cmos = {k: settings[k] for k in CMOS_SETTINGS if k in settings}
    if cmos and config.neuron.cmos is None:
        raise InputError(f"circuit settings {sorted(cmos)} belong to the cmos neuron, not "
                         f"{level!r}")
    if cmos:
        neuron["cmos"] = replace(config.neuron.cmos, **cmos)
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
        if not self.sizes or not self.rho:
            raise InputError("probes need at least one size and one rho")
        if min(self.sizes) < 1 or self.cores < 1 or self.samples < 1:
            raise InputError("probes need sizes >= 1, cores >= 1 and samples >= 1")
        if min(self.holdout_cores, self.instances, self.seed) < 0 or self.mc_samples < 1:
            raise InputError("probes need holdout_cores, instances and seed >= 0 and "
                             "mc_samples >= 1")
        check_samples(self.samples)
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

    def __post_init__(self) -> None:
        steps = (self.adam_steps, self.lbfgs_steps, self.tran_steps, self.tran_lbfgs_steps)
        if min(steps) < 0 or max(steps) > 100_000:
            raise InputError("[fit] step counts must lie in [0, 100000]")
        if not 0 < self.lr < 10:
            raise InputError(f"[fit] lr must lie in (0, 10), got {self.lr}")


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


def _table(data: dict, name: str) -> dict:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise InputError(f"[{name}] must be a table, got {type(table).__name__}")
    return table


def _text(data: dict, key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise InputError(f"spec {key} must be a string, got {value!r}")
    return value


def _sweep(data: dict) -> dict:
    sweep = _table(data, "sweep")
    for key, values in sweep.items():
        if not isinstance(values, list) or not values:
            raise InputError(f"[sweep] {key} must be a non-empty list of values")
    return sweep


def planned_jobs(spec: CalibrationSpec) -> int:
    """SPICE jobs of every grid point, counted without building them."""
    from codesign.calibration.probes import probes_per_point

    return sum(probes_per_point(spec, point) for point in spec.points())


def _check_grid(spec: CalibrationSpec, force: bool) -> None:
    points = math.prod(len(v) for v in spec.sweep.values())
    if points > MAX_JOBS and not force:
        raise SizeError(f"the sweep has {points:,} grid points; more than {MAX_JOBS:,} SPICE jobs "
                        "without --force: sweep fewer values")


def _check_size(spec: CalibrationSpec, force: bool) -> None:
    sizes = {int(p["n"]) for p in spec.points() if "n" in p} | set(spec.probes.sizes)
    for n in sizes:
        check_size(n, max(1, n // 2), force=force)
    jobs = planned_jobs(spec)
    if jobs > MAX_JOBS and not force:
        raise SizeError(f"the spec plans {jobs:,} SPICE jobs, more than the {MAX_JOBS:,} codesign "
                        "runs without --force; use fewer grid points, cores or instances")


def load_spec(path: Path, force: bool = False) -> CalibrationSpec:
    """Read and check a calibration spec; every problem is an InputError naming the fix."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"cannot read spec {path} ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise InputError(f"spec {path} is not a text file; pass a TOML spec") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"spec {path} is not valid TOML ({exc})") from None
    unknown = sorted(set(data) - {"name", "description", "circuit", "probes", "sweep", "fit"})
    if unknown:
        raise InputError(f"spec {path}: unknown tables or keys {unknown}")
    spec = CalibrationSpec(
        name=safe_name(_text(data, "name", path.stem), "spec name"),
        circuit=dict(_table(data, "circuit")),
        probes=from_json(ProbeSpec, _table(data, "probes"), "[probes]"), sweep=_sweep(data),
        fit=from_json(FitSpec, _table(data, "fit"), "[fit]"),
        description=_text(data, "description", ""))
    _check_grid(spec, force)
    for point in spec.points():
        build_circuit(point)  # every grid point must be a valid circuit before anything runs
    _check_size(spec, force)
    return spec
