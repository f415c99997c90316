"""Calibration specs (TOML): which circuit, which probes, which parameters to sweep, how to fit.

    name = "transistor"
    [circuit]           # the level and circuit settings (codesign.circuit.settings)
    neuron = "transistor"
    array.mismatch_sigma = 0.05     # dotted paths, nested tables or unique names (dc_gain)
    [probes]            # ProbeSpec fields
    sizes = [32, 64]
    [sweep]             # optional: a list per setting; one calibration per grid point
    dc_gain = [1e3, 1e4, 1e5]
    [fit]               # FitSpec fields

Besides the circuit's fields a point may set ``n`` (the core size, instead of probes.sizes) and
``rail_fs`` (symmetric op-amp rails in units of full scale). The point without [sweep] (the
[circuit] settings alone) is the base point: its fitted parameters are what ``codesign
calibrate --out`` writes.
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from codesign.circuit.config import CircuitConfig
from codesign.circuit.settings import build_circuit, canonical, flatten, override
from codesign.errors import InputError, SizeError
from codesign.files import safe_name
from codesign.limits import check_samples, check_size
from codesign.schema import from_json

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SPEC_SETTINGS = ("n", "rail_fs")
"""Settings of a grid point besides the circuit's own fields (codesign.circuit.settings): n,
the core size (replaces probes.sizes at that point); rail_fs, symmetric op-amp rails [FS]."""


MAX_JOBS = 20_000
"""SPICE jobs one spec may plan without --force."""


def point_settings(table: dict, where: str) -> dict:
    """A [circuit] or [sweep] table with every key a dotted circuit path (or n, rail_fs)."""
    out: dict = {}
    for key, value in flatten(table, where=where).items():  # in order: the grid follows it
        name = key if key in SPEC_SETTINGS else next(iter(canonical({key: value},
                                                                    f"{where} setting")))
        if name in out:
            raise InputError(f"{where} setting {name} is given twice")
        out[name] = value
    return out


def build_point(settings: dict) -> CircuitConfig:
    """The CircuitConfig of one grid point's settings (see point_settings)."""
    changes = {k: v for k, v in settings.items() if k not in SPEC_SETTINGS}
    config = build_circuit("opamp", changes)
    if "n" in settings and (type(settings["n"]) is not int or settings["n"] < 1):
        raise InputError(f"circuit setting n (the core size) must be a whole number >= 1, got "
                         f"{settings['n']!r}")
    if "rail_fs" in settings:
        rail = from_json(float, settings["rail_fs"], "circuit setting rail_fs")
        config = override(config, {"neuron.opamp.rail_high_v": rail * config.mapping.v_fs,
                                   "neuron.opamp.rail_low_v": -rail * config.mapping.v_fs})
    return config


def has_mismatch(config: CircuitConfig) -> bool:
    """Does a chip of ``config`` draw device mismatch (so Monte Carlo instances differ)?"""
    cmos = config.neuron.cmos
    return (config.array.mismatch_sigma > 0 or config.neuron.pair_mismatch_sigma > 0
            or bool(cmos and cmos.device_mismatch))


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
        if min(self.instances, self.seed) < 0 or self.mc_samples < 1:
            raise InputError("probes need instances and seed >= 0 and mc_samples >= 1")
        if self.holdout_cores < 1:
            raise InputError(f"probes.holdout_cores must be >= 1, got {self.holdout_cores}: the "
                             "held-out cores, never fitted, give the error a calibration "
                             "reports")
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
    sweep = point_settings(_table(data, "sweep"), "[sweep]")
    for key, values in sweep.items():
        if not isinstance(values, list) or not values:
            raise InputError(f"[sweep] {key} must be a non-empty list of values")
    return sweep


def probes_per_point(spec: CalibrationSpec, settings: dict) -> int:
    """How many probes (SPICE jobs) one grid point has, without building them."""
    ps = spec.probes
    sizes = 1 if "n" in settings else len(ps.sizes)
    per_core = 1 + (1 if ps.transients else 0)
    mc = ps.holdout_cores * ps.instances if has_mismatch(build_point(settings)) and \
        ps.instances > 1 else 0
    return sizes * len(ps.rho) * ((ps.cores + ps.holdout_cores) * per_core + mc)


def planned_jobs(spec: CalibrationSpec) -> int:
    """SPICE jobs of every grid point, counted without building them."""
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
        circuit=point_settings(_table(data, "circuit"), "[circuit]"),
        probes=from_json(ProbeSpec, _table(data, "probes"), "[probes]"), sweep=_sweep(data),
        fit=from_json(FitSpec, _table(data, "fit"), "[fit]"),
        description=_text(data, "description", ""))
    _check_grid(spec, force)
    for point in spec.points():
        build_point(point)  # every grid point must be a valid circuit before anything runs
    _check_size(spec, force)
    return spec
