"""codesign calibrate: fit the proxy's parameters to SPICE runs described by a sweep spec."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from codesign.cli import options

LOCAL_DASK = "local-dask"  # codesign.calibration.runner.LOCAL_DASK, without importing it
REPORT_FILES = ("fit_report.md", "fit.json", "sweep.parquet", "parity.png", "parity.csv",
                "residuals.png", "residuals.csv", "sweep.png", "mismatch.png", "mismatch.csv")
"""The fit report's files: an earlier report's are removed before a new one is written."""


def _provenance(spec_path: Path, cal, ngspice_version: str) -> dict:
    from codesign import __version__
    from codesign.calibration.fit_report import summary_only

    ev = cal.base.evaluation
    return {
        "spec": str(spec_path), "spec_sha256": hashlib.sha256(spec_path.read_bytes()).hexdigest(),
        "codesign": __version__, "ngspice": ngspice_version,
        "settings": cal.base.settings, "probes": cal.spec.probes.__dict__,
        "holdout_rms_fs": {k: v["rms"] for k, v in ev["holdout"].items()},
        "holdout_max_fs": {k: v["max"] for k, v in ev["holdout"].items()},
        "settling_holdout": ev["settling_holdout"], "mismatch": summary_only(ev["mismatch"]),
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
@options.timeout_option(300.0, "SPICE job")
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
    from codesign.calibration.calibrate import calibrate, plan
    from codesign.calibration.fit_report import write_fit_report
    from codesign.calibration.spec import load_spec
    from codesign.files import check_output_dir
    from codesign.proxy.params import save_params
    from codesign.schema import RunFolder
    from codesign.simulator.ngspice import find_ngspice

    spec = load_spec(spec_path, force)
    work = work or Path("runs") / "calibrate" / spec.name
    check_output_dir(work, "--work")
    check_output_dir(out.parent, "--out's folder")
    ngspice = find_ngspice(timeout_s=min(timeout_s, 30.0))
    planned = plan(spec)
    label = f"SPICE jobs ({scheduler or 'process pool'})"
    with click.progressbar(length=planned.unique_jobs, label=label) as bar:
        cal = calibrate(spec, work, scheduler, workers, bar.update, planned, timeout_s)
    s = cal.sweep
    click.echo(f"sweep: {s.total} jobs, {s.ran} run, {s.skipped} already done, "
               f"{len(s.failed)} failed ({s.runs_per_s:.1f} runs/s on {s.workers} workers)")
    for key, record in cal.failed.items():
        click.echo(f"failed job {key}: {record['error']}", err=True)
    base = cal.base  # SimulationError (one line, exit 2) when the base point has no fit
    ev = base.evaluation["holdout"]
    click.echo(f"held-out equilibrium error: calibrated {100 * ev['calibrated']['rms']:.3g} % FS "
               f"RMS, ideal proxy {100 * ev['ideal']['rms']:.3g} % FS RMS")
    save_params(out, base.params, _provenance(spec_path, cal, ngspice.version))
    click.echo(f"wrote {out}")
    folder = RunFolder(work / "report", "calibrate").start(REPORT_FILES)
    written = write_fit_report(cal, work / "report", out)
    folder.complete(written)
    for path in written:
        click.echo(f"wrote {path}")
