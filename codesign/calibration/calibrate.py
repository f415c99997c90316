"""The calibration pipeline: spec -> probes -> SPICE sweep -> fitted ProxyParams -> evaluation.

Per grid point: the static parameters are fitted to the equilibria of the fit cores, tau and the
dead time to their transients; the held-out cores (never fitted) give the residuals, settling
times and Monte Carlo spreads reported beside the uncalibrated ideal and nominal proxies.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from codesign.calibration.data import ProbeData, load_probe
from codesign.calibration.evaluate import mismatch_spread, residual_stats, settling_stats
from codesign.calibration.fit import fit_dynamics, fit_static
from codesign.calibration.probes import Probe, spec_probes, task_key
from codesign.calibration.runner import SweepStats, Task, run_sweep
from codesign.calibration.spec import CalibrationSpec
from codesign.calibration.store import ResultStore
from codesign.proxy.params import ProxyParams, ideal_params, nominal_params
from codesign.simulator.ngspice import find_ngspice


@dataclass(frozen=True, eq=False)
class PointResult:
    """The fit at one grid point and how it predicts the held-out probes."""

    index: int
    settings: dict
    params: ProxyParams
    evaluation: dict
    data: dict[str, list[ProbeData]]
    fit_s: float
    timings: dict | None = None


def probe_tasks(probes: list[Probe], klu: bool) -> list[Task]:
    """One runner Task per probe, keyed by the content hash of its deck and jobs."""
    tasks = []
    for p in probes:
        deck, jobs = p.deck(klu), p.jobs()
        tasks.append(Task(task_key(deck, jobs, p.analysis), deck, tuple(jobs), p.analysis))
    return tasks


def _split(probes: list[Probe], tasks: list[Task], store: ResultStore) -> dict[str, list]:
    data: dict[str, list[ProbeData]] = {"fit": [], "fit_tran": [], "holdout": [],
                                        "holdout_tran": [], "mc": []}
    for probe, task in zip(probes, tasks, strict=True):
        if not store.has(task.key):
            continue
        role = "mc" if probe.role == "mc" else probe.role + ("_tran" if probe.analysis == "tran"
                                                            else "")
        data[role].append(load_probe(probe, task.key, store))
    return data


def fit_point(index: int, settings: dict, data: dict, spec: CalibrationSpec) -> PointResult:
    """Fit one grid point's parameters and evaluate them on its held-out probes."""
    start = time.perf_counter()
    config = (data["fit"] or data["holdout"])[0].probe.config
    v_fs = config.mapping.v_fs
    nominal = nominal_params(config)
    params, static_loss = fit_static(nominal, data["fit"], v_fs, spec.fit)
    timings = {"static_fit_s": time.perf_counter() - start}
    dyn_loss: list[float] = []
    if data["fit_tran"]:
        params, dyn_loss = fit_dynamics(params, data["fit_tran"], v_fs, spec.fit)
    timings["dynamic_fit_s"] = time.perf_counter() - start - timings["static_fit_s"]
    ideal = ideal_params(config)
    # the held-out cores' own instance joins their Monte Carlo instances
    mc = data["mc"] + data["holdout"] if data["mc"] else []
    evaluation = {
        "holdout": {name: residual_stats(p, data["holdout"], v_fs)
                    for name, p in (("calibrated", params), ("ideal", ideal),
                                    ("nominal", nominal))},
        "fit": {name: residual_stats(p, data["fit"], v_fs)
                for name, p in (("calibrated", params), ("ideal", ideal), ("nominal", nominal))},
        "settling_holdout": settling_stats(params, data["holdout_tran"], v_fs),
        "settling_fit": settling_stats(params, data["fit_tran"], v_fs),
        "mismatch": mismatch_spread(params, mc, v_fs) if mc else {"instances": 0},
        "loss": {"static_first": static_loss[0], "static_last": static_loss[-1],
                 "dynamic_first": dyn_loss[0] if dyn_loss else None,
                 "dynamic_last": dyn_loss[-1] if dyn_loss else None},
    }
    return PointResult(index, settings, params, evaluation, data, time.perf_counter() - start,
                       timings)


@dataclass(frozen=True, eq=False)
class Calibration:
    spec: CalibrationSpec
    points: list[PointResult]
    sweep: SweepStats
    failed: dict[str, dict]

    @property
    def base(self) -> PointResult:
        return self.points[0]

    def table(self) -> pd.DataFrame:
        """One row per grid point: swept settings, fitted parameters, held-out residuals."""
        rows = []
        for p in self.points:
            ev = p.evaluation
            rows.append({
                "point": p.index, **{f"set_{k}": v for k, v in p.settings.items()},
                **{f"fit_{k}": v for k, v in asdict(p.params).items()
                   if isinstance(v, float)},
                "holdout_rms_fs": ev["holdout"]["calibrated"]["rms"],
                "holdout_max_fs": ev["holdout"]["calibrated"]["max"],
                "ideal_rms_fs": ev["holdout"]["ideal"]["rms"],
                "nominal_rms_fs": ev["holdout"]["nominal"]["rms"],
                "settling_median_rel_error": ev["settling_holdout"].get("median_abs_rel_error"),
                "mc_rms_sd_ratio": ev["mismatch"].get("rms_sd_ratio"),
                "fit_s": p.fit_s,
            })
        return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class Plan:
    """Every probe of a spec and its SPICE task (same order)."""

    probes: list[Probe]
    tasks: list[Task]

    @property
    def jobs(self) -> int:
        return len({t.key for t in self.tasks})


def plan(spec: CalibrationSpec) -> Plan:
    """The probes and keyed SPICE tasks of ``spec`` (decks written for this ngspice's KLU)."""
    probes = spec_probes(spec)
    return Plan(probes, probe_tasks(probes, find_ngspice().klu))


def calibrate(spec: CalibrationSpec, work_dir: Path, scheduler: str | None = None,
              workers: int | None = None, progress: Callable[[int], None] | None = None,
              planned: Plan | None = None) -> Calibration:
    """Run (or resume) the spec's SPICE sweep under ``work_dir`` and fit every grid point."""
    planned = planned or plan(spec)
    probes, tasks = planned.probes, planned.tasks
    store = ResultStore(Path(work_dir) / "store")
    stats = run_sweep(tasks, store, scheduler, workers, progress)
    failed = {key: store.error(key) for key in stats.failed}
    points = []
    for index, settings in enumerate(spec.points()):
        mine = [(p, t) for p, t in zip(probes, tasks, strict=True) if p.point == index]
        data = _split([p for p, _ in mine], [t for _, t in mine], store)
        if data["fit"]:
            points.append(fit_point(index, settings, data, spec))
    return Calibration(spec, points, stats, failed)
