"""Subdomain SPICE of a grid core against one ngspice process: the same compiled chip, its
operating point solved whole and as overlapping subdomains (codesign.chip.subdomain).

The core is benchmarks.grid_scale's (c = 1, a seeded random contractive 3 x 3 stencil, 1 x 1
input stencil, opamp neurons, ideal mapping, inputs 0.3 U(-1, 1) seeded by the grid). For each
grid in --compare: the single process's ``.op`` (Chip.operating_points: one ngspice child; its
wall time and the child's peak memory, VmHWM polled from /proc), then the subdomains on a local
process pool of --workers, cold (halo at 0) and warm (the circuit's prediction): sweeps, wall
time, the halo change per sweep, each subdomain's ngspice peak memory, and max |z_sub -
z_single| [FS]. Then --dask-grid by subdomains on a Dask LocalCluster of --workers processes
(cold and warm), and the single process at that size last (--single-dask-grid; its memory and
time, or why it did not run). Wall times are as measured on a shared machine: run under nice,
with other work beside it.

Writes docs/results/grid-subdomain.json (after each stage, so a stopped run keeps what it did)
and prints one line per run. From the repository root: ``nice python -m
benchmarks.grid_subdomain``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.grid_scale import stencil
from codesign.chip.chip import Chip
from codesign.chip.subdomain import SubdomainConfig, solve_subdomains
from codesign.circuit import circuit_config
from codesign.deq.grid import GridWeights
from codesign.errors import CodesignError
from codesign.jobs import LOCAL_DASK, DaskExecutor, LocalExecutor, Pool
from codesign.simulator import get_simulator
from codesign.simulator.op_job import PeakMemory


def chip_of(grid: int, seed: int, timeout_s: float) -> tuple[Chip, np.ndarray, float]:
    """(chip, inputs (1, m), compile seconds) of the benchmark core on a grid x grid grid."""
    K, L, b = stencil(seed)
    core = GridWeights(K, L, b, grid)
    e = 0.3 * np.random.default_rng(grid).uniform(-1, 1, (1, core.m))
    tick = time.perf_counter()
    chip = Chip(core, circuit_config("opamp"), seed=0,
                simulator=get_simulator("process", workers=1, timeout_s=timeout_s))
    return chip, e, time.perf_counter() - tick


def single(chip: Chip, e: np.ndarray) -> tuple[dict, np.ndarray]:
    """The whole chip's .op in one ngspice process: the row and z (1, n)."""
    with tempfile.TemporaryDirectory() as tmp, PeakMemory() as memory:
        tick = time.perf_counter()
        run = chip.operating_points(e, Path(tmp))
        wall = time.perf_counter() - tick
    return {"wall_s": wall, "ngspice_peak_mb": memory.peak_mb}, run.z


def subdomains(chip: Chip, e: np.ndarray, config: SubdomainConfig, executor,
               reference: np.ndarray | None) -> tuple[dict, np.ndarray]:
    """One subdomain solve: the row and z (1, n)."""
    with tempfile.TemporaryDirectory() as tmp:
        result = solve_subdomains(chip, e, Path(tmp), config, executor,
                                  progress=lambda k, change: print(
                                      f"    sweep {k}: halo change {change:.3g} FS",
                                      flush=True))
    peaks = [p for p in result.peak_mb if np.isfinite(p)]
    row = {"initial": str(result.initial), "executor": result.executor,
           "subdomains": len(result.subdomains), "largest_subdomain": result.largest_subdomain,
           "iterations": result.iterations, "halo_change_fs": list(result.halo_change_fs),
           "wall_s": result.seconds, "subdomain_peak_mb_max": max(peaks, default=float("nan")),
           "subdomain_peak_mb": list(result.peak_mb),
           "max_diff_fs": (float(np.abs(result.z - reference).max())
                           if reference is not None else None)}
    return row, result.z


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=int, nargs="*", default=[64, 128],
                        help="grids solved whole and by subdomains on the local pool")
    parser.add_argument("--dask-grid", type=int, default=256)
    parser.add_argument("--dask-initial", nargs="*", default=["prediction", "zeros"],
                        choices=["prediction", "zeros"],
                        help="the --dask-grid's subdomain solves, in this order")
    parser.add_argument("--single-dask-grid", action=argparse.BooleanOptionalAction,
                        default=True, help="also run the --dask-grid chip in one process "
                        "(after the first subdomain solve; the later ones compare to it)")
    parser.add_argument("--keep", action="store_true",
                        help="start from --out's results (keep the grids not run again)")
    parser.add_argument("--split", type=int, default=2,
                        help="subdomains per side of each --compare grid (tile = G / split)")
    parser.add_argument("--tile", type=int, default=64, help="the --dask-grid's tile side")
    parser.add_argument("--overlap", type=int, default=4)
    parser.add_argument("--tolerance", type=float, default=1e-8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="limit of each ngspice run [s]")
    parser.add_argument("--out", type=Path, default=Path("docs/results/grid-subdomain.json"))
    args = parser.parse_args()
    out = {"command": "nice python -m benchmarks.grid_subdomain",
           "machine": f"{platform.node()}: {os.cpu_count()} cores, shared with other work",
           "core": "benchmarks.grid_scale: c = 1, seeded random 3 x 3 stencil (sum |taps| = "
                   "0.8), 1 x 1 input stencil, opamp level, tanh, seed 0",
           "scheme": "restricted additive Schwarz (Jacobi sweeps, subdomains in parallel)",
           "compare_split": args.split, "dask_tile": args.tile, "overlap": args.overlap,
           "tolerance_fs": args.tolerance, "workers": args.workers, "compare": [], "dask": {}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.keep and args.out.exists():
        kept = json.loads(args.out.read_text())
        out["compare"] = kept.get("compare", []) if not args.compare else []
        out["dask"] = kept.get("dask", {})

    def save() -> None:
        args.out.write_text(json.dumps(out, indent=1) + "\n")

    def config(initial: str, tile: int) -> SubdomainConfig:
        return SubdomainConfig(tile=tile, overlap=args.overlap,
                               tolerance_fs=args.tolerance, initial=initial,
                               timeout_s=args.timeout)

    local = LocalExecutor(args.workers, Pool.FORK)
    for grid in args.compare:
        chip, e, compile_s = chip_of(grid, args.seed, args.timeout)
        whole, z = single(chip, e)
        print(f"G = {grid} (n = {chip.n}): single process {whole['wall_s']:.2f} s, ngspice peak "
              f"{whole['ngspice_peak_mb']:.0f} MB", flush=True)
        row = {"G": grid, "n": chip.n, "compile_s": compile_s, "single": whole}
        for initial in ("zeros", "prediction"):
            print(f"  subdomains, {initial}:", flush=True)
            row[initial], _ = subdomains(chip, e, config(initial, -(-grid // args.split)),
                                         local, z)
            r = row[initial]
            print(f"  subdomains ({initial}): {r['subdomains']} of <= {r['largest_subdomain']} "
                  f"neurons, {r['iterations']} sweeps, {r['wall_s']:.2f} s, peak "
                  f"{r['subdomain_peak_mb_max']:.0f} MB, max diff {r['max_diff_fs']:.2e} FS",
                  flush=True)
        out["compare"].append(row)
        save()
        del chip

    grid = args.dask_grid
    chip, e, compile_s = chip_of(grid, args.seed, args.timeout)
    dask = out["dask"] = {"G": grid, "n": chip.n, "compile_s": compile_s,
                          "cluster": f"Dask LocalCluster, {args.workers} worker processes"}
    z_single = None
    with DaskExecutor(LOCAL_DASK, workers=args.workers) as cluster:
        for initial in args.dask_initial:
            print(f"G = {grid} (n = {chip.n}) on the Dask cluster, {initial}:", flush=True)
            dask[initial], z = subdomains(chip, e, config(initial, args.tile), cluster,
                                          z_single)
            r = dask[initial]
            print(f"  {r['subdomains']} subdomains of <= {r['largest_subdomain']} neurons, "
                  f"{r['iterations']} sweeps, {r['wall_s']:.1f} s, peak "
                  f"{r['subdomain_peak_mb_max']:.0f} MB", flush=True)
            save()
            if args.single_dask_grid and z_single is None:  # once, after the first solve
                try:
                    whole, z_single = single(chip, e)
                except CodesignError as exc:
                    dask["single"] = {"status": f"did not run: {exc}"}
                else:
                    dask["single"] = {**whole, "status": "ok"}
                    r["max_diff_fs"] = float(np.abs(z - z_single).max())
                    print(f"G = {grid}: single process {whole['wall_s']:.1f} s, ngspice peak "
                          f"{whole['ngspice_peak_mb']:.0f} MB; max diff ({initial}) "
                          f"{r['max_diff_fs']:.2e} FS", flush=True)
                save()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
