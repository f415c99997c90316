"""The calibration pipeline: spec -> probes -> SPICE sweep -> fitted ProxyParams -> evaluation.

Per grid point: the static parameters are fitted to the equilibria of the fit cores, tau and the
dead time to their transients; the held-out cores (never fitted) give the residuals, settling
times and Monte Carlo spreads reported beside the uncalibrated ideal and nominal proxies.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from codesign.calibration.data import ProbeSets, load_probe
from codesign.calibration.fit import fit_dynamics, fit_static
from codesign.calibration.probes import Probe, spec_probes
from codesign.calibration.residuals import mismatch_spread, residual_stats, settling_stats
from codesign.calibration.spec import CalibrationSpec
from codesign.errors import SimulationError
from codesign.jobs import Executor, LocalExecutor, Pool
from codesign.proxy.params import ProxyParams, ideal_params, nominal_params
from codesign.results.calibration import FitLoss, PointEvaluation, ProxyResiduals
from codesign.simulator.batch import JOB_TIMEOUT_S, BatchStats, SpiceJob, job_arrays, run_jobs
from codesign.simulator.ngspice import find_ngspice
from codesign.simulator.store import ResultStore


@dataclass(frozen=True, eq=False)
class PointResult:
    """The fit at one grid point and how it predicts the held-out probes."""

    index: int
    settings: dict
    params: ProxyParams
    evaluation: PointEvaluation
    data: ProbeSets
    fit_s: float
    timings: dict | None = None
    mismatch_per_neuron: dict = field(default_factory=dict)
    """Per-neuron standard deviations {"spice_sd", "proxy_sd"} of the Monte Carlo check."""


def _sets(probes: list[Probe], jobs: list[SpiceJob], store: ResultStore) -> ProbeSets:
    sets = ProbeSets()
    for probe, job in zip(probes, jobs, strict=True):
        arrays = job_arrays(job, store)
        if arrays is not None:
            sets.add(load_probe(probe, arrays))
    return sets


def _residuals(params: ProxyParams, ideal: ProxyParams, nominal: ProxyParams, data: list,
               v_fs: float) -> ProxyResiduals:
    return ProxyResiduals(calibrated=residual_stats(params, data, v_fs),
                          ideal=residual_stats(ideal, data, v_fs),
                          nominal=residual_stats(nominal, data, v_fs))


def fit_point(index: int, settings: dict, data: ProbeSets, spec: CalibrationSpec) -> PointResult:
    """Fit one grid point's parameters and evaluate them on its held-out probes."""
    start = time.perf_counter()
    config = (data.fit or data.holdout)[0].probe.config
    v_fs = config.mapping.v_fs
    nominal = nominal_params(config)
    params, static_loss = fit_static(nominal, data.fit, v_fs, spec.fit)
    timings = {"static_fit_s": time.perf_counter() - start}
    dyn_loss: list[float] = []
    if data.fit_tran:
        params, dyn_loss = fit_dynamics(params, data.fit_tran, v_fs, spec.fit)
    timings["dynamic_fit_s"] = time.perf_counter() - start - timings["static_fit_s"]
    ideal = ideal_params(config)
    # the held-out cores' own instance joins their Monte Carlo instances
    mc = data.mc + data.holdout if data.mc else []
    mismatch, per_neuron = mismatch_spread(params, mc, v_fs) if mc else (None, {})
    evaluation = PointEvaluation(
        holdout=_residuals(params, ideal, nominal, data.holdout, v_fs),
        fit=_residuals(params, ideal, nominal, data.fit, v_fs),
        settling_holdout=settling_stats(params, data.holdout_tran, v_fs),
        settling_fit=settling_stats(params, data.fit_tran, v_fs),
        mismatch=mismatch,
        loss=FitLoss(static_loss[0], static_loss[-1], dyn_loss[0] if dyn_loss else None,
                     dyn_loss[-1] if dyn_loss else None))
    return PointResult(index, settings, params, evaluation, data, time.perf_counter() - start,
                       timings, per_neuron)


@dataclass(frozen=True, eq=False)
class Calibration:
    """A spec's sweep and the fit of every grid point whose fit probes finished."""

    spec: CalibrationSpec
    points: list[PointResult]
    sweep: BatchStats
    failed: dict[str, dict]

    @property
    def base(self) -> PointResult:
        """The base point (the spec's [circuit] alone): what ``codesign calibrate --out``
        writes. SimulationError when its fit probes all failed: no other point stands in."""
        for point in self.points:
            if point.index == 0:
                return point
        raise SimulationError(
            f"every fit probe of the base point of spec {self.spec.name!r} failed, so there are "
            "no parameters to write; see the failed jobs' records in the store, fix the circuit "
            "settings or raise --timeout, and re-run (finished jobs are kept)")

    def table(self) -> pd.DataFrame:
        """One row per grid point: swept settings, fitted parameters, held-out residuals."""
        rows = []
        for p in self.points:
            ev = p.evaluation
            rows.append({
                "point": p.index, **{f"set_{k}": v for k, v in p.settings.items()},
                **{f"fit_{k}": v for k, v in asdict(p.params).items()
                   if isinstance(v, float)},
                "holdout_rms_fs": ev.holdout.calibrated.rms,
                "holdout_max_fs": ev.holdout.calibrated.max,
                "ideal_rms_fs": ev.holdout.ideal.rms,
                "nominal_rms_fs": ev.holdout.nominal.rms,
                "settling_median_rel_error": ev.settling_holdout.median_abs_rel_error,
                "mc_rms_sd_ratio": ev.mismatch.rms_sd_ratio if ev.mismatch else None,
                "fit_s": p.fit_s,
            })
        return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class Plan:
    """Every probe of a spec and its SPICE job (same order)."""

    probes: list[Probe]
    jobs: list[SpiceJob]

    @property
    def unique_jobs(self) -> int:
        return len({j.key for j in self.jobs})


def plan(spec: CalibrationSpec) -> Plan:
    """The probes and keyed SPICE jobs of ``spec`` (decks written for this ngspice's KLU)."""
    probes = spec_probes(spec, find_ngspice().klu)
    return Plan(probes, [p.spice_job() for p in probes])


def calibrate(spec: CalibrationSpec, work_dir: Path, executor: Executor | None = None,
              progress: Callable[[int], None] | None = None, planned: Plan | None = None,
              timeout_s: float = JOB_TIMEOUT_S) -> Calibration:
    """Run (or resume) the spec's SPICE jobs under ``work_dir`` on ``executor`` (default: a
    local process pool on all cores; codesign.jobs) and fit every grid point."""
    planned = planned or plan(spec)
    store = ResultStore(Path(work_dir) / "store")
    stats = run_jobs(planned.jobs, store, executor or LocalExecutor(pool=Pool.FORK), progress,
                     timeout_s)
    failed = {key: store.error(key) for key in stats.failed}
    points = []
    for index, settings in enumerate(spec.points()):
        mine = [(p, j) for p, j in zip(planned.probes, planned.jobs, strict=True)
                if p.point == index]
        data = _sets([p for p, _ in mine], [j for _, j in mine], store)
        if data.fit:
            points.append(fit_point(index, settings, data, spec))
    return Calibration(spec, points, stats, failed)
