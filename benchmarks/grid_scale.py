"""Grid-local cores on a sparse crossbar in ngspice: one operating point vs the grid size.

For G in --grids (c = 1 channel, a seeded random contractive 3 x 3 stencil, 1 x 1 input stencil,
opamp neurons, ideal mapping): the time from compiling the chip to the parsed result of one
``.op`` through Chip.operating_points (the "process" simulator: one ngspice child), the
child's peak RSS (RUSAGE_CHILDREN, a running maximum: the grids go up), then the same deck once
more under ngspice's own accounting (``rusage all``: its analysis time and "Maximum ngspice
program size"), and max |SPICE - GridWeights.equilibrium| [FS] (finite op-amp gain: ~NG / A).

Writes runs/bench/grid-scale.csv and prints a table. Run from the repository root:
``python -m benchmarks.grid_scale``.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import run_point
from codesign.chip.chip import Chip
from codesign.circuit import circuit_config
from codesign.deq.grid import GridWeights
from codesign.errors import CodesignError
from codesign.netlist.deck import SampleJob
from codesign.netlist.spice import accounted_deck
from codesign.simulator import get_simulator
from codesign.simulator.ngspice import find_ngspice


def stencil(seed: int, gamma: float = 0.8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K (1, 1, 3, 3), L (1, 1, 1, 1), b (1,)): K scaled to the norm bound ``gamma``."""
    rng = np.random.default_rng(seed)
    K = rng.normal(size=(1, 1, 3, 3))
    K *= gamma / np.abs(K).sum()  # c = 1: the bound is the sum of |taps|
    return K, rng.normal(size=(1, 1, 1, 1)), 0.1 * rng.normal(size=1)


def measure(grid: int, K, L, b, simulator, executable: str, timeout_s: float) -> dict:
    core = GridWeights(K, L, b, grid)
    e = 0.3 * np.random.default_rng(grid).uniform(-1, 1, (1, core.m))
    tick = time.perf_counter()
    chip = Chip(core, circuit_config("opamp"), seed=0, simulator=simulator)
    compile_s = time.perf_counter() - tick
    with tempfile.TemporaryDirectory() as tmp:
        run = chip.operating_points(e, Path(tmp))
    total_s = time.perf_counter() - tick
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    error = float(np.abs(run.z - core.equilibrium(e)).max())
    own = run_point(executable, accounted_deck(chip.deck, SampleJob(0, tuple(e[0]), None), "op"),
                    timeout_s)
    return {"G": grid, "n": core.n, "cells": chip.circuit.device_count(),
            "deck_mb": len(chip.deck.text) / 2**20, "compile_s": compile_s,
            "op_total_s": total_s, "ngspice_wall_s": own["wall_s"],
            "ngspice_analysis_s": own.get("analysis_s", float("nan")),
            "ngspice_peak_mb": own.get("peak_mb", float("nan")), "child_rss_mb": child_mb,
            "python_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "max_err_fs": error, "status": own["status"]}


def transient(grid: int, K, L, b, simulator) -> dict:
    """One transient from reset of the same core on a grid x grid grid: settling time and
    energy per inference from SPICE (Chip.transients; ngspice's own time limit applies)."""
    core = GridWeights(K, L, b, grid)
    e = 0.3 * np.random.default_rng(grid).uniform(-1, 1, (1, core.m))
    chip = Chip(core, circuit_config("opamp"), seed=0, simulator=simulator)
    tick = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        m = chip.transients(e, Path(tmp)).transients[0]
    energy = m.core_energy_j + m.input_energy_j + m.activation_energy_j
    return {"G": grid, "n": core.n, "settling_s": m.settling_time_s,
            "energy_j": energy, "energy_per_neuron_j": energy / core.n,
            "final_error_fs": m.final_error_fs, "wall_s": time.perf_counter() - tick}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--transient-grids", type=int, nargs="*", default=[8, 16, 32, 64, 128],
                        help="grids whose transient from reset is simulated (each within "
                             "--timeout; the first that is not ends the list)")
    parser.add_argument("--out", type=Path, default=Path("docs/results/grid-scale.json"),
                        help="the rows as JSON (a CSV and a log-log plot go beside it)")
    args = parser.parse_args()
    install = find_ngspice()
    simulator = get_simulator("process", workers=1)
    K, L, b = stencil(args.seed)
    rows = []
    for grid in sorted(args.grids):
        row = measure(grid, K, L, b, simulator, install.executable, args.timeout)
        rows.append(row)
        print(f"G = {grid:4d} n = {row['n']:6d} cells {row['cells']:7d}: compile "
              f"{row['compile_s']:6.2f} s, compile..parsed {row['op_total_s']:6.2f} s, ngspice "
              f"analysis {row['ngspice_analysis_s']:6.2f} s (wall {row['ngspice_wall_s']:6.2f}"
              f" s), peak {row['ngspice_peak_mb']:6.0f} MB, max err {row['max_err_fs']:.2e} FS",
              flush=True)
    transients, unfinished = [], None
    slow = get_simulator("process", workers=1, timeout_s=args.timeout)
    for grid in sorted(args.transient_grids):
        try:
            transients.append(transient(grid, K, L, b, slow))
        except CodesignError as exc:
            print(f"G = {grid}: no transient within {args.timeout:g} s ({exc})")
            unfinished = {"G": grid, "timeout_s": args.timeout, "error": str(exc)}
            break
        t = transients[-1]
        print(f"G = {grid:4d} transient: settling {t['settling_s'] * 1e6:.2f} us, energy "
              f"{t['energy_j'] * 1e9:.3g} nJ ({t['energy_per_neuron_j'] * 1e12:.3g} pJ per "
              f"neuron), {t['wall_s']:.1f} s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    args.out.write_text(json.dumps({"op": rows, "transients": transients,
                                    "transient_unfinished": unfinished}, indent=1) + "\n")
    table.to_csv(args.out.with_suffix(".csv"), index=False)
    plot(table, args.out.with_suffix(".png"))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"wrote {args.out} (+ .csv, .png)")


def plot(table: pd.DataFrame, path: Path) -> None:
    """Time and memory against the neurons, log-log, with the fitted growth exponents."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    n = table["n"].to_numpy(float)
    for ax, columns, label in (
            (axes[0], ("ngspice_analysis_s", "op_total_s"), "seconds"),
            (axes[1], ("ngspice_peak_mb",), "MB")):
        for column in columns:
            y = table[column].to_numpy(float)
            slope = np.polyfit(np.log(n[1:]), np.log(y[1:]), 1)[0] if len(n) > 2 else np.nan
            ax.loglog(n, y, "o-", label=f"{column} (~ n^{slope:.2f})")
        ax.set_xlabel("neurons n (grid points, c = 1)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_title("ngspice .op of a grid core")
    axes[1].set_title("ngspice peak memory")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
