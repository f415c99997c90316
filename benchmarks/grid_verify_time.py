"""`codesign verify` of trained grid models on one field, against the grid: the whole command's
wall time (start-up, loading the task's fields, compiling, writing the deck, ngspice's `.op`,
parsing, the digital model, the files written) and the peak memory of any process in it.

    python -m benchmarks.grid_verify_time --out docs/results/grid-command-time.json

Each case (checkpoint:grid) runs ``codesign verify docs/results/grid-{name}.pt --grid G
--samples 1 --mismatch 0.05 --dac-bits 8 --adc-bits 8`` in a fresh process, itself started by
a small Python parent that reads its peak resident memory (RUSAGE_CHILDREN: the largest of the
command and its ngspice children), so one case's peak does not carry into the next. The
task's fields at each grid are generated and cached before the timed runs (the first use of a
grid solves its fields once; codesign.tasks.fields). A case slower than ``--timeout`` is
recorded as such. The models: the random-initialised Kirchhoff network core (c = 4: n = 4 G^2
nodes) and the stencil grid core (c = 4: 4 G^2 op-amp neurons).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import write_record

CASES = ("poisson-network-random:16", "poisson-network-random:32", "poisson-network-random:64",
         "poisson-network-random:128", "poisson:16", "poisson:32", "poisson:64", "poisson:128")

PARENT = """
import json, resource, subprocess, sys, time
tick = time.perf_counter()
try:
    code = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, timeout=float(sys.argv[1])).returncode
    status = "ok" if code == 0 else f"exit {code}"
except subprocess.TimeoutExpired:
    status = "timeout"
wall = time.perf_counter() - tick
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "peak_mb": peak, "status": status}))
"""
"""Runs the command given after the timeout, prints its wall time, peak memory and status."""


def timed(command: list[str], timeout_s: float) -> dict:
    out = subprocess.run([sys.executable, "-c", PARENT, str(timeout_s), *command],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=list(CASES), help="name:grid")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    from codesign.tasks.grid import get_grid_task  # deferred: fields before the timed runs

    for task in sorted({"darcy" if c.startswith("darcy") else "poisson" for c in args.cases}):
        get_grid_task(task, grids=tuple(sorted({int(c.split(":")[1]) for c in args.cases})))
    codesign = str(Path(sys.executable).with_name("codesign"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            name, grid = case.split(":")
            model = f"docs/results/grid-{name}.pt"
            command = [codesign, "verify", model, "--grid", grid, "--samples", "1",
                       "--mismatch", "0.05", "--dac-bits", "8", "--adc-bits", "8",
                       "--out", str(Path(tmp) / case.replace(":", "-"))]
            row = {"model": model, "grid": int(grid), **timed(command, args.timeout)}
            summary = Path(tmp) / case.replace(":", "-") / "summary.json"
            if row["status"] == "ok" and summary.is_file():
                done = json.loads(summary.read_text())
                row.update({"n": done["n"], "spice_s": done["spice_s"],
                            "compile_s": done["compile_s"]})
            rows.append(row)
            print(json.dumps(row), flush=True)
    write_record(args.out, {"benchmark": "benchmarks.grid_verify_time",
                            "command": "codesign verify MODEL --grid G --samples 1 --mismatch "
                                       "0.05 --dac-bits 8 --adc-bits 8",
                            "timeout_s": args.timeout, "rows": rows})


if __name__ == "__main__":
    main()
