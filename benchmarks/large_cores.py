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
import re
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from codesign.circuit import circuit_config, compile_core, predict_equilibrium
from codesign.circuit.dynamics import transient_stops_s
from codesign.deq import random_core
from codesign.netlist.deck import SampleJob
from codesign.netlist.spice import accounted_deck, write_deck
from codesign.simulator.ngspice import find_ngspice

FIELDS = {
    "load_s": "Netlist loading time",
    "expand_s": "Subckt and Param expansion time",
    "parse_s": "Netlist parsing time",
    "analysis_s": "Total analysis time \\(seconds\\)",
    "matrix_load_s": "Matrix load time",
    "reorder_s": "Matrix reorder time",
    "factor_s": "Matrix factor time",
    "solve_s": "Matrix solve time",
    "tran_load_s": "Transient load time",
    "tran_factor_s": "Transient factor time",
    "tran_solve_s": "Transient solve time",
    "equations": "Circuit Equations",
    "nonzeros": "Circuit total non-zeroes",
    "lines": "Number of lines in the deck",
    "timepoints": "Accepted timepoints",
}


def accounting(stdout: str) -> dict[str, float]:
    """ngspice's ``rusage all`` figures (FIELDS) from its output."""
    out = {}
    for key, label in FIELDS.items():
        found = re.search(rf"^{label}\s*=\s*([-+0-9.eE]+)", stdout, flags=re.M)
        out[key] = float(found.group(1)) if found else float("nan")
    return out


def run_point(executable: str, text: str, timeout_s: float) -> dict:
    """One ngspice process on ``text``: wall time, peak RSS, its accounting."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "deck.cir").write_text(text)
        start = time.perf_counter()
        proc = subprocess.Popen([executable, "-b", "deck.cir"], cwd=tmp, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            stdout, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return {"wall_s": float("nan"), "status": f"timed out after {timeout_s:g} s"}
        wall = time.perf_counter() - start
    # communicate reaped the child: its peak RSS is in RUSAGE_CHILDREN only as a maximum over
    # all children, so take ngspice's own figure too
    size = re.search(r"Maximum ngspice program size =\s*([0-9.]+) MB", stdout)
    ok = proc.returncode == 0 and "rror" not in stdout
    return {"wall_s": wall, "status": "ok" if ok else f"failed (exit {proc.returncode})",
            "peak_mb": float(size.group(1)) if size else float("nan"), **accounting(stdout)}


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
