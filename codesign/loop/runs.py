"""A model on one chip: its task metric three ways on the same samples (the digital core, the
proxy of that chip, the chip in SPICE), through the task's own evaluation. Supervised tasks
send the whole selection through the chip at once; closed-loop tasks call it once per control
step, all episodes in lockstep, so every action comes from ngspice. The chip keeps every
equilibrium it computed, which the next calibration fits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesign.chip.chip import Chip
from codesign.deq.model import HybridDEQ
from codesign.loop.context import LoopContext
from codesign.results.loop import ModelRun
from codesign.tasks.base import Selection
from codesign.training.aware import HardwareModel
from codesign.training.train import decode, encode


@dataclass(frozen=True, eq=False)
class CircuitRun:
    """Digital, proxy and SPICE metrics of one model on one chip instance, same samples."""

    metrics: ModelRun
    chip: Chip
    """The compiled instance that was simulated (its runs hold every (e, z, x))."""
    rollouts: dict = field(default_factory=dict)
    """Closed-loop tasks: name -> the task's rollouts (digital, proxy, circuit)."""


def model_chip(ctx: LoopContext, model: HybridDEQ, hardware: HardwareModel,
               title: str = "codesign loop chip") -> Chip:
    """The chip of ``model``'s core on ``hardware``, mismatch from the run's chip seed."""
    return Chip(model.core.to_weights(), hardware.circuit, ctx.settings.chip_seed, ctx.simulator,
                title=title)


def run_on_chip(ctx: LoopContext, model: HybridDEQ, hardware: HardwareModel, run_dir: Path,
                selection: Selection | None = None) -> CircuitRun:
    """``model`` on a fresh chip of ``hardware``: its metric on ``selection`` (default: the
    task's verification set) through the digital core, and through the chip's DACs, its proxy
    or SPICE and its ADCs."""
    chip = model_chip(ctx, model, hardware)
    selection = selection or ctx.task.verification_set()
    core, params, run_dir = chip.core, hardware.params, Path(run_dir)

    def digital(x: np.ndarray) -> np.ndarray:
        return decode(model, core.equilibrium(encode(model, x)))

    def proxy(x: np.ndarray) -> np.ndarray:
        return decode(model, chip.adc(chip.proxy_equilibrium(params, chip.dac(encode(model, x)))))

    def circuit(x: np.ndarray) -> np.ndarray:
        e = chip.dac(encode(model, x))
        z = chip.operating_points(e, run_dir / f"step-{len(chip.runs):04d}").z
        return decode(model, chip.adc(z))

    evaluations = {name: ctx.task.evaluate(fn, selection)
                   for name, fn in (("digital", digital), ("proxy", proxy), ("circuit", circuit))}
    metrics = ModelRun(**{name: ev.metrics for name, ev in evaluations.items()})
    rollouts = {name: ev.rollouts for name, ev in evaluations.items() if ev.rollouts is not None}
    return CircuitRun(metrics, chip, rollouts)
