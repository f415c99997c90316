"""A chip instance trimmed to its own SPICE equilibria: per-neuron activation gain g_i, input
offset o_i, output offset p_i and output scale h_i (a NeuronSpread) fitted on top of the proxy's
parameters, the way a measured chip is calibrated once after fabrication. The process's device
mismatch (the OTAs' and pairs' offsets, the drivers' offsets, the cells' conductances) moves each
neuron its own way; a parameter set shared by every neuron cannot follow it, four numbers per
neuron can. Fitted on some inputs' operating points, judged on others'."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from codesign.calibration.refit import refit
from codesign.chip.chip import Chip
from codesign.deq.model import HybridDEQ
from codesign.errors import InputError
from codesign.proxy.model import CircuitProxy, NeuronSpread
from codesign.proxy.params import ProxyParams
from codesign.training.aware import HardwareModel
from codesign.training.train import encode, train_model


@dataclass(frozen=True)
class Trim:
    """A chip instance's per-neuron terms [FS], and how the fit did (RMS [FS])."""

    gain: tuple[float, ...]
    offset: tuple[float, ...]
    output: tuple[float, ...]
    scale: tuple[float, ...]
    rms_before: float
    rms_after: float
    fitted: int
    judged: int

    def spread(self, dtype=torch.float64) -> NeuronSpread:
        return NeuronSpread(*(torch.tensor(v, dtype=dtype) for v in
                              (self.gain, self.offset, self.output, self.scale)))


def _rms(proxy: CircuitProxy, chip: Chip, e: np.ndarray, z: np.ndarray,
         spread: NeuronSpread | None) -> float:
    return float(np.sqrt(np.mean((proxy.predict(chip.effective, chip.inputs(e), spread)
                                  - z) ** 2)))


def fit_trim(params: ProxyParams, chip: Chip, e_fit: np.ndarray, z_fit: np.ndarray,
             e_test: np.ndarray, z_test: np.ndarray, steps: int = 60) -> Trim:
    """Per-neuron (g, o, p, h) minimising the squared error of the proxy's equilibria to the SPICE
    ones z_fit on inputs e_fit [FS] (L-BFGS through the implicit gradient); the RMS judged on
    (e_test, z_test). A fit that does not lower the held-out RMS keeps the nominal terms."""
    proxy = CircuitProxy(params, chip.v_fs)
    n = chip.n
    raw = torch.zeros(4, n, dtype=torch.float64, requires_grad=True)
    core = chip.effective
    e = torch.as_tensor(chip.inputs(e_fit), dtype=torch.float64)
    target = torch.as_tensor(z_fit, dtype=torch.float64)

    def spread_of(values: torch.Tensor) -> NeuronSpread:
        return NeuronSpread(1.0 + values[0], values[1], values[2], 1.0 + values[3])

    optimizer = torch.optim.LBFGS([raw], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.mean((proxy.equilibrium(core, e, spread_of(raw))[1] - target) ** 2)
        loss.backward()
        return loss

    optimizer.step(closure)
    nominal = NeuronSpread.nominal(n)
    before = _rms(proxy, chip, e_test, z_test, nominal)
    values = raw.detach()
    after = _rms(proxy, chip, e_test, z_test, spread_of(values))
    if not math.isfinite(after) or after > before:
        values, after = torch.zeros_like(values), before
    return Trim(tuple((1.0 + values[0]).tolist()), tuple(values[1].tolist()),
                tuple(values[2].tolist()), tuple((1.0 + values[3]).tolist()), before, after,
                len(e_fit), len(e_test))


MIN_TUNE_SAMPLES = 32
"""The fewest training inputs a chip tune measures (a quarter of them judge its trim)."""


@dataclass(frozen=True)
class ChipTune:
    """A model fine-tuned for one chip instance through that instance's proxy: the level's
    proxy re-fitted to its SPICE equilibria, with its per-neuron trim."""

    model: HybridDEQ
    params: ProxyParams
    trim: Trim
    samples: int
    epochs: int

    def summary(self) -> dict:
        return {"samples": self.samples, "epochs": self.epochs,
                "trim_rms_before_fs": self.trim.rms_before,
                "trim_rms_after_fs": self.trim.rms_after}


def tune_to_chip(task, model: HybridDEQ, params: ProxyParams, chip: Chip, samples: int,
                 run_dir: Path, seed: int, epochs: int) -> ChipTune:
    """``model`` fine-tuned for ``chip``, one instance (its seed fixes its mismatch), the way a
    die is calibrated once and its weights are then trained for it: SPICE operating points of
    ``samples`` training inputs (chosen with ``seed``; the test set is never seen), three
    quarters of them re-fitting the proxy (calibration.refit) and fitting the instance's
    per-neuron trim (fit_trim), a quarter judging the trim; then ``epochs`` of the task's
    fine-tuning through that proxy with that trim at every step (HardwareModel.spread), the
    cells' programming mismatch still drawn per step. Compile the tuned core with the same seed
    to run it on the same instance."""
    if samples < MIN_TUNE_SAMPLES:
        raise InputError(f"a chip tune needs at least {MIN_TUNE_SAMPLES} training inputs, got "
                         f"{samples}")
    if epochs < 1:
        raise InputError(f"a chip tune needs at least one epoch, got {epochs}")
    rng = np.random.default_rng([seed, 37])
    count = min(samples, len(task.x_train))
    pick = np.sort(rng.choice(len(task.x_train), count, replace=False))
    run = chip.operating_points(chip.dac(encode(model, task.x_train[pick])), Path(run_dir))
    order = rng.permutation(count)
    fit, judge = order[: 3 * count // 4], order[3 * count // 4:]
    params, _ = refit(params, chip, run.e[fit], run.z[fit], run.x[fit])
    trim = fit_trim(params, chip, run.e[fit], run.z[fit], run.e[judge], run.z[judge], steps=200)
    hardware = HardwareModel(params, chip.config, spread=trim.spread())
    config = replace(task.profile.finetune, epochs=epochs, seed=seed)
    return ChipTune(train_model(task, model, config, hardware).model, params, trim, count,
                    epochs)
