"""The co-design loop: train through the calibrated proxy, export, verify in SPICE, re-calibrate
on the new traces, fine-tune, until the circuit does what the digital model does.

Everything a run computes lands in its folder as it is computed (checkpoints, netlists, proxy
parameters, CSV tables, summary.json), so ``codesign report RUN`` can render it, and a failure
part-way keeps what came before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from codesign.aware import HardwareModel
from codesign.checkpoint import save_checkpoint
from codesign.circuit.config import ArrayConfig, circuit_config
from codesign.deq.model import DEQConfig, HybridDEQ
from codesign.errors import InputError
from codesign.export import export_core
from codesign.jsonio import jsonable, write_json
from codesign.loop.circuit import CircuitRun, closed_loop, verify_model
from codesign.loop.profiles import TaskProfile, get_profile, within_target
from codesign.loop.recalibrate import recalibrate
from codesign.proxy.params import ProxyParams, default_params_path, load_params, save_params
from codesign.simulator.base import Simulator
from codesign.simulator.ngspice import find_ngspice
from codesign.tasks import get_task
from codesign.tasks.base import Task
from codesign.tasks.control import EVAL_SEED
from codesign.training import TrainResult, new_model, train_model

Log = Callable[[str], None]


@dataclass(frozen=True)
class LoopSettings:
    """One loop run. Sizes and counts default to the task's profile (codesign.loop.profiles)."""

    task: str = "control"
    neuron: str = "transistor"
    """Fidelity level of the verified circuit (ideal, opamp, transistor)."""
    rounds: int = 3
    """At most this many train -> verify -> calibrate rounds."""
    mismatch_sigma: float = 0.05
    """Relative programming error per device, in training draws and in the verified chip."""
    levels: int | None = None
    """Conductance levels per cell (0: continuous; None: the profile's, digits 2)."""
    chip_seed: int = 1
    """Seed of the verified chip instance's mismatch."""
    params_path: str = ""
    """Starting proxy parameters (default: calibration/NEURON.json)."""
    evaluate: bool = True
    """After the rounds: seeds comparison, robustness curves, energy and latency."""
    seeds: int = 0
    """Seeds of the physics-aware vs naive comparison (0: the profile's)."""
    verify_samples: int = 0
    """Held-out test samples per SPICE verification (0: the profile's)."""

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise InputError(f"--rounds must be >= 1, got {self.rounds}")
        ArrayConfig(levels=self.levels or 0, mismatch_sigma=self.mismatch_sigma)


@dataclass
class LoopContext:
    """What every stage of a run shares."""

    settings: LoopSettings
    profile: TaskProfile
    task: Task
    deq: DEQConfig
    hardware: HardwareModel
    simulator: Simulator
    out: Path
    log: Log
    indices: np.ndarray
    """Held-out test samples verified in SPICE: a seeded random subset of the test set (its
    first samples are not typical: digits' first 200 are easier than the rest)."""

    def path(self, *parts: str) -> Path:
        """A file under the run folder (its folder created)."""
        path = self.out.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def folder(self, *parts: str) -> Path:
        """A folder under the run folder (created)."""
        path = self.out.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


def context(settings: LoopSettings, out: Path, simulator: Simulator, log: Log) -> LoopContext:
    """Load the task, its profile and the starting hardware model of a run."""
    profile = get_profile(settings.task)
    if settings.seeds or settings.verify_samples:
        profile = replace(profile, seeds=settings.seeds or profile.seeds,
                          verify_samples=settings.verify_samples or profile.verify_samples)
    task = get_task(settings.task)
    deq = DEQConfig(in_features=task.in_features, out_features=task.out_features,
                    core_size=profile.core_size, core_inputs=profile.core_inputs)
    path = Path(settings.params_path) if settings.params_path else default_params_path(
        settings.neuron)
    params, _ = load_params(path)
    levels = profile.levels if settings.levels is None else settings.levels
    circuit = circuit_config(settings.neuron, array=ArrayConfig(
        levels=levels, mismatch_sigma=settings.mismatch_sigma))
    count = min(profile.verify_samples, len(task.y_test))
    indices = np.sort(np.random.default_rng(0).permutation(len(task.y_test))[:count])
    return LoopContext(settings, profile, task, deq, HardwareModel(params, circuit), simulator,
                       Path(out), log, indices)


def circuit_run(ctx: LoopContext, model: HybridDEQ, hardware: HardwareModel, run_dir: Path,
                indices: np.ndarray | None = None, episodes: int = 0,
                analysis: str = "op") -> CircuitRun:
    """The model's digital, proxy and SPICE metrics on chip ``chip_seed`` (task-dependent)."""
    if ctx.task.kind == "control":
        return closed_loop(model, hardware, ctx.simulator, run_dir, ctx.settings.chip_seed,
                           episodes or ctx.profile.episodes, EVAL_SEED)
    idx = ctx.indices if indices is None else indices
    return verify_model(model, ctx.task, idx, hardware, ctx.simulator, run_dir,
                        ctx.settings.chip_seed, analysis)


def train(ctx: LoopContext, seed: int, hardware: HardwareModel | None,
          init: HybridDEQ | None = None) -> TrainResult:
    """From scratch (seed ``seed``) or, with ``init``, a fine-tune (shuffled from seed
    1000 + ``seed``); through the proxy when ``hardware`` is given."""
    if init is not None:
        config = replace(ctx.profile.finetune, seed=1000 + seed)
        return train_model(ctx.task, init, config, hardware)
    config = replace(ctx.profile.train, seed=seed)
    return train_model(ctx.task, new_model(ctx.task, ctx.deq, seed), config, hardware)


def save_model(ctx: LoopContext, result: TrainResult, name: str, kind: str) -> Path:
    metrics = {"train_metric": result.train_metric, "test_metric": result.test_metric,
               "train_seconds": result.seconds, "training": kind}
    return save_checkpoint(ctx.path("models", f"{name}.pt"), result.model, ctx.task.name,
                           metrics, ctx.profile.train.to_dict())


@dataclass(frozen=True, eq=False)
class Round:
    """One round's model, its training and its circuit run, and the parameters refitted on it."""

    result: TrainResult
    run: CircuitRun
    params: ProxyParams
    row: dict


def run_rounds(ctx: LoopContext, naive: HybridDEQ, reference: CircuitRun) -> list[Round]:
    """Fine-tune through the proxy (round 0 starts from the naive model), export, verify,
    re-calibrate on the new traces, until the circuit is within target of ``reference``."""
    hardware, model, rows, rounds = ctx.hardware, naive, [], []
    for r in range(ctx.settings.rounds):
        start = time.perf_counter()
        result = train(ctx, r, hardware, init=model)
        model = result.model
        save_model(ctx, result, f"round-{r}", "physics-aware fine-tune")
        core = model.core.to_weights()
        export_core(core, hardware.circuit, ctx.folder(f"round-{r}", "netlist"),
                    ngspice=find_ngspice(), seed=ctx.settings.chip_seed,
                    source=f"codesign loop {ctx.task.name} round {r}")
        run = circuit_run(ctx, model, hardware, ctx.folder(f"round-{r}", "spice"))
        params, cal = recalibrate(hardware.params, run.compiled, run.e, run.z, run.x)
        save_params(ctx.path(f"round-{r}", "proxy.json"), params,
                    {"fitted_to": f"round {r} SPICE equilibria", **cal})
        ok = within_target(ctx.task.kind, ctx.profile.target, reference.digital["metric"],
                           run.circuit)
        rows.append({"round": r, "params": "shipped" if r == 0 else f"refit in round {r - 1}",
                     "train_s": result.seconds, **_prefixed(run),
                     "reference_digital": reference.digital["metric"],
                     "within_target": ok, **{f"calibration_{k}": v for k, v in cal.items()},
                     "wall_s": time.perf_counter() - start})
        pd.DataFrame(rows).to_csv(ctx.path("rounds.csv"), index=False)
        ctx.log(_round_line(ctx, rows[-1]))
        rounds.append(Round(result, run, params, rows[-1]))
        hardware = replace(hardware, params=params)
        if ok:
            break
    return rounds


def _prefixed(run: CircuitRun) -> dict:
    out = {}
    for name in ("digital", "proxy", "circuit"):
        for key, value in getattr(run, name).items():
            out[name if key == "metric" else f"{name}_{key}"] = value
    return out


def _round_line(ctx: LoopContext, row: dict) -> str:
    metric = "cost" if ctx.task.kind == "control" else ctx.task.metric_name
    return (f"round {row['round']}: {metric} digital {row['digital']:.4g}, proxy "
            f"{row['proxy']:.4g}, circuit {row['circuit']:.4g} (digital DEQ "
            f"{row['reference_digital']:.4g}); calibration "
            f"residual {row['calibration_residual_before_fs']:.2e} -> "
            f"{row['calibration_residual_after_fs']:.2e} FS; "
            f"{'within target' if row['within_target'] else 'not yet within target'}; "
            f"{row['wall_s']:.0f} s")


def write_summary(ctx: LoopContext, summary: dict) -> Path:
    path = ctx.path("summary.json")
    write_json(path, jsonable(summary))
    return path


def settings_dict(ctx: LoopContext) -> dict:
    return {"settings": asdict(ctx.settings), "profile": asdict(ctx.profile),
            "deq": ctx.deq.to_dict(), "circuit": ctx.hardware.circuit.to_dict(),
            "task_source": ctx.task.source, "task_kind": ctx.task.kind,
            "metric": "closed-loop cost" if ctx.task.kind == "control" else ctx.task.metric_name,
            "higher_is_better": ctx.task.higher_is_better,
            "verified_samples": int(len(ctx.indices))}
