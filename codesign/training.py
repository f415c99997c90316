"""Digital training of a HybridDEQ on a classification task (implicit gradients)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from codesign.deq.model import DEQConfig, HybridDEQ
from codesign.tasks.base import Task


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser settings (learning rate in 1/step units of Adam)."""

    epochs: int = 60
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-3
    label_smoothing: float = 0.05
    input_noise: float = 0.3
    """Std of Gaussian noise added to standardised inputs during training (augmentation)."""
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainResult:
    model: HybridDEQ
    train_accuracy: float
    test_accuracy: float
    seconds: float


def accuracy(model: HybridDEQ, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``x`` that ``model`` classifies as ``y``."""
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    return float((pred == y).mean())


def train_classifier(
    task: Task,
    deq: DEQConfig,
    config: TrainConfig = TrainConfig(),
    progress: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train a HybridDEQ on ``task`` from seed ``config.seed``; ``progress(1)`` after each epoch."""
    gen = torch.Generator().manual_seed(config.seed)
    model = HybridDEQ(deq, generator=gen)
    x = torch.from_numpy(task.x_train)
    y = torch.from_numpy(task.y_train)
    model.set_standardisation(x)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    start = time.perf_counter()
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        for idx in order.split(config.batch_size):
            xb = x[idx] + config.input_noise * model.x_scale * torch.randn(
                len(idx), x.shape[1], generator=gen
            )
            loss = loss_fn(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if progress:
            progress(1)
    seconds = time.perf_counter() - start
    return TrainResult(
        model,
        accuracy(model, task.x_train, task.y_train),
        accuracy(model, task.x_test, task.y_test),
        seconds,
    )
