"""Large cores in ngspice (make bench): time and peak memory of one operating point (and of one
transient from reset, up to --tran-max) vs the core width n, opamp neurons, m = n / 4 inputs,
random contractive cores (rho 0.9), in both weight mappings (differential: two cells per
weight; single: one cell, on the column of the weight's sign), with ngspice's own accounting
(``rusage all``) of where the time goes: netlist loading, subcircuit expansion, parsing, and in
the analysis the matrix load, reordering, factoring and solving. One ngspice process per point
(``ngspice -b``); peak memory is ngspice's own "Maximum ngspice program size". A size whose
memory, extrapolated from the last one as n^2, would not fit --memory-gb is skipped and said so.

Writes runs/bench/large_cores.json and .csv and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import run_point
from codesign.circuit import circuit_config, compile_core, predict_equilibrium
from codesign.circuit.dynamics import transient_stops_s
from codesign.deq import random_core
from codesign.netlist.deck import SampleJob
from codesign.netlist.spice import accounted_deck, write_deck
from codesign.simulator.ngspice import find_ngspice


def sweep_sizes(install, args, mode: str) -> list[dict]:
    """Every size of ``args.sizes`` in mapping ``mode`` (one seeded core per size)."""
    rng = np.random.default_rng(0)
    config = circuit_config("opamp")
    config = replace(config, mapping=replace(config.mapping, mode=mode))
    rows, last = [], None
    for n in args.sizes:
        if last is not None and last["peak_mb"] * (n / last["n"]) ** 2 > args.memory_gb * 1024:
            print(f"n = {n} {mode}: skipped (about "
                  f"{last['peak_mb'] * (n / last['n']) ** 2 / 1024:.0f} GB extrapolated > "
                  f"{args.memory_gb:g} GB)")
            rows.append({"n": n, "mapping": mode, "analysis": "op",
                         "status": "skipped (memory)"})
            continue
        core = random_core(n, max(1, n // 4), 0.9, rng)
        circuit = compile_core(core, config)
        tick = time.perf_counter()
        deck = write_deck(circuit, klu=install.klu)
        write_s = time.perf_counter() - tick
        e = rng.uniform(-1, 1, (1, core.m))
        stop = float(transient_stops_s(circuit, predict_equilibrium(circuit, e), 1e-3)[0][0])
        job = SampleJob(0, tuple(e[0].tolist()), stop)
        for analysis in ("op", "tran") if n <= args.tran_max else ("op",):
            row = {"n": n, "m": core.m, "mapping": mode, "analysis": analysis,
                   "write_s": write_s,
                   "deck_mb": len(deck.text) / 2**20,
                   **run_point(install.executable, accounted_deck(deck, job, analysis),
                               args.timeout)}
            rows.append(row)
            print(f"n = {n:5d} {mode:12s} {analysis:4s} {row['status']:>8s} wall "
                  f"{row['wall_s']:8.2f} s, "
                  f"peak {row.get('peak_mb', float('nan')):8.0f} MB; parse+expand "
                  f"{row.get('load_s', 0) + row.get('expand_s', 0) + row.get('parse_s', 0):7.2f}"
                  f" s, reorder {row.get('reorder_s', float('nan')):7.2f} s, factor "
                  f"{row.get('factor_s', float('nan')):7.2f} s", flush=True)
            if analysis == "op" and row["status"] == "ok":
                last = row
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[64, 128, 256, 512, 1024, 2048, 4096])
    parser.add_argument("--tran-max", type=int, default=512,
                        help="Largest n whose transient from reset is measured.")
    parser.add_argument("--memory-gb", type=float, default=20.0,
                        help="Skip a size whose extrapolated peak memory exceeds this.")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--mappings", nargs="+", default=["differential", "single"])
    parser.add_argument("--out", type=Path, default=Path("runs/bench/large_cores.json"))
    args = parser.parse_args()
    install = find_ngspice()
    rows = []
    for mode in args.mappings:
        rows += sweep_sizes(install, args, mode)
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out.with_suffix(".csv"), index=False)
    args.out.write_text(json.dumps({
        "cores": os.cpu_count(), "neuron": "opamp", "rho": 0.9,
        "ngspice": {"version": install.version, "klu": install.klu},
        "rows": json.loads(table.to_json(orient="records"))}, indent=2) + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.csv')}")


if __name__ == "__main__":
    main()
