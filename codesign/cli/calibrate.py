"""codesign calibrate: fit the proxy's parameters to SPICE runs described by a sweep spec."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path

import click

from codesign._version import __version__
from codesign.cli import options
from codesign.jobs import LOCAL_DASK, plural

REPORT_FILES = tuple(f"report/{name}" for name in (
    "fit_report.md", "fit.json", "sweep.parquet", "parity.png", "parity.csv", "residuals.png",
    "residuals.csv", "sweep.png", "mismatch.png", "mismatch.csv"))
"""The fit report's files (in WORK/report): an earlier report's are removed before a new run;
the store of finished SPICE jobs (WORK/store) is kept for resuming."""


def _provenance(spec_path: Path, cal, ngspice_version: str) -> dict:
    from codesign.results.calibration import ProxyKind  # deferred: the library, not for --help

    ev = cal.base.evaluation
    return {
        "spec": str(spec_path), "spec_sha256": hashlib.sha256(spec_path.read_bytes()).hexdigest(),
        "codesign": __version__, "ngspice": ngspice_version,
        "settings": cal.base.settings, "probes": cal.spec.probes.__dict__,
        "holdout_rms_fs": {k.value: ev.holdout.of(k).rms for k in ProxyKind},
        "holdout_max_fs": {k.value: ev.holdout.of(k).max for k in ProxyKind},
        "settling_holdout": asdict(ev.settling_holdout),
        "mismatch": asdict(ev.mismatch) if ev.mismatch else {"instances": 0},
    }


@click.command()
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Sweep spec (TOML), e.g. calibration/transistor.toml.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the fitted parameters of the base point (JSON).")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Sweep store and report folder (default runs/calibrate/NAME). Re-running "
                   "with the same folder skips the SPICE jobs already finished.")
@click.option("--scheduler", default=None, metavar="ADDRESS|local-dask",
              help=f"Run the SPICE jobs on a Dask cluster (tcp://host:8786), or on a "
                   f"{LOCAL_DASK} LocalCluster; default: a local process pool.")
@options.workers_option
@options.timeout_option(options.JOB_TIMEOUT_S, "SPICE job",
                        "that job is recorded as failed and the sweep goes on (the next run "
                        "retries it); shorter than verify's 600 s because the run carries on "
                        "past a hung job")
@options.force_option
def calibrate_command(spec_path, out, work, scheduler, workers, timeout_s, force) -> None:
    """Run the SPICE sweep of SPEC and fit the proxy's parameters to it.

    Writes OUT (the base point's parameters, with the held-out residuals as provenance) and,
    under WORK/report, fit_report.md, fit.json, sweep.parquet and plots. A job that fails (an
    ngspice error, a time-out, an incomplete or non-finite result) is recorded in the store and
    the sweep goes on; the next run retries it.

    \b
    Example:
      codesign calibrate --spec calibration/transistor.toml --out calibration/transistor.json
    """
    # deferred: the library (torch) loads only when the command runs, not for --help
    from codesign.calibration.calibrate import calibrate, plan
    from codesign.calibration.fit_report import write_fit_report
    from codesign.calibration.spec import load_spec
    from codesign.files import check_output_dir
    from codesign.jobs import Pool, executor
    from codesign.proxy.params import save_params
    from codesign.run_folder import RunFolder
    from codesign.simulator.ngspice import find_ngspice

    spec = load_spec(spec_path, force)
    work = work or Path("runs") / "calibrate" / spec.name
    check_output_dir(out.parent, "--out's folder")
    ngspice = find_ngspice(timeout_s=min(timeout_s, 30.0))
    planned = plan(spec)
    with RunFolder(work, "calibrate", "--work").start(REPORT_FILES) as folder, \
            executor(scheduler, workers, Pool.FORK) as jobs:
        label = f"SPICE jobs ({jobs.label})"
        with options.progress(label, planned.unique_jobs, "jobs") as update:
            cal = calibrate(spec, work, jobs, update, planned, timeout_s)
        click.echo(sweep_line(cal.sweep))
        for key, record in cal.failed.items():
            click.echo(f"failed job {key}: {record['error']}", err=True)
        base = cal.base  # SimulationError (one line, exit 2) when the base point has no fit
        held = base.evaluation.holdout
        click.echo(f"held-out equilibrium error: calibrated {_percent(held.calibrated.rms)} "
                   f"RMS, ideal proxy {_percent(held.ideal.rms)} RMS")
        save_params(out, base.params, _provenance(spec_path, cal, ngspice.version))
        click.echo(f"wrote {out}")
        written = write_fit_report(cal, work / "report", out)
        folder.complete(written)
    for path in written:
        click.echo(f"wrote {path}")


def sweep_line(s) -> str:
    """The console line of a finished sweep (a SweepSummary)."""
    return (f"sweep: {plural(s.total, 'job')}, {s.ran} run, {s.skipped} already done, "
            f"{len(s.failed)} failed ({s.runs_per_s:.1f} runs/s on "
            f"{plural(s.workers, 'worker')})")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.3g} % FS"
