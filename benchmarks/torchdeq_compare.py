"""DEQ training time per epoch (make bench): codesign's solver and implicit gradient against
torchdeq 0.1.0 (Geng & Kolter's library) solving the same core to the same tolerance, side by
side in one run. The same HybridDEQ (digits: n = 64, m = 48; darcy: n = 256, m = 256), the
same initial weights, batches, optimiser and epochs; only the core's forward differs:

- codesign: Anderson (window 5) to a relative residual ||f(z) - z|| / ||f(z)|| < 1e-6 per
  sample, at most 60 steps; the backward pass solves the adjoint fixed point the same way.
- torchdeq: ``get_deq(ift=True)`` with its Anderson forward and backward solvers, the same
  relative tolerance (``stop_mode="rel"``) and step limits.

Writes runs/bench/torchdeq.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import time
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from codesign.deq.model import DEQConfig
from codesign.tasks import get_task
from codesign.training.train import new_model, train_model


def torchdeq_forward(core, tol: float, max_iter: int):
    """A forward for ``core`` (an EquilibriumCore) through torchdeq's implicit DEQ."""
    from torchdeq import get_deq

    deq = get_deq(ift=True, f_solver="anderson", b_solver="anderson", f_max_iter=max_iter,
                  b_max_iter=max_iter, f_tol=tol, b_tol=tol, f_stop_mode="rel",
                  b_stop_mode="rel")

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        W = self.weight()
        u = self.injection(e)
        z_out, info = deq(lambda z: self.phi(z @ W.T + u), torch.zeros_like(u))
        self.torchdeq_steps.append(float(info["nstep"].float().mean()))
        return z_out[-1]

    core.torchdeq_steps = []
    return types.MethodType(forward, core)


def worst_residual(model, x: np.ndarray) -> float:
    """The largest relative residual ||f(z) - z|| / ||f(z)|| of the trained model's test
    equilibria, however they were solved (both must reach the tolerance)."""
    with torch.no_grad():
        e = model.encode(torch.from_numpy(x))
        z = model.core(e)
        fz = model.core.phi(z @ model.core.weight().T + model.core.injection(e))
        return float(((fz - z).norm(dim=1) / (fz.norm(dim=1) + 1e-12)).max())


def run(task_name: str, epochs: int) -> dict:
    task = get_task(task_name)
    p = task.profile
    deq = DEQConfig(in_features=task.in_features, out_features=task.out_features,
                    core_size=p.core_size, core_inputs=p.core_inputs)
    config = replace(p.train, epochs=epochs)
    results = {}
    for name in ("codesign", "torchdeq"):
        model = new_model(task, deq, 0)
        if name == "torchdeq":
            model.core.forward = torchdeq_forward(model.core, deq.tol, deq.max_iter)
        start = time.perf_counter()
        result = train_model(task, model, config)
        seconds = time.perf_counter() - start
        core = result.model.core  # train_model trains a copy
        results[name] = {"epoch_s": seconds / epochs, "test_metric": result.test_metric,
                         "worst_test_residual": worst_residual(result.model, task.x_test)}
        if name == "torchdeq":
            results[name]["mean_forward_steps"] = float(np.mean(core.torchdeq_steps))
    results["torchdeq_over_codesign"] = (results["torchdeq"]["epoch_s"]
                                         / results["codesign"]["epoch_s"])
    return {"task": task_name, "n": p.core_size, "m": p.core_inputs, "epochs": epochs,
            "tol": deq.tol, **results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["digits", "darcy"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/torchdeq.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [run(name, args.epochs) for name in args.tasks]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    print("| task (n, m) | codesign s/epoch | torchdeq s/epoch | torchdeq / codesign | "
          "test metric codesign / torchdeq | worst test residual codesign / torchdeq |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        c, t = r["codesign"], r["torchdeq"]
        print(f"| {r['task']} ({r['n']}, {r['m']}) | {c['epoch_s']:.2f} | {t['epoch_s']:.2f} | "
              f"{r['torchdeq_over_codesign']:.2f} | {c['test_metric']:.4f} / "
              f"{t['test_metric']:.4f} | {c['worst_test_residual']:.1e} / "
              f"{t['worst_test_residual']:.1e} |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
