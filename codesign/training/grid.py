"""Training a GridDEQ on fields, with an optional physics term: the PDE's discrete residual of
the model's output (codesign.tasks.fields) added to the data loss, on labelled and unlabelled
fields alike.

    loss = mean over labelled fields of ||y - y*|| / ||y*||
         + residual_weight * mean over all fields of mean(r(x, y)^2)

Only ``labelled`` of the training fields (the first ones of a seeded permutation) enter the data
term; the residual term sees every field. Every setting takes the same optimiser steps (an epoch
is as many fields as the training set, the labelled ones cycling when they are all it sees).
Gradients through the equilibrium are implicit (codesign.deq.implicit; a Kirchhoff network
core, codesign.deq.kirchhoff.NetworkDEQ, by its own adjoint CG). Both model kinds train here
with the same data, loss and label fractions; ``mismatch_sigma`` is the stencil core's cell
error or the network core's lognormal conductance error.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from codesign.deq.grid import GridDEQ, GridDEQConfig
from codesign.deq.kirchhoff import NetworkDEQ, NetworkDEQConfig
from codesign.errors import InputError

Residual = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""(x, y) fields (B, C, G, G) -> the PDE residual (B, G, G) of output y for input x."""


@dataclass(frozen=True)
class GridTrainConfig:
    """Optimiser settings of a grid model (Adam, one-cycle learning rate)."""

    epochs: int = 40
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.0
    residual_weight: float = 0.0
    """Weight of the mean squared PDE residual (0: data only)."""
    labelled: float = 1.0
    """Fraction of the training fields whose solution the data term sees (0 < f <= 1)."""
    mismatch_sigma: float = 0.0
    """Physics-aware training: every step runs a fresh chip instance whose cells are each off
    by this relative error (GridCore.tap_sigma; 0: the ideal core)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.labelled <= 1.0:
            raise InputError(f"labelled must lie in (0, 1], got {self.labelled!r}")
        if min(self.mismatch_sigma, self.residual_weight) < 0 or self.epochs < 1 \
                or self.batch_size < 1 or self.lr <= 0:
            raise InputError("grid training needs epochs, batch_size >= 1, lr > 0, "
                             "residual_weight and mismatch_sigma >= 0")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GridTrainResult:
    model: GridDEQ | NetworkDEQ
    seconds: float
    """Wall time of the optimisation [s]."""
    labelled_fields: int
    last_loss: float


def relative_l2(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B,) ||pred - target|| / ||target|| per field."""
    return (pred - target).flatten(1).norm(dim=1) / target.flatten(1).norm(dim=1).clamp_min(1e-12)


def predict_fields(model: GridDEQ | NetworkDEQ, x: np.ndarray, batch: int = 64) -> np.ndarray:
    """Model outputs (K, C_out, G, G) float64 for inputs (K, C_in, G, G), without gradients."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch):
            xb = torch.from_numpy(np.asarray(x[start:start + batch], np.float32))
            out.append(model(xb).double().numpy())
    return np.concatenate(out)


def field_error(model: GridDEQ | NetworkDEQ, x: np.ndarray, y: np.ndarray) -> float:
    """Mean relative L2 error of the model on fields x -> y (K, C, G, G)."""
    pred = torch.from_numpy(predict_fields(model, x))
    return float(relative_l2(pred, torch.from_numpy(np.asarray(y, np.float64))).mean())


PDE_SIGNED_LR = 0.01
"""Learning-rate factor of a PDE-initialised network's source path (NetworkInit): the core's
signed parameters (inject, bias) and the encoder's last layer. Adam moves every parameter by
about the learning rate per step whatever its size, and the PDE channel's source is a
conductance of ~1e-4 (Darcy's bias) to ~1e-2 (Poisson's injection) fed by an encoder weight of
~0.05: at the full rate the first steps replace the PDE's source by noise (a small Poisson
test model at 0.011 went to 0.44 in 2 epochs at lr 1e-2; 0.17 with this factor, and it holds
0.012 at lr 1e-3, the rate the PDE-initialised results train at)."""


def _parameter_groups(model: GridDEQ | NetworkDEQ, lr: float) -> tuple[list[dict], list[float]]:
    """Adam's parameter groups and their peak learning rates: one group at ``lr``, except a
    PDE-initialised network's source path (core inject and bias, the encoder's last layer) at
    lr x PDE_SIGNED_LR."""
    from codesign.deq.kirchhoff import NetworkInit  # deferred: as the model's

    if not isinstance(model, NetworkDEQ) or model.config.init == NetworkInit.RANDOM:
        return [{"params": list(model.parameters())}], [lr]
    slow = [model.core.inject, model.core.bias, *model.encoder[-1].parameters()]
    ids = {id(p) for p in slow}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return ([{"params": rest}, {"params": slow, "lr": lr * PDE_SIGNED_LR}],
            [lr, lr * PDE_SIGNED_LR])


def train_grid(model: GridDEQ | NetworkDEQ, x: np.ndarray, y: np.ndarray, config: GridTrainConfig,
               residual: Residual | None = None,
               progress: Callable[[int, float], None] | None = None) -> GridTrainResult:
    """Train a copy of ``model`` on fields x (N, C_in, G, G) -> y (N, C_out, G, G); the
    residual term needs ``residual`` when its weight is > 0. ``progress(epoch, loss)``."""
    if config.residual_weight > 0 and residual is None:
        raise InputError("residual_weight > 0 needs the task's residual function")
    gen = torch.Generator().manual_seed(config.seed)
    model = copy.deepcopy(model)
    model.core.device_sigma = config.mismatch_sigma
    model.core.noise_generator = torch.Generator().manual_seed(config.seed + 1)
    xt, yt = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(y,
                                                                                       np.float32))
    order = torch.randperm(len(xt), generator=gen)
    count = max(1, int(round(config.labelled * len(xt))))
    labelled = torch.zeros(len(xt), dtype=torch.bool)
    labelled[order[:count]] = True
    use_all = config.residual_weight > 0
    pool = torch.arange(len(xt)) if use_all else order[:count]
    # Every setting takes the same number of steps: an epoch is len(x) fields drawn from the
    # pool (the labelled ones alone cycle when there is no residual term).
    per_epoch = pool.repeat((len(xt) + len(pool) - 1) // len(pool))[: len(xt)]
    steps = config.epochs * ((len(xt) + config.batch_size - 1) // config.batch_size)
    groups, peaks = _parameter_groups(model, config.lr)
    opt = torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, peaks, total_steps=steps)
    start, loss = time.perf_counter(), torch.tensor(float("nan"))
    for epoch in range(config.epochs):
        model.train()
        for idx in per_epoch[torch.randperm(len(per_epoch), generator=gen)].split(
                config.batch_size):
            out = model(xt[idx])
            mask = labelled[idx]
            loss = out.new_zeros(())
            if mask.any():
                loss = loss + relative_l2(out[mask], yt[idx][mask]).mean()
            if use_all:
                r = residual(xt[idx], out)
                loss = loss + config.residual_weight * r.pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if progress:
            progress(epoch + 1, float(loss.detach()))
    model.eval()
    model.core.device_sigma, model.core.noise_generator = 0.0, None
    return GridTrainResult(model, time.perf_counter() - start, count, float(loss.detach()))


def train_grid_task(task_name: str, deq: GridDEQConfig | NetworkDEQConfig,
                    train: GridTrainConfig, grids: tuple[int, ...] = (16, 32, 64),
                    progress: Callable[[int, float], None] | None = None,
                    init: GridDEQ | NetworkDEQ | None = None
                    ) -> tuple[GridDEQ | NetworkDEQ, dict]:
    """Train a GridDEQ (a NetworkDEQ for a NetworkDEQConfig) on a grid task
    (codesign.tasks.grid) from seed ``train.seed``, fit a
    linear core's state range (GridDEQ.fit_range) and judge it on the task's test fields at
    each of ``grids``; (model, record: settings, parameters, training time, relative L2 per
    grid and where each grid's fields come from). ``init``: fine-tune this model instead (its
    config is used; ``deq`` is ignored)."""
    from codesign.tasks.grid import get_grid_task  # deferred: loads the task's data

    task = get_grid_task(task_name, grids=grids)
    if task.train_grid != deq.train_grid:
        raise InputError(f"the {task_name} task trains at {task.train_grid} x "
                         f"{task.train_grid}; set train_grid = {task.train_grid}")
    if init is None:
        kind = NetworkDEQ if isinstance(deq, NetworkDEQConfig) else GridDEQ
        model = kind(deq, generator=torch.Generator().manual_seed(train.seed))
        model.set_standardisation(torch.from_numpy(task.x_train),
                                  torch.from_numpy(task.y_train))
    else:
        model, deq = init, init.config
    result = train_grid(model, task.x_train, task.y_train, train, task.residual, progress)
    factor = result.model.fit_range(torch.from_numpy(task.x_train))
    errors = {str(g): field_error(result.model, *task.test_at(g)) for g in grids}
    record = {
        "task": task_name,
        "model": "network DEQ" if isinstance(result.model, NetworkDEQ) else "grid DEQ",
        "deq": deq.to_dict(), "train": train.to_dict(),
        "parameters": sum(p.numel() for p in result.model.parameters()),
        "train_s": round(result.seconds, 1), "labelled_fields": result.labelled_fields,
        "state_scale": factor, "relative_l2": errors,
        **({"readout_gain": [round(float(v), 6) for v in result.model.readout_gain]}
           if isinstance(result.model, NetworkDEQ) else {}),
        "sources": {str(g): task.sources[g] for g in grids},
    }
    return result.model, record
