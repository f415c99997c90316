"""Circuit-level verification: run a chip in SPICE and compare it with PyTorch.

For each sample: z_torch, the float64 PyTorch fixed point of the core; z_model, the circuit's
equilibrium predicted from its element values (finite gain, offsets, rails); z_spice, ngspice's
operating point; z_proxy, the calibrated proxy's prediction of this instance (by default the
shipped set of the chip's neuron level, as ``codesign verify`` uses; ``VerifySettings(proxy=
None)`` skips it). With ``analysis tran`` each sample also runs a transient from reset (same
deck, same process), from which the settling time and the energy per inference are read. The
summary is a typed VerificationSummary (codesign.results.verify).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from codesign.chip.chip import Chip, ChipRun, Progress
from codesign.choices import Choice
from codesign.circuit.config import CircuitConfig
from codesign.circuit.description import CrossbarCircuit
from codesign.circuit.dynamics import SETTLE_TOL_FS, settling_bound_s
from codesign.circuit.predict import CircuitPrediction
from codesign.deq.weights import CoreWeights
from codesign.errors import InputError
from codesign.netlist.deck import Analysis
from codesign.proxy.fitted import check_range
from codesign.proxy.params import (
    ProxyParams,
    config_library_sha256,
    default_params_path,
    load_params,
    neuron_model,
)
from codesign.results.verify import (
    EnergySpread,
    ErrorStats,
    ProxyCheck,
    SettlingSummary,
    Spread,
    TaskMetric,
    VerificationSummary,
)
from codesign.simulator.base import Simulator
from codesign.simulator.store import ResultStore


class ProxySet(Choice):
    """A proxy a verification names without passing parameters."""

    SHIPPED = "shipped"
    """The shipped, calibrated set of the chip's neuron level (calibration/LEVEL.json), as
    ``codesign verify`` uses by default; none where the level has none or the chip's circuit
    is a sparse (grid) crossbar, which no proxy models."""
    NONE = "none"
    """No proxy: the verification reports SPICE against PyTorch and the closed form only."""


@dataclass(frozen=True)
class VerifySettings:
    """What to simulate and how strictly to judge settling."""

    analysis: Analysis = Analysis.OP
    """op (equilibria) or tran (equilibria, then a transient from reset for settling/energy)."""
    settle_tol_fs: float = SETTLE_TOL_FS
    """Settling tolerance, a fraction of full scale."""
    proxy: ProxyParams | ProxySet | Path | None = ProxySet.SHIPPED
    """The proxy whose prediction is reported beside SPICE's (z_proxy): by default the shipped
    set of the chip's level, as ``codesign verify`` does (ProxySet.SHIPPED, "shipped"); a
    parameter file (a path, as ``--proxy``); ProxyParams; or None ("none"): no proxy. A set
    read from a file is checked against the circuit it was fitted on (codesign.proxy.fitted):
    used outside it, a ProxyRangeWarning says so."""
    seed: int = 0
    """Seed of the device mismatch drawn at compile time (when the config sets a sigma)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "analysis", Analysis.parse(self.analysis, "analysis"))
        proxy = self.proxy
        if isinstance(proxy, str) and proxy in ProxySet.values():
            proxy = ProxySet(proxy)
        elif isinstance(proxy, str | PathLike) and not isinstance(proxy, ProxySet):
            proxy = Path(proxy)
        elif proxy is not None and not isinstance(proxy, ProxyParams):
            raise InputError(f"VerifySettings proxy must be ProxyParams, a parameter file's "
                             f"path, 'shipped' or None, got {type(proxy).__name__}")
        object.__setattr__(self, "proxy", None if proxy == ProxySet.NONE else proxy)
        if not 0 < self.settle_tol_fs < 1:
            raise InputError(f"the settling tolerance must lie in (0, 1) of full scale, got "
                             f"{self.settle_tol_fs}")


@dataclass(frozen=True, eq=False)
class Verification:
    """Per-unit equilibria, per-sample transients and the summary of one verification."""

    equilibria: pd.DataFrame
    transients: pd.DataFrame | None
    summary: VerificationSummary
    z_torch: np.ndarray
    z_spice: np.ndarray
    x_spice: np.ndarray
    """SPICE pre-activations (op-amp outputs) [FS], for calibration on these traces."""
    chip: Chip
    """The compiled instance that was simulated."""
    z_proxy: np.ndarray | None = None
    """The proxy's equilibria [FS] when the settings name proxy parameters."""
    proxy_range: tuple[str, ...] = ()
    """The chip's circuit settings outside the range the proxy's file records it was fitted
    on (each 'setting value (fitted value, xratio)'; warned as a ProxyRangeWarning)."""

    def with_task_metric(self, metric: TaskMetric, full_digital: float | None) -> Verification:
        """A copy whose summary carries the task's metric on these samples."""
        summary = replace(self.summary, task_metric=metric, test_metric_full_digital=full_digital)
        return replace(self, summary=summary)


def verify_chip(chip: Chip, e: np.ndarray, run_dir: Path,
                settings: VerifySettings = VerifySettings(), progress: Progress | None = None,
                store: ResultStore | None = None) -> Verification:
    """Simulate ``chip`` on the core inputs ``e`` (K x m) under ``run_dir`` and compare with
    PyTorch, the closed form and (``settings.proxy``, the level's shipped set by default, as
    ``codesign verify``) the proxy. The chip itself refused a non-contractive core unless it
    was compiled with ``allow_unstable=True``, as the command line does."""
    start = time.perf_counter()
    e = chip.inputs(e)
    proxy, proxy_path, proxy_range = resolve_proxy(settings.proxy, chip)
    with one_thread():
        z_torch = chip.core.equilibrium(e)
        pred = chip.prediction(e)
    run_dir = Path(run_dir)
    transients = None
    try:
        if settings.analysis == Analysis.TRAN:
            run = chip.transients(e, run_dir, settings.settle_tol_fs, progress, store, pred)
            transients = _transient_table(chip, pred, run, settings.settle_tol_fs)
        else:
            run = chip.operating_points(e, run_dir / "op", progress, store)
    finally:
        if store is not None:
            store.flush()  # a chunked store's last samples, finished or failed
    equilibria = _equilibrium_table(z_torch, pred.z, run.z, chip.config.neuron.level)
    summary = _summary(chip, settings, z_torch, pred, run.z, transients)
    z_proxy = None
    if proxy is not None:
        with one_thread():
            z_proxy = chip.proxy_equilibrium(proxy, e)
        equilibria["z_proxy"] = z_proxy.ravel()
        equilibria["error_proxy"] = (run.z - z_proxy).ravel()
        summary = replace(summary, proxy_error_fs=ErrorStats.of(run.z - z_proxy),
                          proxy=_proxy_check(proxy, chip.config, proxy_path))
    summary = replace(summary, wall_s=time.perf_counter() - start)
    return Verification(equilibria, transients, summary, z_torch, run.z, run.x, chip, z_proxy,
                        proxy_range)


@contextmanager
def one_thread() -> Iterator[None]:
    """torch on one thread inside the block (restored after): the batched solves of a
    verification (the PyTorch fixed point, the closed form, the proxy) are small matrix
    products, which threads only slow down, and more so beside the ngspice processes
    (measured at n = 64, 1040 samples on 2 busy cores: 0.15 s against 0.78 s)."""
    import torch  # deferred: loaded by the solves anyway

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def resolve_proxy(proxy: ProxyParams | ProxySet | Path | None,
                  chip: Chip) -> tuple[ProxyParams | None, str, tuple[str, ...]]:
    """(params, the file they came from or "", the chip's settings outside the range the file
    records) of a VerifySettings proxy for ``chip``; a ProxyRangeWarning where that range is
    left (the check runs before any SPICE)."""
    if proxy is None or isinstance(proxy, ProxyParams):
        return proxy, "", ()
    if proxy == ProxySet.SHIPPED:
        if not isinstance(chip.circuit, CrossbarCircuit) or chip.circuit.sparse:
            return None, "", ()  # no proxy models a sparse (grid) crossbar or a network
        try:
            proxy = default_params_path(chip.config.neuron.level)
        except InputError:  # a level without a shipped set: no proxy
            return None, "", ()
    params, provenance = load_params(proxy)
    outside = check_range(provenance, chip.config, f"the proxy {proxy}", stacklevel=3)
    return params, str(proxy), outside


def verify_core(
    core: CoreWeights,
    e: np.ndarray,
    config: CircuitConfig,
    simulator: Simulator,
    run_dir: Path,
    settings: VerifySettings = VerifySettings(),
    progress: Progress | None = None,
    store: ResultStore | None = None,
    force: bool = False,
    allow_unstable: bool = False,
) -> Verification:
    """Compile ``core`` (mismatch from ``settings.seed``) and verify it on ``e`` (K x m); a
    core whose W is not a contraction is refused (UnstableCoreError) unless
    ``allow_unstable``, as ``codesign verify`` refuses it without ``--allow-unstable``."""
    chip = Chip(core, config, settings.seed, simulator, force=force,
                allow_unstable=allow_unstable)
    return verify_chip(chip, e, run_dir, settings, progress, store)


def task_metric(result: Verification, task, decode, targets: np.ndarray,
                readout=None, readout_samples: int | None = None) -> TaskMetric:
    """The ``task``'s offline metric of the digital and the circuit equilibria of ``result``
    (``decode``: core states -> model outputs; the circuit's by ``readout`` where given, a
    decoder fitted to this chip on ``readout_samples`` training inputs), and how often they
    agree."""
    digital, circuit = decode(result.z_torch), (readout or decode)(result.z_spice)
    return TaskMetric(task.offline_metric.name, task.score(digital, targets),
                      task.score(circuit, targets), task.agreement(digital, circuit),
                      readout_samples if readout is not None else None)


def _proxy_check(params: ProxyParams, config: CircuitConfig, path: str = "") -> ProxyCheck:
    return ProxyCheck(params.neuron_model, params.neuron_model == neuron_model(config),
                      params.library_sha256 == config_library_sha256(config), path)


def _clipped_fraction(chip: Chip, pred: CircuitPrediction) -> float:
    """Fraction of neuron outputs (all samples) that sit on an op-amp rail."""
    amp = chip.config.neuron.opamp
    rails = np.array([amp.rail_low_v, amp.rail_high_v]) / chip.v_fs
    return float(np.isclose(pred.x[..., None], rails, rtol=0, atol=1e-9).any(-1).mean())


def _equilibrium_table(z_torch, z_model, z_spice, level: str) -> pd.DataFrame:
    k, n = z_torch.shape
    return pd.DataFrame({
        "sample": np.repeat(np.arange(k), n),
        "unit": np.tile(np.arange(n), k),
        "neuron": level,
        "z_torch": z_torch.ravel(),
        "z_model": z_model.ravel(),
        "z_spice": z_spice.ravel(),
        "error": (z_spice - z_torch).ravel(),
        "error_model": (z_spice - z_model).ravel(),
    })


def _transient_table(chip: Chip, pred: CircuitPrediction, run: ChipRun,
                     tol: float) -> pd.DataFrame:
    tau = chip.circuit.time_constant_s()
    rho = chip.core.spectral_norm
    metrics = run.transients
    return pd.DataFrame({
        "sample": np.arange(len(metrics)),
        "settling_time_s": [m.settling_time_s for m in metrics],
        "settling_bound_s": [settling_bound_s(tau, rho, float(np.linalg.norm(x)), tol)
                             for x in pred.x],
        "final_error_fs": [m.final_error_fs for m in metrics],
        "energy_j": [m.energy_j for m in metrics],
        "core_energy_j": [m.core_energy_j for m in metrics],
        "input_energy_j": [m.input_energy_j for m in metrics],
        "t_stop_s": run.t_stop_s,
    })


def _settling(chip: Chip, transients: pd.DataFrame, tol: float) -> SettlingSummary:
    tau, rho = chip.circuit.time_constant_s(), chip.core.spectral_norm
    t_s = transients["settling_time_s"].to_numpy()
    bound = transients["settling_bound_s"].to_numpy()
    return SettlingSummary(
        tol_fs=tol, tau_s=tau, time_s=Spread.of(t_s),
        unsettled_samples=int((~np.isfinite(t_s)).sum()), bound_s=Spread.of(bound),
        within_bound=bool(np.all(t_s <= bound)) if rho < 1 else None,
        bound_unit_distance_s=settling_bound_s(tau, rho, 1.0, tol),
        final_error_fs_max=float(transients["final_error_fs"].max()))


def _summary(chip: Chip, settings: VerifySettings, z_torch, pred, z_spice,
             transients: pd.DataFrame | None) -> VerificationSummary:
    core, info = chip.core, chip.simulator.info
    summary = VerificationSummary(
        backend=info.backend, ngspice_version=info.ngspice_version, klu=info.klu,
        analysis=settings.analysis, samples=int(len(z_torch)), n=core.n, m=core.m,
        activation=core.activation, spectral_norm=core.spectral_norm,
        neuron=chip.config.neuron.level, circuit=chip.config,
        weights_sha256=chip.circuit.weights_sha256, devices=chip.circuit.device_count(),
        full_scale_v=chip.v_fs, mismatch_seed=settings.seed,
        equilibrium_error_fs=ErrorStats.of(z_spice - z_torch),
        model_error_fs=ErrorStats.of(z_spice - pred.z), model_converged=pred.converged,
        rail_clipped_fraction=_clipped_fraction(chip, pred))
    if transients is None:
        return summary
    converters = chip.config.converters.energy_j(core.n, core.m)
    energy = transients["energy_j"].to_numpy() + converters
    macs = core.n * (core.n + core.m)
    spread = Spread.of(energy)
    return replace(
        summary, settling=_settling(chip, transients, settings.settle_tol_fs),
        energy_per_inference_j=EnergySpread(
            spread.mean, spread.median, spread.max,
            core_mean=float(transients["core_energy_j"].mean()),
            input_mean=float(transients["input_energy_j"].mean()), converters=converters),
        energy_per_mac_j=float(np.nanmean(energy)) / macs, macs_per_matvec=macs)
