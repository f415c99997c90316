"""Circuit accuracy on the acceptance grid (make bench): random contractive cores,
N = 8, 32, 128 and rho = 0.5, 0.9, both neuron levels.

For each cell: the SPICE .op equilibrium's largest error against the PyTorch fixed point and
against the circuit-aware prediction (finite gain, offsets, rails), in units of full scale; and,
from transients from reset, the largest distance between the transient's end and the .op, and
the largest settling time as a fraction of the contraction bound and of tau ln(1/eps)/(1-rho).
Writes runs/bench/accuracy_grid.csv.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from codesign.chip.verify import VerifySettings, verify_core
from codesign.circuit import circuit_config
from codesign.circuit.dynamics import settling_bound_s
from codesign.deq import random_core
from codesign.simulator import get_simulator


def cell(sim, n: int, rho: float, level: str, samples: int, tol: float) -> dict:
    rng = np.random.default_rng(1000 * n + int(100 * rho))
    core = random_core(n, 16, rho, rng)
    e = rng.uniform(-1, 1, (samples, 16))
    with tempfile.TemporaryDirectory() as tmp:
        result = verify_core(core, e, circuit_config(level), sim, Path(tmp),
                             VerifySettings(analysis="tran", settle_tol_fs=tol, proxy=None))
    s, tr = result.summary, result.transients
    unit_bound = settling_bound_s(s.settling.tau_s, rho, 1.0, tol)
    return {
        "n": n, "rho": rho, "neuron": level, "samples": samples,
        "max_error_vs_torch_fs": s.equilibrium_error_fs.max,
        "max_error_vs_prediction_fs": s.model_error_fs.max,
        "max_tran_end_vs_op_fs": float(tr["final_error_fs"].max()),
        "max_settling_over_bound": float((tr["settling_time_s"] / tr["settling_bound_s"]).max()),
        "max_settling_over_unit_bound": float(tr["settling_time_s"].max() / unit_bound),
        "median_settling_over_tau": float(tr["settling_time_s"].median() / s.settling.tau_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/accuracy_grid.csv"))
    args = parser.parse_args()
    sim = get_simulator("process")
    rows = [cell(sim, n, rho, level, args.samples, args.tol)
            for n in (8, 32, 128) for rho in (0.5, 0.9) for level in ("ideal", "opamp")]
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    with pd.option_context("display.width", 200, "display.float_format", "{:.3g}".format):
        print(table.to_string(index=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
