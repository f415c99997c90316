"""The report of a `codesign calibrate` work folder: the sweep, the held-out residuals of every
sweep point, the failed jobs, and the fit's plots (which the fit report wrote beside this
page, in WORK/report)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from codesign.errors import InputError
from codesign.report.document import Block, Figure, Heading, Para, Table
from codesign.report.runs import intro, quantities, read_object, read_table, run_record

PLOTS = {
    "parity.png": "Proxy against SPICE equilibria on the held-out cores.",
    "residuals.png": "The held-out residuals' distribution.",
    "sweep.png": "Held-out error across the swept settings.",
    "mismatch.png": "The per-neuron mismatch fit.",
}


def build(run: Path, out: Path, partial: bool) -> tuple[list[Block], str]:
    record = run_record(run, "calibrate", partial)
    fit = read_object(run / "report" / "fit.json")
    if fit is None:
        raise InputError(f"{run} has no report/fit.json: the calibration did not finish; run "
                         f"its command again (see {run}/README.md)")
    sweep = fit.get("sweep") or {}
    blocks = intro(run, record, f"codesign calibrate: {fit.get('spec', run.name)}",
                   f"The proxy's parameters fitted to the SPICE sweep of spec "
                   f"{fit.get('spec', '?')}: {sweep.get('total', '?')} jobs, "
                   f"{sweep.get('ran', '?')} run, {sweep.get('skipped', '?')} already done, "
                   f"{len(sweep.get('failed') or [])} failed. The fit's own report: "
                   "fit_report.md (beside this page).")
    table = read_table(run, "report/sweep.parquet")
    if table is not None:
        blocks += [Heading("Sweep points"), Para("One row per sweep point (the first is the "
                   "base point whose parameters the command wrote); errors on held-out "
                   "cores, in units of full scale."), Table(table)]
    for name, caption in PLOTS.items():
        if (run / "report" / name).is_file():
            blocks.append(Figure(name, caption, name.replace(".png", ".csv")))
    failed = fit.get("failed") or {}
    blocks.append(Heading("Failed jobs"))
    if failed:
        rows = [{"job": key, "error": (rec or {}).get("error", "") if isinstance(rec, dict)
                 else str(rec)} for key, rec in failed.items()]
        blocks.append(Table(pd.DataFrame(rows), "retried by the next run with this --work"))
    else:
        blocks.append(Para("None."))
    for index, point in (fit.get("points") or {}).items():
        if isinstance(point, dict):
            blocks += [Heading(f"Sweep point {index}", 3), quantities(point)]
    return blocks, f"codesign calibrate report: {run.name}"
