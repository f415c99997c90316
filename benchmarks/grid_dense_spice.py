"""The dense DEQ baseline's chip in SPICE on the grid tasks, beside its digital model.

    python -m benchmarks.grid_dense_spice --out docs/results/grid-dense-spice.json

The model is the dense DEQ of benchmarks/grid_baselines.py (codesign's HybridDEQ on the
flattened 16 x 16 fields, n = m = 256), saved there with ``--dense-out`` as
docs/results/grid-{task}-dense.pt. It reads 16 x 16 only, so at 32 and 64 its input field is
resampled to 16 x 16 and its output back (bilinear, benchmarks.darcy.resample), as the table in
docs/grid.md evaluates it: its chip is the same 256-neuron crossbar at every grid, and only its
inputs change. The chip: the op-amp level, 5 % conductance mismatch (seed 0), 8-bit DACs and
ADCs, as the structured cores' chips are verified (benchmarks/grid_network_spice.py); the
digital encoder feeds the DACs, ngspice's operating point is read by the ADCs, the digital
decoder turns the codes into the solution. Every test field of each grid is run (Darcy 50,
Poisson 64).

Per task and grid: the digital model's and the chip's mean relative L2 against the task's
solutions, their ratio, the equilibrium's error against the ideal core at the same DAC inputs
and against the circuit's own prediction [FS], and the SPICE time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.common import write_record
from benchmarks.darcy import resample
from benchmarks.grid_baselines import DENSE_TASK
from benchmarks.grid_network_spice import chip_config
from codesign.chip.chip import Chip
from codesign.deq.checkpoint import load_checkpoint
from codesign.simulator import get_simulator
from codesign.tasks.base import relative_l2
from codesign.tasks.grid import get_grid_task
from codesign.training.train import decode, encode

CASES = ("darcy:16", "darcy:32", "darcy:64", "poisson:16", "poisson:32", "poisson:64")
"""task:grid, each against the task's test fields at that grid."""


def _at(fields: np.ndarray, grid: int) -> np.ndarray:
    """(K, G, G) fields on ``grid`` x ``grid`` (bilinear; unchanged where G == grid)."""
    return fields if fields.shape[-1] == grid else resample(fields, grid)


def dense_row(task: str, grid: int, sigma: float, bits: int, seed: int, run_dir: Path,
              simulator, models: Path = Path("docs/results"), samples: int | None = None
              ) -> dict:
    """The dense chip of ``models``/grid-``task``-dense.pt on the test fields at ``grid``."""
    path = models / f"grid-{task}-dense.pt"
    ckpt = load_checkpoint(path, task=DENSE_TASK.format(task=task))
    model = ckpt.model
    side = round(model.config.in_features ** 0.5)
    x, y = get_grid_task(task, grids=(grid,)).test_at(grid)
    x, y = x[:samples, 0].astype(np.float32), y[:samples, 0].astype(np.float64)
    flat = _at(x, side).reshape(len(x), -1)
    config = chip_config(sigma, bits)
    tick = time.perf_counter()
    chip = Chip(model.core.to_weights(), config, seed=seed, simulator=simulator)
    compile_s = time.perf_counter() - tick
    e = encode(model, flat)
    e_dac = chip.dac(e)
    tick = time.perf_counter()
    run = chip.operating_points(e_dac, run_dir / f"{task}{grid}")
    spice_s = time.perf_counter() - tick

    def solution(z: np.ndarray) -> np.ndarray:
        out = decode(model, z).reshape(len(x), side, side).astype(np.float32)
        return _at(out, grid).reshape(len(x), -1).astype(np.float64)

    target = y.reshape(len(y), -1)
    digital = float(relative_l2(solution(chip.core.equilibrium(e)), target).mean())
    circuit = float(relative_l2(solution(chip.adc(run.z)), target).mean())
    z_ideal = chip.core.equilibrium(e_dac)
    row = {"model": str(path), "task": task, "grid": grid, "samples": len(x), "n": chip.n,
           "m": chip.m, "cells": chip.circuit.device_count(),
           "parameters": sum(p.numel() for p in model.parameters()),
           "digital_l2": digital, "circuit_l2": circuit, "ratio": circuit / digital,
           "equilibrium_error_fs_max": float(np.abs(run.z - z_ideal).max()),
           "equilibrium_error_fs_rms": float(np.sqrt(np.mean((run.z - z_ideal) ** 2))),
           "prediction_error_fs_max": float(np.abs(run.z - chip.prediction(e_dac).z).max()),
           "compile_s": compile_s, "spice_s": spice_s, "seconds_per_sample": spice_s / len(x),
           "level": config.neuron.level, "mismatch_sigma": sigma, "dac_bits": bits,
           "adc_bits": bits, "digital_l2_baselines": ckpt.metrics["relative_l2"][str(grid)]}
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=list(CASES), help="task:grid")
    ap.add_argument("--mismatch", type=float, default=0.05)
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, help="the first N test fields (default: all)")
    ap.add_argument("--models", type=Path, default=Path("docs/results"))
    ap.add_argument("--run-dir", type=Path, default=Path("runs/bench/grid-dense-spice"))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    rows = []
    with get_simulator() as simulator:
        for case in args.cases:
            task, grid = case.split(":")
            row = dense_row(task, int(grid), args.mismatch, args.bits, args.seed,
                            args.run_dir, simulator, args.models, args.samples)
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("task", "grid", "samples", "digital_l2",
                                                  "circuit_l2", "ratio", "spice_s")}),
                  flush=True)
    record = {"benchmark": "benchmarks.grid_dense_spice", "mismatch_sigma": args.mismatch,
              "bits": args.bits, "seed": args.seed, "rows": rows}
    write_record(args.out, record)


if __name__ == "__main__":
    main()
