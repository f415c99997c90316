"""Robustness curves: a model's task metric against conductance mismatch (0-10 %), bits per cell
(1-8) and op-amp DC gain (1e2-1e5), predicted by the proxy over seeded chip instances, for the
physics-aware and the naive model; a few points are checked in SPICE."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from codesign.choices import Choice
from codesign.deq.model import HybridDEQ
from codesign.files import write_table
from codesign.loop.context import LoopContext
from codesign.loop.runs import run_on_chip
from codesign.tasks.base import Selection, Task
from codesign.training.aware import HardwareModel

SIGMAS = (0.0, 0.025, 0.05, 0.075, 0.10)
BITS = (1, 2, 3, 4, 5, 6, 8)
GAINS = (1e2, 1e3, 1e4, 1e5)


class Axis(Choice):
    """A hardware setting a robustness curve sweeps."""

    MISMATCH_SIGMA = "mismatch_sigma"
    BITS = "bits"
    DC_GAIN = "dc_gain"


@dataclass(frozen=True)
class SweepPoint:
    """One hardware setting of a robustness curve."""

    axis: Axis
    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "axis", Axis.parse(self.axis, "robustness axis"))

    def apply(self, hardware: HardwareModel) -> HardwareModel:
        if self.axis == Axis.MISMATCH_SIGMA:
            return hardware.with_array(mismatch_sigma=self.value)
        if self.axis == Axis.BITS:
            return hardware.with_array(levels=2 ** int(self.value))
        return hardware.with_gain(self.value)


CIRCUIT_POINTS = (SweepPoint(Axis.MISMATCH_SIGMA, 0.10), SweepPoint(Axis.BITS, 3),
                  SweepPoint(Axis.DC_GAIN, 1e2))
"""Robustness points re-checked in SPICE for both models."""


def sweep_points() -> list[SweepPoint]:
    return ([SweepPoint(Axis.MISMATCH_SIGMA, s) for s in SIGMAS]
            + [SweepPoint(Axis.BITS, b) for b in BITS]
            + [SweepPoint(Axis.DC_GAIN, g) for g in GAINS])


def chip_forward(model: HybridDEQ, hardware: HardwareModel, chip: int) -> Callable:
    """x -> outputs on chip instance ``chip`` (the same draw at every call, as a real chip)."""
    def forward(x: np.ndarray) -> np.ndarray:
        gen = torch.Generator().manual_seed(10_000 + chip)
        with torch.no_grad():
            xt = torch.from_numpy(np.asarray(x, np.float32))
            return hardware.forward(model, xt, gen).double().numpy()

    return forward


def chip_metrics(model: HybridDEQ, task: Task, hardware: HardwareModel, chips: int,
                 selection: Selection) -> np.ndarray:
    """(chips, 2): the metric and the success rate (NaN where the task has none) on ``chips``
    proxy chip instances."""
    model.eval()
    out = []
    for chip in range(chips):
        metrics = task.evaluate(chip_forward(model, hardware, chip), selection).metrics
        out.append((metrics.metric,
                     np.nan if metrics.success_rate is None else metrics.success_rate))
    return np.array(out)


def robustness_table(models: dict[str, HybridDEQ], task: Task, hardware: HardwareModel,
                     chips: int) -> pd.DataFrame:
    """One row per (model, axis, value): metric mean and sd over chips (and success rate)."""
    rows = []
    for name, model in models.items():
        for point in sweep_points():
            values = chip_metrics(model, task, point.apply(hardware), chips, task.curve_set())
            success = values[:, 1]
            rows.append({"model": name, "axis": point.axis.value, "value": point.value,
                         "metric_mean": float(values[:, 0].mean()),
                         "metric_sd": float(values[:, 0].std()),
                         "success_rate": None if np.isnan(success).all() else
                         float(np.nanmean(success)),
                         "chips": chips})
    return pd.DataFrame(rows)


def robustness(ctx: LoopContext, models: dict[str, HybridDEQ],
               hardware: HardwareModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Proxy curves over every sweep point, and SPICE at CIRCUIT_POINTS, for each model."""
    curves = robustness_table(models, ctx.task, hardware, ctx.profile.chips)
    write_table(ctx.path("robustness.csv"), curves)
    rows = []
    for point in CIRCUIT_POINTS:
        for name, model in models.items():
            folder = ctx.folder("robustness", f"{name}-{point.axis}-{point.value:g}")
            run = run_on_chip(ctx, model, point.apply(hardware), folder, ctx.task.spot_set())
            m = run.metrics
            rows.append({"model": name, "axis": point.axis.value, "value": point.value,
                         "digital": m.digital.metric, "proxy": m.proxy.metric,
                         "circuit": m.circuit.metric,
                         "circuit_success_rate": m.circuit.success_rate})
            ctx.log(f"robustness {name} {point.axis}={point.value:g}: circuit "
                    f"{rows[-1]['circuit']:.4g}, proxy {rows[-1]['proxy']:.4g}")
            write_table(ctx.path("robustness_circuit.csv"), pd.DataFrame(rows))
    return curves, pd.DataFrame(rows)
