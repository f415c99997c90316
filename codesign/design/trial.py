"""One design of the search: physics-aware fine-tuning of the task's model on the design's
circuit, then the proxy's screen (task metric with mismatch, converters and circuit noise,
settling time, energy per inference). Runs in a worker process (local pool or Dask): every
input is in the picklable :class:`TrialJob`, every output in its folder."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from codesign.calibration.noise import noisy_states
from codesign.chip.card import CONVERSION_LINES, area_card, cited_settings, screened_lines_j
from codesign.chip.chip import Chip
from codesign.deq.checkpoint import load_checkpoint, save_checkpoint
from codesign.design.energy import proxy_settling_s, screen_power_w
from codesign.design.space import Design
from codesign.proxy.params import load_params
from codesign.schema import read_result, write_result
from codesign.tasks import get_task
from codesign.tasks.base import Samples
from codesign.training.aware import HardwareModel
from codesign.training.train import decode, encode, train_model

RESULT = "trial.json"


@dataclass(frozen=True)
class TrialJob:
    """Everything a worker needs for one design."""

    number: int
    design: Design
    task: str
    base_model: str
    """Checkpoint of the digital model every design is fine-tuned from."""
    params_path: str
    """The level's calibrated proxy (calibration/cmos.json)."""
    folder: str
    mismatch_sigma: float = 0.05
    epochs: int = 15
    chip_seed: int = 1
    screen_samples: int = 0
    """Test samples of the proxy's metric (0: the whole test set)."""
    settle_samples: int = 4
    sets: tuple[str, ...] = ()
    """Circuit settings every design starts from (DesignSettings.sets)."""


@dataclass(frozen=True)
class TrialResult:
    """The proxy's screen of one design (energy and latency per inference)."""

    number: int
    design: Design
    metric_proxy: float
    """The task metric through the proxy on a chip instance with noise (screen samples)."""
    settling_s: float
    """The proxy's median settling time from reset to a quarter of an ADC LSB [s]."""
    power_w: float
    """Static power at the proxy's equilibria (screen_power_w), mean [W]."""
    converters_j: float
    """The ADC and DAC conversions as the energy card charges them [J]."""
    energy_j: float
    """The energy card's total for the screen: power_w x settling_s for the supplies, and its
    other lines (biased during conversion, bias reference, conversions, the digital encoder and
    decoder's MACs) as the card charges them (codesign.chip.card.screened_card_j) [J]."""
    noise_fs: float
    """Median predicted spread of the equilibria (circuit noise) [FS]."""
    train_seconds: float
    macs: int
    """Equivalent MACs of one inference, n (n + m)."""
    area_mm2: float = 0.0
    """The area card's total with its routing overhead (codesign.chip.card.area_card, the
    feedback networks included) [mm^2]; 0 in a record from before it was counted."""


def run_trial(job: TrialJob) -> TrialResult:
    """Fine-tune, screen, write FOLDER/model.pt and FOLDER/trial.json; reuse them if there."""
    folder = Path(job.folder)
    if (folder / RESULT).exists():
        return read_result(folder / RESULT, TrialResult, "design_trial")
    torch.set_num_threads(1)
    task = get_task(job.task)
    base, _ = load_params(Path(job.params_path))
    params = job.design.params(base)
    circuit = job.design.circuit(job.mismatch_sigma, sets=job.sets)
    hardware = HardwareModel(params, circuit)
    start = time.perf_counter()
    config = replace(task.profile.finetune, epochs=job.epochs, seed=1000 + job.number)
    model = train_model(task, load_checkpoint(Path(job.base_model), task=job.task).model,
                        config, hardware).model
    seconds = time.perf_counter() - start
    chip = Chip(model.core.to_weights(), circuit, job.chip_seed)
    rng = np.random.default_rng([job.chip_seed, job.number])
    count = job.screen_samples or len(task.y_test)
    selection = Samples(task.test_subset(count))
    spreads = []

    def proxy(x: np.ndarray) -> np.ndarray:
        e = chip.dac(encode(model, x))
        z, std = noisy_states(chip, params, e, chip.proxy_equilibrium(params, e), rng)
        spreads.append(std)
        return decode(model, chip.adc(z))

    metric = task.evaluate(proxy, selection).metrics.metric
    e = chip.dac(encode(model, task.x_test[task.test_subset(job.settle_samples)]))
    settling = float(np.median(proxy_settling_s(chip, params, e, job.design.settle_tol_fs)))
    power = float(screen_power_w(chip, e, chip.proxy_equilibrium(params, e)).mean())
    charged = cited_settings(circuit, model.digital_macs)
    lines = screened_lines_j(chip, settling, power, charged)
    result = TrialResult(
        number=job.number, design=job.design, metric_proxy=float(metric), settling_s=settling,
        power_w=power, converters_j=sum(lines[block] for block in CONVERSION_LINES),
        energy_j=sum(lines.values()),
        noise_fs=float(np.median(np.concatenate([s.ravel() for s in spreads]))),
        train_seconds=seconds, macs=chip.n * (chip.n + chip.m),
        area_mm2=area_card(chip).total_mm2)
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(folder / "model.pt", model, job.task, {"metric_proxy": result.metric_proxy},
                    config.to_dict())
    write_result(folder / RESULT, result, "design_trial")
    return result
