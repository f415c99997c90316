"""Kirchhoff network cores in SPICE: the trained network models (docs/results/grid-{task}-
network.pt) and the finite-difference nonlinear Poisson network, hand-built (no training),
against their digital models on the tasks' test fields.

    python -m benchmarks.grid_network_spice --out docs/results/grid-network-spice.json

Trained models (``--trained``, default darcy at 16 and 32, poisson at 32 and 64, both Poisson
checkpoints: the PDE-initialised one and grid-poisson-network-random.pt): verify_network
(the same as ``codesign verify MODEL --grid G --samples 64 --mismatch 0.05 --dac-bits 8
--adc-bits 8``) on every test field of the grid (Darcy has 50), op-amp level; the chip reads
each channel through its readout gain (NetworkDEQ.readout_gain) into an 8-bit ADC.

The hand-built FD network:

The network (codesign.deq.network.NetworkWeights): edges 1/h^2 (h = 1/(G+1), Dirichlet 0 V
one spacing outside), a cubic element kappa / a^2 (kappa = 40) and one injection resistor g per
node from the DAC, so its KCL is  -lap z + (kappa / a^2) z^3 + g z = g e.  The encoder sets
e = a s / g and the decoder reads u = z / a: the state is the solution scaled by a (volts / v_fs
per unit of u). The injection resistor also loads its node (g z): a passive network cannot
inject a current without it, so the network solves -lap u + kappa u^3 + g u = s, not the PDE,
unless g << 2 pi^2 (the operator's lowest eigenvalue), which needs DAC values e = a s / g far
beyond full scale. ``--a`` trades the load (g = a max|s| / 0.98 grows with a) against the 8-bit
converters' resolution (the state spans a fraction a of full scale); the digital twin is the same
network with float inputs and outputs (no converters, no mismatch). Also reported: the network
with a vanishing load (g = 1e-6, e unbounded): the digital class itself is the discrete PDE.

Per grid: relative L2 of the digital twin and of the chip (DAC 8 bits, 5 % mismatch, ngspice
operating points, ADC 8 bits) against the task's solutions, their ratio, SPICE seconds per field
(parse and reading included), the chip against its own predicted equilibrium, and (``--op-grids``)
the time of the operating points at larger grids.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import write_record
from codesign.chip.chip import Chip
from codesign.chip.grid import verify_network
from codesign.circuit.config import ArrayConfig, CircuitConfig, ConverterConfig, circuit_config
from codesign.circuit.converters import adc_np, dac_np
from codesign.circuit.network import compile_network, predict_network
from codesign.deq.network import NetworkWeights
from codesign.simulator import get_simulator
from codesign.tasks.fields import poisson_fields
from codesign.tasks.grid import TEST_SEED, load_poisson_grid

KAPPA = 40.0


class FDPoissonNetwork(torch.nn.Module):
    """The hand-built network model with NetworkDEQ's interface (verify_network): encode
    s -> e = a s / g, no bits, decode z -> z / a, forward = the network's float64 operating
    point (NetworkWeights.equilibrium), to_weights(G) = the FD network on G x G."""

    def __init__(self, a: float, g: float) -> None:
        super().__init__()
        self.a, self.g = a, g

    def to_weights(self, grid: int) -> NetworkWeights:
        h = 1.0 / (grid + 1)
        return NetworkWeights(grid, np.full((1, 2), 1 / h**2), None, np.zeros((1, 1)),
                              np.zeros(1), np.full((1, 1, 1, 1), self.g), np.zeros(1),
                              np.array([KAPPA / self.a**2]))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x.double() * (self.a / self.g)

    def bits(self, x: torch.Tensor) -> None:
        return None

    def decode(self, z: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        return z / self.a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = x.shape[-1]
        e = self.encode(x).reshape(len(x), -1).numpy()
        z = self.to_weights(grid).equilibrium(e)
        return torch.from_numpy(z / self.a).reshape(x.shape)


def _relative_l2(u: np.ndarray, y: np.ndarray) -> float:
    u, y = u.reshape(len(u), -1), y.reshape(len(y), -1)
    return float(np.mean(np.linalg.norm(u - y, axis=1) / np.linalg.norm(y, axis=1)))


def exact_limit(x: np.ndarray, y: np.ndarray) -> float:
    """Relative L2 of the FD network with a vanishing injection load (g = 1e-6, e unbounded):
    the digital network class solving the discrete PDE itself."""
    model = FDPoissonNetwork(1.0, 1e-6)
    with torch.no_grad():
        return _relative_l2(model(torch.from_numpy(x)).numpy(), y)


def design_table(x: np.ndarray, y: np.ndarray, config: CircuitConfig, seed: int,
                 scales: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4)) -> list[dict]:
    """Prediction only (predict_network, which SPICE matches to ~1e-11 FS): the chip's and the
    digital twin's relative L2 per state scale a, and a current-output DAC instead of the
    injection resistor (no load: the exact PDE; its current's gain mismatched as the resistor's
    would be; a = 0.9 / max|u|, the state near full scale)."""
    grid = x.shape[-1]
    s = x.reshape(len(x), -1).astype(np.float64)
    smax = float(np.abs(s).max())
    rows = []
    for a, current in [(a, False) for a in scales] + [(0.9 / float(np.abs(y).max()), True)]:
        g = 1e-9 if current else a * smax / 0.98
        weights = FDPoissonNetwork(a, g).to_weights(grid)
        full = smax / 0.98  # the DAC's full scale in units of s
        e_digital = s * (a / g)
        e_chip = dac_np(s / full, config.converters) * full * (a / g)
        digital = _relative_l2(weights.equilibrium(e_digital) / a, y)
        circuit = compile_network(weights, config, np.random.default_rng(seed))
        z = predict_network(circuit, e_chip).z
        chip = _relative_l2(adc_np(z, config.converters) / a, y)
        rows.append({"grid": grid, "a": a, "g_inject": g, "injection": "current DAC" if current
                     else "resistor", "digital_l2": digital, "predicted_circuit_l2": chip,
                     "ratio": chip / digital})
    return rows


def chip_config(sigma: float, bits: int) -> CircuitConfig:
    """The op-amp level with ``sigma`` mismatch and ``bits``-bit DACs and ADCs."""
    return replace(circuit_config("opamp", array=ArrayConfig(mismatch_sigma=sigma)),
                   converters=ConverterConfig(dac_bits=bits, adc_bits=bits))


def op_timing(grid: int, a: float, g: float, samples: int, sigma: float, bits: int,
              run_dir: Path, simulator) -> dict:
    """Compile and SPICE operating points of the FD network at ``grid`` on ``samples`` fields."""
    s, u = poisson_fields(grid, samples, TEST_SEED, KAPPA)
    model = FDPoissonNetwork(a, g)
    config = chip_config(sigma, bits)
    tick = time.perf_counter()
    chip = Chip(model.to_weights(grid), config, seed=0, simulator=simulator, force=True)
    compile_s = time.perf_counter() - tick
    e = chip.dac(s.reshape(samples, -1).astype(np.float64) * (a / g))
    tick = time.perf_counter()
    run = chip.operating_points(e, run_dir)
    spice_s = time.perf_counter() - tick
    tick = time.perf_counter()
    predicted = chip.prediction(e)
    predict_s = time.perf_counter() - tick
    u_chip = chip.adc(run.z) / a
    return {"grid": grid, "n": chip.n, "devices": chip.circuit.device_count(),
            "samples": samples, "compile_s": compile_s, "spice_s": spice_s,
            "spice_s_per_field": spice_s / samples, "predict_s": predict_s,
            "prediction_error_fs_max": float(np.abs(run.z - predicted.z).max()),
            "circuit_l2": _relative_l2(u_chip, u),
            "ngspice_max_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


TRAINED = ("darcy-network:16", "darcy-network:32", "poisson-network:32", "poisson-network:64",
           "poisson-network-random:32", "poisson-network-random:64",
           "darcy-network-current:16", "darcy-network-current:32",
           "poisson-network-current:32", "poisson-network-current:64")
"""The trained cases: checkpoint docs/results/grid-{name}.pt : grid (the issue's grids: Darcy
at 16 and 32, Poisson at 32 and 64; the Poisson core with every channel random as well; both
PDE-initialised cores with current sources, compiled into the resistor window)."""


def trained_rows(cases: tuple[str, ...], samples: int, config: CircuitConfig, seed: int,
                 run_dir: Path, simulator, models: Path = Path("docs/results")) -> list[dict]:
    """verify_network of each trained checkpoint (``models``/grid-{name}.pt) at each case
    name:grid, on the test fields of the checkpoint's task."""
    from codesign.deq.checkpoint import load_network_checkpoint  # deferred: trained part only
    from codesign.tasks.grid import get_grid_task

    rows = []
    for case in cases:
        name, grid = case.split(":")
        grid = int(grid)
        path = models / f"grid-{name}.pt"
        ckpt = load_network_checkpoint(path)
        model, task = ckpt.model, ckpt.task
        x, y = get_grid_task(task, grids=(grid,)).test_at(grid)
        x, y = x[:samples], y[:samples]
        summary, _ = verify_network(model, x, y, config, seed, run_dir / f"{task}{grid}",
                                    simulator, task)
        row = {"model": str(path), "parameters": sum(p.numel() for p in model.parameters()),
               **summary.__dict__, "readout_gain": list(summary.readout_gain)}
        rows.append(row)
        print(json.dumps({k: row[k] for k in ("task", "grid", "samples", "digital_l2",
                                              "circuit_l2", "ratio", "seconds_per_sample",
                                              "prediction_error_fs_max")}), flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trained", nargs="*", default=list(TRAINED),
                    help="trained cases name:grid, docs/results/grid-{name}.pt (none: skip)")
    ap.add_argument("--grids", type=int, nargs="*", default=[16, 32, 64],
                    help="grids of the hand-built FD Poisson network (none: skip)")
    ap.add_argument("--op-grids", type=int, nargs="*", default=[64, 128])
    ap.add_argument("--op-samples", type=int, default=4)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--a", type=float, default=0.1,
                    help="state scale: volts / v_fs per unit of u (see the module text)")
    ap.add_argument("--mismatch", type=float, default=0.05)
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run-dir", type=Path, default=Path("runs/bench/grid-network-spice"))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    grids = args.grids or [16]
    task = load_poisson_grid(grids=tuple(grids), test_count=args.samples)
    smax = max(float(np.abs(task.test_at(grid)[0]).max()) for grid in grids)
    g = args.a * smax / 0.98
    model = FDPoissonNetwork(args.a, g)
    config = chip_config(args.mismatch, args.bits)
    record: dict = {"design": {"a": args.a, "g_inject": g, "kappa": KAPPA, "max_abs_s": smax,
                               "mismatch_sigma": args.mismatch, "converter_bits": args.bits,
                               "level": "opamp", "seed": args.seed},
                    "trained": [], "grids": [], "op_timing": [], "design_by_prediction": []}
    with get_simulator() as simulator:
        record["trained"] = trained_rows(tuple(args.trained), args.samples, config, args.seed,
                                         args.run_dir / "trained", simulator)
        for grid in args.grids:
            x, y = task.test_at(grid)
            summary, _ = verify_network(model, x, y, config, args.seed,
                                        args.run_dir / f"g{grid}", simulator, "poisson",
                                        force=True)
            row = {**summary.__dict__, "exact_limit_digital_l2": exact_limit(x, y)}
            record["grids"].append(row)
            print(json.dumps({k: row[k] for k in ("grid", "digital_l2", "circuit_l2", "ratio",
                                                  "seconds_per_sample",
                                                  "prediction_error_fs_max",
                                                  "exact_limit_digital_l2")}), flush=True)
            for row in design_table(x, y, config, args.seed):
                record["design_by_prediction"].append(row)
                print(json.dumps(row), flush=True)
        for grid in args.op_grids:
            row = op_timing(grid, args.a, g, args.op_samples, args.mismatch, args.bits,
                            args.run_dir / f"op{grid}", simulator)
            record["op_timing"].append(row)
            print(json.dumps(row), flush=True)
    write_record(args.out, record)


if __name__ == "__main__":
    main()
