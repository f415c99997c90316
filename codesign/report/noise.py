"""The report of a `codesign noise` folder: the fitted noise, the spreads in SPICE and the
proxy per neuron."""

from __future__ import annotations

from pathlib import Path

from codesign.errors import InputError
from codesign.report import figures
from codesign.report.document import Block, Figure, Heading, Table
from codesign.report.runs import intro, quantities, read_object, read_table, run_record


def build(run: Path, out: Path, partial: bool) -> tuple[list[Block], str]:
    record = run_record(run, "noise", partial)
    check = read_object(run / "noise.json")
    if check is None:
        raise InputError(f"{run} has no noise.json: the noise check did not finish; run its "
                         f"command again (see {run}/README.md)")
    blocks = intro(run, record, "codesign noise", "The spread of a chip's equilibria under "
                   "circuit noise, SPICE against the proxy, and the proxy's noise fitted to it.")
    spreads = read_table(run, "spreads.csv")
    if spreads is not None:
        path = figures.spreads(spreads, out / "spreads.png")
        blocks += [Heading("Spreads per neuron"), Table(spreads),
                   Figure(path.name, "Spread of the equilibria per neuron: SPICE (filled) and "
                          "the fitted proxy (hollow).", "../spreads.csv")]
    blocks += [Heading("Everything in noise.json"), quantities(check, skip=("params",))]
    return blocks, f"codesign noise report: {run.name}"
