"""Tiled arrays in ngspice (make bench): random contractive cores (opamp neurons, m = n / 4,
two cells per weight) on tiles with resistive row and/or column lines (1 Ohm per cell pitch
each): the operating points of a few inputs in ngspice (a `.dc` sweep) against the exact
prediction from the element values (codesign.circuit.lines: every tile's port admittance and
the rows' sneak coupling), the calibrated proxy (calibration/opamp.json, its EffectiveCore from
the same line solve) and the prediction with ideal wires.

Cases: n = 512 (m = 128) on tiles of 256 with row lines, with column lines, and with both (the
two-layer mesh, the expensive case for the solver); n = 512 with m = 1 on tiles of 256 with
both; n = 256 on tiles of 128 with both. Where ngspice fails, one .op alone under its
accounting records where (before the output stages sensed their load current to ground, n =
512 with both lines stopped at KLU's first factorisation). Writes runs/bench/tiles.json after
each case (--case K: only case K, keeping the others' rows).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import run_point
from codesign.chip.chip import Chip
from codesign.circuit import circuit_config
from codesign.circuit.config import ArrayConfig, tile_spans
from codesign.deq import random_core
from codesign.errors import SimulationError
from codesign.netlist.deck import SampleJob
from codesign.netlist.spice import accounted_deck
from codesign.proxy.params import load_params
from codesign.simulator import get_simulator
from codesign.simulator.ngspice import find_ngspice

CASES = (  # n, m, tile, row Ohm, column Ohm, samples
    (512, 128, 256, 1.0, 0.0, 2),
    (512, 128, 256, 0.0, 1.0, 1),
    (512, 128, 256, 1.0, 1.0, 1),
    (512, 1, 256, 1.0, 1.0, 1),
    (256, 64, 128, 1.0, 1.0, 1),
)


def run_case(n: int, m: int, tile: int, row_ohm: float, column_ohm: float, samples: int,
             timeout_s: float = 3600.0) -> dict:
    """One core on one tiled array: its operating points in ngspice against the models; where
    ngspice cannot, one .op alone under its accounting, to record how it fails."""
    rng = np.random.default_rng(0)
    core = random_core(n, m, 0.9, rng)
    e = rng.uniform(-1, 1, (samples, core.m))
    array = ArrayConfig(line_ohm=row_ohm, column_ohm=column_ohm, tile_rows=tile,
                        tile_columns=tile)
    tick = time.perf_counter()
    chip = Chip(core, circuit_config("opamp", array=array), 0,
                get_simulator("process", timeout_s=timeout_s), force=True)
    row = {"n": n, "m": core.m, "tile": tile, "row_ohm": row_ohm, "column_ohm": column_ohm,
           "samples": samples,
           "tiles": len(tile_spans(n, tile)) * len(tile_spans(2 * (n + core.m + 1), tile)),
           "compile_s": time.perf_counter() - tick}
    tick = time.perf_counter()
    exact = chip.prediction(e).z
    row["predict_s"] = time.perf_counter() - tick
    params, _ = load_params(Path("calibration/opamp.json"))
    with tempfile.TemporaryDirectory() as tmp:
        tick = time.perf_counter()
        try:
            spice = chip.operating_points(e, Path(tmp)).z
        except SimulationError as exc:
            row["status"] = f"failed: {str(exc).splitlines()[0]}"
            if "timed out" in row["status"]:
                return row
            job = SampleJob(0, tuple(chip.inputs(e)[0].tolist()), 0.0)
            row["alone"] = run_point(find_ngspice().executable,
                                     accounted_deck(chip.deck, job, "op"), timeout_s)
            return row
        row["spice_s"] = time.perf_counter() - tick
    row["status"] = "ok"
    ideal = Chip(core, circuit_config("opamp"), 0, force=True).prediction(e).z
    for name, z in (("exact", exact), ("proxy", chip.proxy_equilibrium(params, e)),
                    ("ideal_wires", ideal)):
        row[f"error_{name}_fs"] = float(np.abs(spice - z).max())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/bench/tiles.json"))
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="Seconds one ngspice process may run.")
    parser.add_argument("--case", type=int, action="append", default=None,
                        help="Run only these cases (0-based, repeatable); the others' rows "
                             "already in --out are kept.")
    args = parser.parse_args()
    chosen = args.case if args.case is not None else range(len(CASES))
    rows = []
    if args.case is not None and args.out.is_file():
        rows = json.loads(args.out.read_text())["rows"]
    for index in chosen:
        row = {"case": index, **run_case(*CASES[index], timeout_s=args.timeout)}
        rows = sorted([r for r in rows if r.get("case") != index] + [row],
                      key=lambda r: r.get("case", -1))
        lines = ("rows" if row["row_ohm"] else "") + (
            " + columns" if row["row_ohm"] and row["column_ohm"] else
            "columns" if row["column_ohm"] else "")
        print(f"n = {row['n']:4d}, m = {row['m']:3d}, {row['tiles']:2d} tiles of <= "
              f"{row['tile']}, {lines:15s}: {row['status'][:60]}, line solves "
              f"{row.get('predict_s', float('nan')):5.1f} s, SPICE "
              f"{row.get('spice_s', float('nan')):6.1f} s; "
              f"max |z_spice - z| exact {row.get('error_exact_fs', float('nan')):.1e}, proxy "
              f"{row.get('error_proxy_fs', float('nan')):.1e}, ideal wires "
              f"{row.get('error_ideal_wires_fs', float('nan')):.1e} FS", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"neuron": "opamp", "rho": 0.9, "rows": rows},
                                       indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
