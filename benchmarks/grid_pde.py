"""Grid-local DEQs on PDEs (make bench): train at 16 x 16, evaluate the same weights at every
test resolution; optionally with the PDE residual in the loss and on a fraction of the labels.

    python -m benchmarks.grid_pde --task poisson --out runs/bench/grid/poisson.json
    python -m benchmarks.grid_pde --task darcy --residual-weight 0.01 --labelled 0.3 ...

Writes one JSON record (settings, parameter count, training time, relative L2 per grid) and
the trained model (state dict, torch.save of tensors only) beside it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch

from codesign.deq.checkpoint import load_grid_checkpoint, save_grid_checkpoint
from codesign.deq.grid import GridDEQConfig
from codesign.training.grid import GridTrainConfig, train_grid_task


def run(task_name: str, deq: GridDEQConfig, train: GridTrainConfig, grids: tuple[int, ...],
        out: Path | None, verbose: bool = True, init: Path | None = None) -> dict:
    def progress(epoch: int, loss: float) -> None:
        if verbose and (epoch % 5 == 0 or epoch == train.epochs):
            print(f"  epoch {epoch}/{train.epochs} loss {loss:.4f}", flush=True)

    start = load_grid_checkpoint(init).model if init is not None else None
    model, record = train_grid_task(task_name, deq, train, grids, progress, start)
    if init is not None:
        record["fine_tuned_from"] = str(init)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1) + "\n")
        save_grid_checkpoint(out.with_suffix(".pt"), model, task_name,
                             {"relative_l2": record["relative_l2"]}, train.to_dict())
    if verbose:
        print(json.dumps({k: record[k] for k in ("parameters", "train_s", "relative_l2")}))
    return record


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="poisson")
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--inputs", type=int, default=8)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--residual-weight", type=float, default=0.0)
    ap.add_argument("--labelled", type=float, default=1.0)
    ap.add_argument("--mismatch", type=float, default=0.0,
                    help="physics-aware training: relative cell error of every step's chip")
    ap.add_argument("--init", type=Path, default=None,
                    help="fine-tune this grid checkpoint instead of a fresh model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grids", default="16,32,64")
    ap.add_argument("--activation", default="tanh")
    ap.add_argument("--shape", default="square", choices=["square", "cross"])
    ap.add_argument("--max-iter", type=int, default=100)
    ap.add_argument("--transfer", default="same", choices=["same", "diffusive"])
    ap.add_argument("--encoder-stencil", type=int, default=3)
    ap.add_argument("--input-stencil", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sweep-labels", default="",
                    help="e.g. 0.1,0.3,1.0: train at each labelled fraction without and with "
                         "the residual term (--residual-weight) and write all records")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    deq = GridDEQConfig(channels=args.channels, inputs=args.inputs, gamma=args.gamma,
                        hidden=args.hidden, transfer=args.transfer, activation=args.activation,
                        shape=args.shape,
                        max_iter=args.max_iter,
                        encoder_stencil=args.encoder_stencil, input_stencil=args.input_stencil)
    train = GridTrainConfig(epochs=args.epochs, lr=args.lr, residual_weight=args.residual_weight,
                            labelled=args.labelled, seed=args.seed,
                            mismatch_sigma=args.mismatch)
    grids = tuple(int(g) for g in args.grids.split(","))
    if not args.sweep_labels:
        run(args.task, deq, train, grids, args.out, init=args.init)
        return
    records = []
    for fraction in (float(f) for f in args.sweep_labels.split(",")):
        for weight in (0.0, args.residual_weight):
            print(f"labelled {fraction:g}, residual weight {weight:g}", flush=True)
            records.append(run(args.task, deq, replace(train, labelled=fraction,
                                                       residual_weight=weight), grids, None))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(records, indent=1) + "\n")


if __name__ == "__main__":
    main()
