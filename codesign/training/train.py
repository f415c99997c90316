"""Training a HybridDEQ on a task: naive (digital core) or physics-aware (the core computed by
the calibrated proxy on a fresh chip instance every step, codesign.training.aware). Implicit
gradients either way; fine-tuning starts from a given model. The loss and the metric are the
task's."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from codesign.deq.model import DEFAULT_GAMMA, Decoder, DEQConfig, Encoder, HybridDEQ
from codesign.tasks.base import Task
from codesign.tasks.profile import TrainConfig
from codesign.training.aware import HardwareModel


@dataclass(frozen=True)
class TrainResult:
    model: nn.Module
    train_metric: float
    test_metric: float
    seconds: float


Forward = Callable[[nn.Module, torch.Tensor], torch.Tensor]


def predict(model: nn.Module, x: np.ndarray, forward: Forward | None = None) -> np.ndarray:
    """Model outputs for ``x`` without gradients (``forward(model, x)`` or ``model(x)``)."""
    model.eval()
    with torch.no_grad():
        xt = torch.from_numpy(np.asarray(x, np.float32))
        return (forward(model, xt) if forward else model(xt)).double().numpy()


def evaluate(model: nn.Module, task: Task, split: str = "test",
             forward: Forward | None = None) -> float:
    """The task's offline metric of ``model`` on its train or test split."""
    x, y = (task.x_test, task.y_test) if split == "test" else (task.x_train, task.y_train)
    return task.score(predict(model, x, forward), y)


def encode(model: HybridDEQ, x: np.ndarray) -> np.ndarray:
    """Core inputs e (K, m) in float64, as the input DACs receive them."""
    with torch.no_grad():
        return model.encode(torch.from_numpy(np.asarray(x, np.float32))).double().numpy()


def decode(model: HybridDEQ, z: np.ndarray) -> np.ndarray:
    """Model outputs from core states z (K, n) [FS]."""
    with torch.no_grad():
        return model.decode(torch.from_numpy(np.asarray(z, np.float32))).double().numpy()


def task_deq_config(task: Task, encoder: str = "linear-tanh", decoder: str = "linear",
                    core_size: int | None = None, core_inputs: int | None = None,
                    gamma: float = DEFAULT_GAMMA) -> DEQConfig:
    """The DEQ of ``task`` (its profile's core size and inputs unless given, contraction bound
    ``gamma``) with ``encoder`` and ``decoder``: no encoder feeds the features straight to the
    DACs (core inputs = the features), a per-neuron decoder makes each neuron one output (core
    size = the outputs)."""
    none = Encoder.parse(encoder, "encoder") is Encoder.NONE
    per_neuron = Decoder.parse(decoder, "decoder") is Decoder.PER_NEURON
    profile = task.profile
    return DEQConfig(in_features=task.in_features, out_features=task.out_features,
                     core_size=task.out_features if per_neuron else
                     core_size or profile.core_size,
                     core_inputs=task.in_features if none else
                     core_inputs or profile.core_inputs,
                     encoder=encoder, decoder=decoder, gamma=gamma)


def new_model(task: Task, deq: DEQConfig, seed: int) -> HybridDEQ:
    """A freshly initialised model for ``task`` (seeded), its standardisation from the data."""
    model = HybridDEQ(deq, generator=torch.Generator().manual_seed(seed))
    model.set_standardisation(torch.from_numpy(task.x_train))
    return model


def train_model(
    task: Task,
    model: nn.Module,
    config: TrainConfig | None = None,
    hardware: HardwareModel | None = None,
    progress: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train a copy of ``model`` (a fresh ``new_model`` or one to fine-tune) on ``task``,
    shuffling and augmenting from seed ``config.seed``; with ``hardware`` every step runs the
    core through the proxy on a new chip instance. ``progress(1)`` after each epoch. The
    metrics are the digital model's."""
    config = config or TrainConfig()
    gen = torch.Generator().manual_seed(config.seed)
    model = copy.deepcopy(model)
    x = torch.from_numpy(task.x_train)
    y = torch.from_numpy(task.y_train)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs)
    loss_fn = task.loss(config)
    start = time.perf_counter()
    for _ in range(config.epochs):
        model.train()
        for idx in torch.randperm(len(x), generator=gen).split(config.batch_size):
            xb = x[idx] + config.input_noise * model.x_scale * torch.randn(
                len(idx), x.shape[1], generator=gen)
            out = hardware.forward(model, xb, gen) if hardware else model(xb)
            loss = loss_fn(out, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if progress:
            progress(1)
    seconds = time.perf_counter() - start
    model.eval()
    return TrainResult(model, evaluate(model, task, "train"), evaluate(model, task), seconds)
