"""Kirchhoff network cores on PDEs: train at 16 x 16, evaluate the same conductances at every
test resolution (the diffusive transfer rule), beside the untrained finite-difference network
with the PDE's own coefficients (how much of the result is the structure, how much learning).

    python -m benchmarks.grid_network --task poisson --out docs/results/grid-poisson-network.json

Writes one JSON record (settings, parameters, device count, training time, relative L2 per grid,
the readout gains, and the plain network's relative L2 per grid) and the trained model beside it
(.pt, the network checkpoint format). Each task's structure (TASK_STRUCTURE) starts channel 0 of
the network as the PDE's own finite-difference network and the decoder reading it
(NetworkInit); the other channels and the rest learn corrections.

The committed results (docs/results/grid-{poisson,darcy}-network.json):

    python -m benchmarks.grid_network --task poisson --epochs 15 --lr 1e-3 \
        --out docs/results/grid-poisson-network.json
    python -m benchmarks.grid_network --task darcy --epochs 20 --lr 1e-3 \
        --out docs/results/grid-darcy-network.json
    python -m benchmarks.grid_network --task poisson --init random --epochs 15 --lr 1e-2 \
        --out docs/results/grid-poisson-network-random.json   # every channel random
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from codesign.deq.checkpoint import save_network_checkpoint
from codesign.deq.kirchhoff import TASK_STRUCTURE, NetworkDEQConfig, NetworkInit
from codesign.deq.network import NetworkWeights, SourceKind
from codesign.tasks.fields import A_HIGH, A_LOW, solve_darcy
from codesign.tasks.grid import get_grid_task
from codesign.training.grid import GridTrainConfig, train_grid_task

LOAD = 1e-11
"""Injection conductance of the plain PDE networks (a source loads its node; see
tests/test_network.py): e = s / LOAD."""

TASK_DEFAULTS = TASK_STRUCTURE
"""The network structure each task's PDE has (codesign grid train --core network uses the
same)."""


def relative_l2(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean over fields of ||pred - target|| / ||target||."""
    pred, target = pred.reshape(len(pred), -1), target.reshape(len(target), -1)
    return float(np.mean(np.linalg.norm(pred - target, axis=1)
                         / np.linalg.norm(target, axis=1)))


def plain_network(task: str, grid: int, x: np.ndarray, kappa: float = 40.0) -> np.ndarray:
    """The untrained finite-difference network with the PDE's own coefficients on test inputs
    x (K, 1, G, G): Poisson edges 1 / h^2, cubic kappa, e = s / LOAD; Darcy half-edges 2 k G^2
    switched by a on the (G - 1)^2 interior nodes (harmonic face means), f = 1. (K, G, G)."""
    if task == "poisson":
        h = 1.0 / (grid + 1)
        w = NetworkWeights(grid, np.full((1, 2), 1 / h**2), None, np.zeros((1, 1)),
                           np.zeros(1), np.full((1, 1, 1, 1), LOAD), np.zeros(1),
                           np.full(1, kappa))
        e = x.reshape(len(x), -1).astype(np.float64) / LOAD
        return w.equilibrium(e).reshape(len(x), grid, grid)
    half = np.array([[[A_LOW, A_HIGH]] * 2]) * 2 * grid**2
    w = NetworkWeights(grid - 1, np.zeros((1, 2)), half, np.zeros((1, 1)), np.zeros(1),
                       np.full((1, 1, 1, 1), LOAD), np.zeros(1), np.zeros(1))
    bits = x[:, 0, 1:, 1:] >= 0.5
    z = w.equilibrium(np.full((len(x), (grid - 1) ** 2), 1 / LOAD), bits)
    out = np.zeros((len(x), grid, grid))
    out[:, 1:, 1:] = z.reshape(len(x), grid - 1, grid - 1)
    return out


def structure_baselines(task: str, grids: tuple[int, ...]) -> dict:
    """Relative L2 of the untrained PDE networks (and, for Darcy, of the generator's own
    arithmetic-mean discretisation solved on the test grid) on each grid's test fields."""
    data = get_grid_task(task, grids=grids)
    out: dict[str, dict] = {"plain_network": {}}
    if task == "darcy":
        out["fd_same_grid"] = {}
    for g in grids:
        x, y = data.test_at(g)
        out["plain_network"][str(g)] = relative_l2(plain_network(task, g, x), y[:, 0])
        if task == "darcy":
            fd = np.stack([solve_darcy(a) for a in x[:, 0].astype(np.float64)])
            out["fd_same_grid"][str(g)] = relative_l2(fd, y[:, 0])
    return out


def run(task: str, deq: NetworkDEQConfig, train: GridTrainConfig, grids: tuple[int, ...],
        out: Path | None, verbose: bool = True) -> dict:
    def progress(epoch: int, loss: float) -> None:
        if verbose and (epoch % 5 == 0 or epoch == train.epochs):
            print(f"  epoch {epoch}/{train.epochs} loss {loss:.4f}", flush=True)

    model, record = train_grid_task(task, deq, train, grids, progress)
    weights = model.to_weights(deq.train_grid)
    record["devices_at_train_grid"] = weights.device_count()
    record["network"] = {k: np.asarray(v).round(6).tolist() for k, v in (
        ("edge", weights.edge), ("half", weights.half), ("couple", weights.couple),
        ("ground", weights.ground), ("bias", weights.bias), ("cubic", weights.cubic))
        if v is not None}
    record["structure"] = structure_baselines(task, grids)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1) + "\n")
        save_network_checkpoint(out.with_suffix(".pt"), model, task,
                                {"relative_l2": record["relative_l2"]}, train.to_dict())
    if verbose:
        print(json.dumps({k: record[k] for k in ("parameters", "train_s", "relative_l2",
                                                  "structure")}))
    return record


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="poisson", choices=sorted(TASK_DEFAULTS))
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--inputs", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--input-stencil", type=int, default=1)
    ap.add_argument("--encoder-stencil", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=None,
                    help="peak learning rate (default: 1e-3 for a PDE-initialised core, 1e-2 "
                    "for a random one)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--residual-weight", type=float, default=0.0)
    ap.add_argument("--labelled", type=float, default=1.0)
    ap.add_argument("--mismatch", type=float, default=0.0,
                    help="physics-aware training: lognormal sigma of every conductance")
    ap.add_argument("--init", choices=[c.value for c in NetworkInit], default=None,
                    help="how the core starts (default: the task's, TASK_STRUCTURE)")
    ap.add_argument("--sources", choices=[c.value for c in SourceKind], default="resistor",
                    help="how the injections and bias reach a node (SourceKind)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grids", default="16,32,64")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--structure-only", action="store_true",
                    help="only the untrained PDE networks' errors")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    grids = tuple(int(g) for g in args.grids.split(","))
    if args.structure_only:
        print(json.dumps(structure_baselines(args.task, grids)))
        return
    structure = dict(TASK_DEFAULTS[args.task])
    if args.init is not None:
        structure["init"] = args.init
    deq = NetworkDEQConfig(channels=args.channels, inputs=args.inputs, hidden=args.hidden,
                           input_stencil=args.input_stencil,
                           encoder_stencil=args.encoder_stencil, sources=args.sources,
                           **structure)
    lr = args.lr or (1e-2 if deq.init == NetworkInit.RANDOM else 1e-3)
    train = GridTrainConfig(epochs=args.epochs, lr=lr, batch_size=args.batch_size,
                            residual_weight=args.residual_weight, labelled=args.labelled,
                            seed=args.seed, mismatch_sigma=args.mismatch)
    run(args.task, deq, train, grids, args.out)


if __name__ == "__main__":
    main()
