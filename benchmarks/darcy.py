"""Darcy flow (make bench): the neural-operator library's small benchmark, the same data for
every model (codesign.tasks.darcy: 1000 training fields at 16 x 16, the same 50 test fields at
16 x 16 and 32 x 32).

- The DEQ and its circuit: ``codesign loop --task darcy --neuron opamp --rounds 2
  --no-evaluate`` (core n = 256, m = 256; the digital DEQ, the loop's MLP of about its parameter
  count, and the circuit verified in SPICE on all 50 test fields after physics-aware
  fine-tuning).
- The library's FNO (neuralop 0.3.0, 8 x 8 modes, 32 channels), trained here with Adam on the
  same fields for the same epochs as the DEQ.
- 32 x 32: the FNO runs on the finer grid directly; the DEQ and MLP, whose input is the
  16 x 16 grid, see the field resampled to 16 x 16 and their output resampled to 32 x 32
  (bilinear), which is what "where the model allows" means for a fixed-size model.

Writes runs/bench/darcy/darcy.csv and prints the table.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from codesign.deq.checkpoint import load_checkpoint
from codesign.deq.model import DEQConfig
from codesign.loop.pipeline import run_loop
from codesign.results.loop import LoopSettings
from codesign.simulator import get_simulator
from codesign.tasks.base import relative_l2
from codesign.tasks.darcy import PROFILE, load_fields
from codesign.training.baselines import new_mlp, parameter_count
from codesign.training.train import predict, train_model


def resample(x: np.ndarray, size: int) -> np.ndarray:
    """(K, G, G) fields bilinearly resampled to (K, size, size) (grid corners aligned)."""
    t = torch.from_numpy(x)[:, None].float()
    return torch.nn.functional.interpolate(t, size=(size, size), mode="bilinear",
                                           align_corners=True)[:, 0].numpy()


def grid_metric(model, a: np.ndarray, u: np.ndarray) -> float:
    """A 16 x 16 model's mean relative L2 error on fields of any size."""
    g = a.shape[-1]
    x = resample(a, 16).reshape(len(a), -1) if g != 16 else a.reshape(len(a), -1)
    out = predict(model, x.astype(np.float32)).reshape(len(a), 16, 16)
    out = resample(out, g) if g != 16 else out
    return float(relative_l2(out.reshape(len(a), -1), u.reshape(len(u), -1)).mean())


def with_grid(a: torch.Tensor) -> torch.Tensor:
    """(K, G, G) fields as (K, 3, G, G): the field and its points' x and y in [0, 1] (the
    positional channels of the library's Darcy example, so one model reads any resolution)."""
    g = a.shape[-1]
    line = torch.linspace(0, 1, g)
    xx, yy = torch.meshgrid(line, line, indexing="ij")
    return torch.stack([a, xx.expand_as(a), yy.expand_as(a)], 1)


def fno(epochs: int, seed: int) -> tuple[torch.nn.Module, float, tuple[float, float]]:
    """The library's FNO trained on the 16 x 16 fields (Adam, relative L2 loss, the pressure
    standardised by its training mean and deviation); returns (model, seconds, (mean, std))."""
    warnings.filterwarnings("ignore", category=UserWarning)
    from neuralop.models import FNO

    a, u = (torch.from_numpy(x) for x in load_fields("darcy_train_16.pt"))
    mean, std = float(u.mean()), float(u.std())
    x, y = with_grid(a), ((u - mean) / std)[:, None]
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = FNO(n_modes=(8, 8), hidden_channels=32, in_channels=3, out_channels=1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    start = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(32):
            pred = model(x[idx]) * std + mean
            target = y[idx] * std + mean
            loss = (torch.linalg.vector_norm((pred - target).flatten(1), dim=1)
                    / torch.linalg.vector_norm(target.flatten(1), dim=1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    return model.eval(), time.perf_counter() - start, (mean, std)


def fno_metric(model, scale: tuple[float, float], a: np.ndarray, u: np.ndarray) -> float:
    with torch.no_grad():
        out = (model(with_grid(torch.from_numpy(a))) * scale[1] + scale[0]).numpy()[:, 0]
    return float(relative_l2(out.reshape(len(a), -1), u.reshape(len(u), -1)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/bench/darcy"))
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    tests = {g: load_fields(f"darcy_test_{g}.pt") for g in (16, 32)}
    loop_dir = args.out / "loop"
    summary = run_loop(LoopSettings(task="darcy", neuron="opamp", rounds=2, evaluate=False),
                       loop_dir, get_simulator("process", workers=args.workers), print)
    deq = load_checkpoint(loop_dir / "models" / "naive-seed0.pt")
    from codesign.tasks import get_task

    task = get_task("darcy")
    deq_seconds = float(pd.read_csv(loop_dir / "baselines.csv").iloc[0].train_s)
    config = DEQConfig(in_features=task.in_features, out_features=task.out_features,
                       core_size=PROFILE.core_size, core_inputs=PROFILE.core_inputs)
    mlp = train_model(task, new_mlp(config, torch.from_numpy(task.x_train), 0), PROFILE.train)
    net, net_s, scale = fno(PROFILE.train.epochs, 0)
    last = summary.rounds[-1]
    rows = [
        {"model": "digital DEQ (codesign, n = 256)", "parameters": parameter_count(deq.model),
         "train_s": deq_seconds,
         **{f"rel_l2_{g}": grid_metric(deq.model, *tests[g]) for g in tests}},
        {"model": "circuit: that DEQ class, physics-aware, opamp level in SPICE",
         "parameters": parameter_count(deq.model), "train_s": float("nan"),
         "rel_l2_16": last.run.circuit.metric, "rel_l2_32": float("nan")},
        {"model": "MLP (codesign baseline)", "parameters": parameter_count(mlp.model),
         "train_s": mlp.seconds,
         **{f"rel_l2_{g}": grid_metric(mlp.model, *tests[g]) for g in tests}},
        {"model": "FNO (neuraloperator 0.3.0, 8x8 modes, 32 channels)",
         "parameters": sum(p.numel() for p in net.parameters()), "train_s": net_s,
         **{f"rel_l2_{g}": fno_metric(net, scale, *tests[g]) for g in tests}},
    ]
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "darcy.csv", index=False)
    ratio = last.run.circuit.metric / last.reference_digital
    print("| model | parameters | training [s] | rel. L2 16x16 | rel. L2 32x32 |")
    print("|---|---|---|---|---|")
    for r in table.itertuples():
        print(f"| {r.model} | {r.parameters} | {r.train_s:.0f} | {r.rel_l2_16:.4f} | "
              f"{r.rel_l2_32:.4f} |")
    print(f"circuit / its digital DEQ on the 50 test fields: {ratio:.3f} (target <= 1.25)")
    print(f"wrote {args.out / 'darcy.csv'}")


if __name__ == "__main__":
    main()
