"""Baselines beside the grid-local DEQ (benchmarks/grid_pde.py) on a grid task: trained on the
task's 16 x 16 training fields for the same epochs, evaluated at every test grid.

    python -m benchmarks.grid_baselines --task darcy --epochs 30 \
        --out runs/bench/grid/darcy-baselines.json

- FNO: neuraloperator 0.3.0's, as benchmarks/darcy.py configures it (8 x 8 modes, 32 channels,
  the positional channels, output standardised by its training mean and deviation, Adam with a
  relative L2 loss); it runs natively at every grid. Its input field is also standardised by
  its training mean and deviation (two numbers): Darcy's 0/1 permeability is O(1) already, the
  Poisson sources are not (std ~ 19).
- Dense DEQ: codesign's HybridDEQ on the flattened fields (in 256, m = 256, n = 256), trained by
  train_model with darcy's profile settings (lr 2e-3, input noise 0.3) for the given epochs.
- MLP: codesign's MLP baseline of about the dense DEQ's parameter count, trained the same way.
- The dense models read 16 x 16 only: at 32 and 64 their input is resampled to 16 x 16 and
  their output back (bilinear, benchmarks/darcy.py ``resample``).

The metric is the mean relative L2 error over the test fields, on the original fields. Writes
one JSON record (settings, and per model its parameters, training seconds and error per grid)
and, with ``--dense-out``, the dense DEQ as a codesign checkpoint (task ``grid-TASK-16``), which
benchmarks/grid_dense_spice.py runs as a chip in SPICE.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from benchmarks.darcy import grid_metric, with_grid
from codesign.deq.checkpoint import save_checkpoint
from codesign.deq.model import DEQConfig
from codesign.tasks.base import RegressionTask, relative_l2
from codesign.tasks.darcy import PROFILE
from codesign.tasks.grid import get_grid_task
from codesign.training.baselines import new_mlp, parameter_count
from codesign.training.train import new_model, train_model

FNO_SETTINGS = {"n_modes": [8, 8], "hidden_channels": 32, "in_channels": 3, "out_channels": 1,
                "lr": 3e-3, "weight_decay": 1e-4, "batch_size": 32, "schedule": "cosine",
                "loss": "relative L2", "input": "field standardised (training mean, std) + x, y",
                "output": "standardised (training mean, std)"}


def import_fno():
    """neuralop 0.3.0's FNO class. The package imports wandb and torch_harmonics at import
    although its FNO uses neither; where they are missing, empty stand-ins take their place."""
    stubs = {"wandb": (), "torch_harmonics": ("RealSHT", "InverseRealSHT"),
             "torch_harmonics.examples": ("ShallowWaterSolver",)}
    for name, attrs in stubs.items():
        try:
            __import__(name)
        except ImportError:
            stub = types.ModuleType(name)
            stub.__path__ = []  # a package, so that its stand-in submodules import
            for attr in attrs:
                setattr(stub, attr, type(attr, (), {}))
            sys.modules[name] = stub
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    from neuralop.models import FNO

    return FNO


class ScaledFNO(torch.nn.Module):
    """(K, G, G) fields -> (K, G, G) predictions in original units: input field and output
    standardised by training scalars, positional channels added."""

    def __init__(self, net: torch.nn.Module, x_scale: tuple[float, float],
                 y_scale: tuple[float, float]) -> None:
        super().__init__()
        self.net, self.x_scale, self.y_scale = net, x_scale, y_scale

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        x = with_grid((a - self.x_scale[0]) / self.x_scale[1])
        return self.net(x)[:, 0] * self.y_scale[1] + self.y_scale[0]


def train_fno(a: np.ndarray, u: np.ndarray, epochs: int, seed: int) -> tuple[ScaledFNO, float]:
    """benchmarks/darcy.py's FNO training on (K, 16, 16) fields; (model, seconds)."""
    fno_class = import_fno()
    a_t, u_t = torch.from_numpy(a), torch.from_numpy(u)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = fno_class(n_modes=(8, 8), hidden_channels=32, in_channels=3, out_channels=1)
    model = ScaledFNO(net, (float(a_t.mean()), float(a_t.std())),
                      (float(u_t.mean()), float(u_t.std())))
    opt = torch.optim.Adam(net.parameters(), lr=FNO_SETTINGS["lr"],
                           weight_decay=FNO_SETTINGS["weight_decay"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(a_t), generator=gen).split(FNO_SETTINGS["batch_size"]):
            pred, target = model(a_t[idx]), u_t[idx]
            loss = (torch.linalg.vector_norm((pred - target).flatten(1), dim=1)
                    / torch.linalg.vector_norm(target.flatten(1), dim=1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    return model.eval(), time.perf_counter() - start


def fno_error(model: ScaledFNO, a: np.ndarray, u: np.ndarray) -> float:
    with torch.no_grad():
        out = model(torch.from_numpy(a)).double().numpy()
    return float(relative_l2(out.reshape(len(a), -1), u.reshape(len(u), -1)).mean())


DENSE_TASK = "grid-{task}-16"
"""The task name a saved dense baseline carries (the flattened 16 x 16 fields of the grid task,
not the registered dense task of that name)."""


def run(task_name: str, epochs: int, seed: int, grids: tuple[int, ...], out: Path | None,
        log=print, dense_out: Path | None = None) -> dict:
    grid_task = get_grid_task(task_name, grids=grids)
    a, u = grid_task.x_train[:, 0], grid_task.y_train[:, 0]
    if a.shape[-1] != 16:
        raise SystemExit(f"the dense baselines read 16 x 16 fields, the task trains at "
                         f"{a.shape[-1]}")
    tests = {g: (x[:, 0], y[:, 0]) for g, (x, y) in grid_task.tests.items()}
    train = replace(PROFILE.train, epochs=epochs, seed=seed)
    profile = replace(PROFILE, task=task_name, train=train)
    flat = [f.reshape(len(f), -1) for f in (a, u, *tests[16])]
    task = RegressionTask(name=task_name, x_train=flat[0], y_train=flat[1], x_test=flat[2],
                          y_test=flat[3], source=f"codesign.tasks.grid {task_name}, 16 x 16",
                          profile=profile)
    deq = DEQConfig(in_features=256, out_features=256, core_size=256, core_inputs=256)
    models = []

    log(f"{task_name}: FNO, {epochs} epochs")
    fno, fno_s = train_fno(a, u, epochs, seed)
    models.append({"model": "FNO (neuraloperator 0.3.0, 8x8 modes, 32 channels)",
                   "parameters": parameter_count(fno.net), "train_s": round(fno_s, 1),
                   "relative_l2": {str(g): fno_error(fno, *tests[g]) for g in grids}})
    log(json.dumps(models[-1]))

    log(f"{task_name}: dense DEQ, {epochs} epochs")
    result = train_model(task, new_model(task, deq, seed), train)
    models.append({"model": "dense DEQ (codesign HybridDEQ, n = m = 256)",
                   "parameters": parameter_count(result.model),
                   "train_s": round(result.seconds, 1),
                   "relative_l2": {str(g): grid_metric(result.model, *tests[g]) for g in grids}})
    log(json.dumps(models[-1]))
    if dense_out is not None:
        save_checkpoint(dense_out, result.model, DENSE_TASK.format(task=task_name),
                        {"relative_l2": models[-1]["relative_l2"]}, train.to_dict())
        log(f"wrote {dense_out}")

    log(f"{task_name}: MLP, {epochs} epochs")
    mlp = train_model(task, new_mlp(deq, torch.from_numpy(task.x_train), seed), train)
    models.append({"model": "MLP (codesign baseline, ~ dense DEQ parameters)",
                   "parameters": parameter_count(mlp.model), "train_s": round(mlp.seconds, 1),
                   "hidden": [layer.out_features for layer in mlp.model.layers[:-1]],
                   "relative_l2": {str(g): grid_metric(mlp.model, *tests[g]) for g in grids}})
    log(json.dumps(models[-1]))

    record = {
        "task": task_name, "epochs": epochs, "seed": seed,
        "train_fields": len(a), "test_fields": {str(g): len(tests[g][0]) for g in grids},
        "sources": {str(g): grid_task.sources[g] for g in grids},
        "fno": FNO_SETTINGS, "dense_deq": asdict(deq), "dense_train": train.to_dict(),
        "resampling": "dense models at G != 16: input and output resampled bilinearly "
                      "(align_corners=True, benchmarks.darcy.resample)",
        "threads": torch.get_num_threads(), "models": models,
    }
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1) + "\n")
        log(f"wrote {out}")
    return record


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="darcy", choices=["darcy", "poisson"])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grids", default="16,32,64")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--dense-out", type=Path, help="also save the dense DEQ's checkpoint here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    record = run(args.task, args.epochs, args.seed,
                 tuple(int(g) for g in args.grids.split(",")), args.out,
                 dense_out=args.dense_out)
    print("| model | parameters | training [s] | " +
          " | ".join(f"rel. L2 {g}" for g in record["models"][0]["relative_l2"]) + " |")
    for m in record["models"]:
        print(f"| {m['model']} | {m['parameters']} | {m['train_s']:.0f} | " +
              " | ".join(f"{v:.4f}" for v in m["relative_l2"].values()) + " |")


if __name__ == "__main__":
    main()
