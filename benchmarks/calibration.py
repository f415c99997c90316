"""Calibration benchmarks (make bench), measured side by side in one run.

1. The acceptance fit: the base point of calibration/transistor.toml (N = 32 and 64, the BJT
   differential-pair neuron) from an empty store: SPICE sweep wall time, equilibrium fit and
   transient fit wall times, held-out residuals.
2. Sweep throughput: the same SPICE jobs (the first JOBS tasks of calibration/sweep-opamp.toml)
   on the process pool with all cores, and with one worker; runs per second and the ratio.

Writes runs/bench/calibration.json and prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

from codesign.calibration.calibrate import calibrate, plan
from codesign.calibration.spec import load_spec
from codesign.files import jsonable
from codesign.jobs import LocalExecutor, Pool
from codesign.simulator.batch import run_jobs
from codesign.simulator.store import ResultStore

ROOT = Path(__file__).resolve().parents[1]


def acceptance_fit() -> dict:
    spec = dataclasses.replace(load_spec(ROOT / "calibration" / "transistor.toml"), sweep={})
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        cal = calibrate(spec, Path(tmp))
        total = time.perf_counter() - start
    base = cal.base
    hold = base.evaluation.holdout
    return {"spice_jobs": cal.sweep.total, "spice_s": cal.sweep.wall_s, **base.timings,
            "total_s": total, "holdout_rms_fs": hold.calibrated.rms,
            "ideal_rms_fs": hold.ideal.rms,
            "settling_max_rel_error": base.evaluation.settling_holdout.max_abs_rel_error}


def sweep_rates(jobs: int) -> dict:
    tasks = plan(load_spec(ROOT / "calibration" / "sweep-opamp.toml")).jobs[:jobs]
    out = {"jobs": len(tasks)}
    for label, workers in (("pool", os.cpu_count() or 1), ("one_process", 1)):
        with tempfile.TemporaryDirectory() as tmp:
            stats = run_jobs(tasks, ResultStore(Path(tmp)), LocalExecutor(workers, Pool.FORK))
        out[label] = {"workers": workers, "runs_per_s": stats.runs_per_s, "wall_s": stats.wall_s}
    out["speedup"] = out["pool"]["runs_per_s"] / out["one_process"]["runs_per_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=60, help="Sweep tasks timed per setting.")
    parser.add_argument("--out", type=Path, default=Path("runs/bench/calibration.json"))
    args = parser.parse_args()
    rates = sweep_rates(args.jobs)
    fit = acceptance_fit()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(jsonable({"sweep": rates, "acceptance_fit": fit}), indent=2))
    print(f"| sweep of {rates['jobs']} SPICE jobs (sweep-opamp.toml) | runs/s |")
    print("|---|---|")
    pool = rates["pool"]
    print(f"| process pool, {pool['workers']} workers | {pool['runs_per_s']:.1f} |")
    print(f"| one process | {rates['one_process']['runs_per_s']:.1f} |")
    print(f"| speed-up | x{rates['speedup']:.2f} |")
    print()
    print("| acceptance fit (transistor.toml base point) | value |")
    print("|---|---|")
    print(f"| SPICE jobs | {fit['spice_jobs']} |")
    print(f"| SPICE sweep wall time | {fit['spice_s']:.1f} s |")
    print(f"| equilibrium fit | {fit['static_fit_s']:.1f} s |")
    print(f"| transient fit | {fit['dynamic_fit_s']:.1f} s |")
    print(f"| total (sweep, fits, evaluation) | {fit['total_s']:.1f} s |")
    print(f"| held-out RMS: calibrated / ideal proxy | {100 * fit['holdout_rms_fs']:.4f} % / "
          f"{100 * fit['ideal_rms_fs']:.3f} % FS |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
