"""Robustness curves: a model's task metric against conductance mismatch (0-10 %), bits per cell
(1-8) and op-amp DC gain (1e2-1e5), predicted by the proxy over seeded chip instances, for the
physics-aware and the naive model; a few points are checked in SPICE by the loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from codesign.aware import HardwareModel
from codesign.deq.model import HybridDEQ
from codesign.tasks.base import Task
from codesign.tasks.control import EVAL_SEED, PendulumConfig, model_policy, rollout

SIGMAS = (0.0, 0.025, 0.05, 0.075, 0.10)
BITS = (1, 2, 3, 4, 5, 6, 8)
GAINS = (1e2, 1e3, 1e4, 1e5)


@dataclass(frozen=True)
class SweepPoint:
    """One hardware setting of a robustness curve."""

    axis: str
    """mismatch_sigma, bits or dc_gain."""
    value: float

    def apply(self, hardware: HardwareModel) -> HardwareModel:
        if self.axis == "mismatch_sigma":
            return hardware.with_array(mismatch_sigma=self.value)
        if self.axis == "bits":
            return hardware.with_array(levels=2 ** int(self.value))
        return hardware.with_gain(self.value)


def sweep_points() -> list[SweepPoint]:
    return ([SweepPoint("mismatch_sigma", s) for s in SIGMAS]
            + [SweepPoint("bits", b) for b in BITS] + [SweepPoint("dc_gain", g) for g in GAINS])


def chip_forward(model: HybridDEQ, hardware: HardwareModel, chip: int) -> Callable:
    """x -> outputs on chip instance ``chip`` (the same draw at every call, as a real chip)."""
    def forward(x: np.ndarray) -> np.ndarray:
        gen = torch.Generator().manual_seed(10_000 + chip)
        with torch.no_grad():
            xt = torch.from_numpy(np.asarray(x, np.float32))
            return hardware.forward(model, xt, gen).double().numpy()

    return forward


def chip_metrics(model: HybridDEQ, task: Task, hardware: HardwareModel, chips: int,
                 episodes: int = 0, episode_seed: int = EVAL_SEED) -> np.ndarray:
    """The task metric on ``chips`` proxy chip instances (control: closed-loop mean cost;
    success rates in the second column)."""
    model.eval()
    out = []
    for chip in range(chips):
        forward = chip_forward(model, hardware, chip)
        if task.kind == "control":
            s = rollout(model_policy(forward), PendulumConfig(), episodes, episode_seed).summary()
            out.append((s["mean_cost"], s["success_rate"]))
        else:
            out.append((task.score(forward(task.x_test), task.y_test), np.nan))
    return np.array(out)


def robustness_table(models: dict[str, HybridDEQ], task: Task, hardware: HardwareModel,
                     chips: int, episodes: int = 0) -> pd.DataFrame:
    """One row per (model, axis, value): metric mean and sd over chips (and success rate)."""
    rows = []
    for name, model in models.items():
        for point in sweep_points():
            values = chip_metrics(model, task, point.apply(hardware), chips, episodes)
            rows.append({"model": name, "axis": point.axis, "value": point.value,
                         "metric_mean": float(values[:, 0].mean()),
                         "metric_sd": float(values[:, 0].std()),
                         "success_rate": float(np.nanmean(values[:, 1]))
                         if task.kind == "control" else None,
                         "chips": chips})
    return pd.DataFrame(rows)
