"""The proxy's noise against SPICE: the spread of a chip's equilibria over repeated noisy
transients, measured and predicted, and the proxy's ``noise_excess`` fitted to it.

A circuit's noise spread depends on its settling dynamics (a slower neuron averages its noise
longer), so a chip is first calibrated on its own noiseless SPICE runs (:func:`calibrate_chip`:
static parameters on operating points, tau and the output pole on transients); the spread is
then predicted by the Lyapunov covariance of codesign.proxy.noise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from codesign.calibration.data import ProbeData
from codesign.calibration.fit import fit_dynamics
from codesign.calibration.refit import refit
from codesign.calibration.spec import FitSpec
from codesign.chip.chip import Chip
from codesign.circuit.config import NoiseConfig, scale_currents
from codesign.circuit.settings import override
from codesign.errors import InputError
from codesign.limits import check_samples
from codesign.proxy.model import CircuitProxy
from codesign.proxy.noise import (
    NoiseSources,
    equilibrium_covariance,
    equilibrium_std,
    sample_noise,
)
from codesign.proxy.params import ProxyParams

MIN_REPEATS = 4


@dataclass(frozen=True)
class NoiseSpread:
    """Per-neuron spread [FS] of a chip's activations over repeated noisy transients, SPICE
    measured and proxy predicted, each pooled over the inputs (the rms of the per-input
    standard deviations)."""

    spice_fs: tuple[float, ...]
    proxy_fs: tuple[float, ...]
    inputs: int
    repeats: int

    @property
    def ratios(self) -> np.ndarray:
        """(n,) predicted over measured spread."""
        return np.asarray(self.proxy_fs) / np.asarray(self.spice_fs)

    @property
    def median_error(self) -> float:
        """Median over neurons of |predicted / measured - 1|."""
        return float(np.median(np.abs(self.ratios - 1.0)))

    @property
    def sampling_error(self) -> float:
        """Relative standard error of each measured spread (chi-square, inputs x (repeats - 1)
        degrees of freedom)."""
        return float(1.0 / np.sqrt(2.0 * self.inputs * (self.repeats - 1)))


def noiseless(chip: Chip) -> Chip:
    """The same instance (its conductances and device seed) without noise sources."""
    config = override(chip.config, {"noise": asdict(NoiseConfig())})
    return Chip.from_circuit(chip.core, replace(chip.circuit, config=config), chip.simulator,
                             title="codesign noiseless twin", allow_unstable=chip.allow_unstable)


COVARIANCE_SAMPLES = 8
"""Inputs whose Lyapunov covariances are averaged into the one each batch draws from (one
solve of a 2n x 2n Lyapunov equation costs ~0.2 s at n = 64)."""


def noisy_states(chip, params, e: np.ndarray, z: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(z with one draw of the circuit noise around each equilibrium, the (n,) spreads): the
    proxy's Lyapunov covariance (checked against noisy SPICE transients, codesign noise),
    averaged over up to COVARIANCE_SAMPLES of the inputs, spread evenly. A chip without noise
    sources (noise.enabled false) gives z itself and zero spreads."""
    if not chip.config.noise.enabled:
        return np.array(z, dtype=float), np.zeros(np.shape(z)[-1])
    pick = np.unique(np.linspace(0, len(e) - 1, min(len(e), COVARIANCE_SAMPLES)).astype(int))
    cov = equilibrium_covariance(CircuitProxy(params, chip.v_fs), chip.effective, e[pick],
                                 NoiseSources.of(chip.config)).mean(0)
    return z + sample_noise(cov[None], rng, len(e)), np.sqrt(np.diag(cov))


def calibrate_chip(params: ProxyParams, chip: Chip, e_static: np.ndarray,
                   e_dynamic: np.ndarray, run_dir: Path,
                   fit: FitSpec | None = None) -> ProxyParams:
    """``params`` re-fitted to this chip's own noiseless SPICE runs: the static parameters to
    the operating points of ``e_static`` (even rows fitted, odd rows judge), then tau, the
    output pole and the dead time to one transient per row of ``e_dynamic``."""
    twin, run_dir = noiseless(chip), Path(run_dir)
    ops = twin.operating_points(e_static, run_dir / "op")
    params, _ = refit(params, twin, twin.inputs(e_static), ops.z, ops.x)
    data = []
    for k, row in enumerate(twin.inputs(e_dynamic)):
        t, zt = twin.trace(row, run_dir / f"trace-{k}")
        op = twin.operating_points(row[None], run_dir / f"trace-{k}-op")
        data.append(ProbeData(None, twin.effective, torch.from_numpy(row[None]),
                              torch.from_numpy(op.z), torch.from_numpy(op.x),
                              torch.from_numpy(t[None]), torch.from_numpy(zt[None])))
    if data:
        params, _ = fit_dynamics(params, data, twin.v_fs, fit or FitSpec())
    return params


def noise_spread(chip: Chip, params: ProxyParams, e: np.ndarray, repeats: int,
                 run_dir: Path) -> NoiseSpread:
    """Measure the spread of ``chip`` (noise enabled) over ``repeats`` noisy transients per row
    of ``e``, and predict it with ``params``."""
    if repeats < MIN_REPEATS:
        raise InputError(f"a noise spread needs >= {MIN_REPEATS} repeats, got {repeats}")
    e = chip.inputs(e)
    z = chip.noisy_equilibria(e, repeats, Path(run_dir))
    measured = np.sqrt((z.std(0, ddof=1) ** 2).mean(0))
    proxy = CircuitProxy(params, chip.v_fs)
    std = equilibrium_std(proxy, chip.effective, e, NoiseSources.of(chip.config))
    predicted = np.sqrt((std**2).mean(0))
    return NoiseSpread(tuple(measured.tolist()), tuple(predicted.tolist()), len(e), repeats)


def fit_noise_excess(params: ProxyParams, spreads: list[NoiseSpread]) -> ProxyParams:
    """``params`` with ``noise_excess`` scaled so that the predicted variance matches the
    measured one (the median over all neurons of measured / predicted variance)."""
    if not spreads:
        raise InputError("fitting the noise needs at least one measured spread")
    measured = np.concatenate([np.asarray(s.spice_fs) for s in spreads])
    predicted = np.concatenate([np.asarray(s.proxy_fs) for s in spreads])
    usable = (measured > 0) & (predicted > 0) & np.isfinite(measured) & np.isfinite(predicted)
    if not usable.any():
        raise InputError("no neuron has both a measured and a predicted noise spread (each on "
                         "a rail, or a noiseless circuit), so noise_excess cannot be fitted; "
                         "use inputs that keep the neurons off their rails")
    ratio = float(np.median((measured[usable] / predicted[usable]) ** 2))
    return params.replace(noise_excess=params.noise_excess * ratio)


@dataclass(frozen=True)
class NoiseCheck:
    """The proxy's noise against SPICE on one core: ``noise_excess`` fitted on one set of
    inputs, judged on another (``held_out``), and on the same inputs at the circuit with every
    current ``current_ratio`` times as large (``scaled``), each circuit calibrated on its own
    noiseless runs first."""

    params: ProxyParams
    """The parameters with the fitted noise_excess (calibrated to the unscaled circuit)."""
    fitted: NoiseSpread
    held_out: NoiseSpread
    scaled: NoiseSpread
    current_ratio: float
    scaled_params: ProxyParams | None = None
    """The same, recalibrated to the scaled circuit."""

    @property
    def growth_spice(self) -> np.ndarray:
        """(n,) measured spread at the scaled circuit over the unscaled one."""
        return np.asarray(self.scaled.spice_fs) / np.asarray(self.held_out.spice_fs)

    @property
    def growth_proxy(self) -> np.ndarray:
        """(n,) predicted spread at the scaled circuit over the unscaled one."""
        return np.asarray(self.scaled.proxy_fs) / np.asarray(self.held_out.proxy_fs)

    @property
    def growth_error(self) -> float:
        """Median over neurons of |predicted growth / measured growth - 1|."""
        return float(np.median(np.abs(self.growth_proxy / self.growth_spice - 1.0)))


@dataclass(frozen=True)
class NoisePlan:
    """How much SPICE a noise check runs: per circuit ``inputs`` x ``repeats`` noisy
    transients for each spread, and ``static_inputs`` operating points and
    ``dynamic_inputs`` transients for its calibration."""

    inputs: int = 4
    repeats: int = 32
    static_inputs: int = 48
    dynamic_inputs: int = 4
    current_ratio: float = 0.1

    def __post_init__(self) -> None:
        if min(self.inputs, self.static_inputs) < 1 or self.dynamic_inputs < 0:
            raise InputError("a noise check needs >= 1 input and >= 1 static input")
        if self.repeats < MIN_REPEATS:
            raise InputError(f"a noise check needs >= {MIN_REPEATS} repeats, got "
                             f"{self.repeats}")
        if not 0 < self.current_ratio < 1e3 or self.current_ratio == 1:
            raise InputError(f"the current ratio must lie in (0, 1000) and differ from 1, got "
                             f"{self.current_ratio}")

    @property
    def transients(self) -> int:
        """SPICE transients of one check: three spreads (fit, held-out, scaled) of inputs x
        repeats noisy ones, and each of the two circuits' calibration transients."""
        return 3 * self.inputs * self.repeats + 2 * self.dynamic_inputs

    def check_size(self, n: int, force: bool = False) -> None:
        """SizeError (with the estimate) for a check larger than this machine should run."""
        check_samples(self.transients, force, what=f"noisy transients of an n={n} chip")


def check_noise(chip: Chip, params: ProxyParams, run_dir: Path, plan: NoisePlan,
                rng: np.random.Generator) -> NoiseCheck:
    """Calibrate, fit and judge the proxy's noise on ``chip`` (noise enabled) and on the same
    instance compiled at scaled currents (codesign.circuit.config.scale_currents, the same
    seed); inputs drawn from ``rng``."""
    run_dir = Path(run_dir)
    draw = {name: rng.uniform(-1.0, 1.0, (count, chip.m)) for name, count in (
        ("fit", plan.inputs), ("test", plan.inputs), ("static", plan.static_inputs),
        ("dynamic", plan.dynamic_inputs))}
    own = calibrate_chip(params, chip, draw["static"], draw["dynamic"], run_dir / "calibrate")
    fitted = noise_spread(chip, own, draw["fit"], plan.repeats, run_dir / "fit")
    own = fit_noise_excess(own, [fitted])
    held_out = noise_spread(chip, own, draw["test"], plan.repeats, run_dir / "held-out")
    if chip.seed is None:
        raise InputError("a noise check recompiles the chip at scaled currents: give it a "
                         "chip compiled with a seed (Chip(core, config, seed=...))")
    scaled_chip = Chip(chip.core, scale_currents(chip.config, plan.current_ratio), chip.seed,
                       chip.simulator, title="codesign current-scaled twin",
                       allow_unstable=chip.allow_unstable)
    scaled_params = calibrate_chip(own, scaled_chip, draw["static"], draw["dynamic"],
                                   run_dir / "scaled-calibrate")
    scaled = noise_spread(scaled_chip, scaled_params, draw["test"], plan.repeats,
                          run_dir / "scaled")
    return NoiseCheck(own, fitted, held_out, scaled, plan.current_ratio, scaled_params)
