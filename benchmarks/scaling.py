"""Data-set and model scaling (make bench): the task metric and training time against the
training-set size and the core width, digital and circuit side by side, on digits (scikit-learn's
8 x 8 images; the test set and the 256 verification images fixed, the first N training images).

For each (N, n): the digital DEQ trained from scratch (the task's profile: 60 epochs, m = 3n/4),
its test accuracy and training time; then physics-aware fine-tuning through the op-amp level's
calibrated proxy (15 epochs) and its circuit in SPICE (5 % mismatch, 8-bit DACs and ADCs) on the
256 verification images, beside the fine-tuned model's digital core on the same images.

Writes runs/bench/scaling.csv and prints a table.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from codesign.loop.context import context, train
from codesign.loop.runs import run_on_chip
from codesign.results.loop import LoopSettings
from codesign.simulator import get_simulator


def point(size: int, width: int, out: Path, simulator) -> dict:
    """One (training-set size, core width) point."""
    from codesign.tasks import get_task

    base = get_task("digits").profile
    profile = replace(base, core_size=width, core_inputs=max(4, 3 * width // 4))
    settings = LoopSettings(task="digits", neuron="opamp", rounds=1, evaluate=False)
    ctx = context(settings, out, simulator, lambda line: None, profile)
    ctx.task = replace(ctx.task, x_train=ctx.task.x_train[:size],
                       y_train=ctx.task.y_train[:size])
    naive = train(ctx, 0, None)
    aware = train(ctx, 0, ctx.hardware, init=naive.model)
    tick = time.perf_counter()
    run = run_on_chip(ctx, aware.model, ctx.hardware, ctx.folder("spice"))
    return {"train_size": size, "core_size": width, "core_inputs": profile.core_inputs,
            "digital_test": naive.test_metric, "train_s": naive.seconds,
            "finetune_s": aware.seconds, "circuit": run.metrics.circuit.metric,
            "digital_same_samples": run.metrics.digital.metric,
            "samples": run.metrics.circuit.count, "spice_s": time.perf_counter() - tick}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[150, 450, 898])
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--out", type=Path, default=Path("runs/bench/scaling"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    simulator = get_simulator("process")
    rows = []
    for size in args.sizes:
        for width in args.widths:
            rows.append(point(size, width, args.out / f"n{width}-N{size}", simulator))
            r = rows[-1]
            print(f"N = {size:4d}, n = {width:3d}: digital {r['digital_test']:.4f} "
                  f"({r['train_s']:.0f} s), circuit {r['circuit']:.4f} vs its digital core "
                  f"{r['digital_same_samples']:.4f} on {r['samples']} images", flush=True)
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out.parent / "scaling.csv", index=False)
    print("| training images | core n (m) | digital test accuracy | training [s] | "
          "circuit (SPICE, 256 images) | its digital core, same images | fine-tune [s] |")
    print("|---|---|---|---|---|---|---|")
    for r in table.itertuples():
        print(f"| {r.train_size} | {r.core_size} ({r.core_inputs}) | {r.digital_test:.4f} | "
              f"{r.train_s:.0f} | {r.circuit:.4f} | {r.digital_same_samples:.4f} | "
              f"{r.finetune_s:.0f} |")
    print(f"wrote {args.out.parent / 'scaling.csv'}")


if __name__ == "__main__":
    main()
