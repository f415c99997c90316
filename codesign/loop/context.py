"""What every stage of a loop run shares: the task (with its profile), the model's shape, the
hardware it is trained for, the simulator and the run folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from codesign.circuit.config import ArrayConfig, CircuitConfig, ConverterConfig, circuit_config
from codesign.deq.checkpoint import save_checkpoint
from codesign.deq.model import DEQConfig, HybridDEQ
from codesign.errors import InputError
from codesign.loop.results import LoopSettings
from codesign.proxy.params import default_params_path, load_params
from codesign.simulator.base import Simulator
from codesign.tasks import get_task
from codesign.tasks.base import Task
from codesign.tasks.profile import TaskProfile
from codesign.training.aware import HardwareModel
from codesign.training.train import TrainResult, new_model, train_model

Log = Callable[[str], None]


def load_circuit(path: Path) -> CircuitConfig:
    """A circuit config from a JSON file (CircuitConfig's fields, as a design search writes)."""
    from codesign.schema import from_json, read_json

    return from_json(CircuitConfig, read_json(path), str(path))


def check_settings(settings: LoopSettings) -> LoopSettings:
    """InputError for settings no loop can run."""
    if settings.rounds < 1:
        raise InputError(f"--rounds must be >= 1, got {settings.rounds}")
    if settings.seeds < 0 or settings.verify_samples < 0:
        raise InputError("--seeds and --samples must be >= 1")
    ArrayConfig(levels=settings.levels or 0, mismatch_sigma=settings.mismatch_sigma)
    return settings


@dataclass
class LoopContext:
    """What every stage of a run shares."""

    settings: LoopSettings
    task: Task
    """The task, with the run's profile (``task.profile``)."""
    deq: DEQConfig
    hardware: HardwareModel
    simulator: Simulator
    out: Path
    log: Log

    @property
    def profile(self) -> TaskProfile:
        return self.task.profile

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


def context(settings: LoopSettings, out: Path, simulator: Simulator, log: Log,
            profile: TaskProfile | None = None) -> LoopContext:
    """Load the task (its profile, or ``profile``, with the settings' overrides) and the
    starting hardware model of a run."""
    check_settings(settings)
    task = get_task(settings.task)
    profile = profile or task.profile
    if settings.seeds or settings.verify_samples:
        profile = replace(profile, seeds=settings.seeds or profile.seeds,
                          verify_samples=settings.verify_samples or profile.verify_samples)
    task = task.with_profile(profile)
    deq = DEQConfig(in_features=task.in_features, out_features=task.out_features,
                    core_size=profile.core_size, core_inputs=profile.core_inputs)
    path = Path(settings.params_path) if settings.params_path else default_params_path(
        settings.neuron)
    params, _ = load_params(path)
    levels = profile.levels if settings.levels is None else settings.levels
    circuit = replace(circuit_config(settings.neuron, array=ArrayConfig(
        levels=levels, mismatch_sigma=settings.mismatch_sigma)), converters=ConverterConfig(
        dac_bits=settings.dac_bits, adc_bits=settings.adc_bits))
    if settings.circuit_path:
        circuit = load_circuit(Path(settings.circuit_path))
        if circuit.neuron.level != settings.neuron:
            raise InputError(f"{settings.circuit_path} is a {circuit.neuron.level} circuit; "
                             f"run the loop with --neuron {circuit.neuron.level}")
    return LoopContext(settings, task, deq, HardwareModel(params, circuit), simulator, Path(out),
                       log)


def train(ctx: LoopContext, seed: int, hardware: HardwareModel | None,
          init: HybridDEQ | None = None) -> TrainResult:
    """From scratch (seed ``seed``) or, with ``init``, a fine-tune (shuffled from seed
    1000 + ``seed``); through the proxy when ``hardware`` is given."""
    if init is not None:
        config = replace(ctx.profile.finetune, seed=1000 + seed)
        return train_model(ctx.task, init, config, hardware)
    config = replace(ctx.profile.train, seed=seed)
    return train_model(ctx.task, new_model(ctx.task, ctx.deq, seed), config, hardware)


def save_model(ctx: LoopContext, result: TrainResult, name: str, training: str) -> Path:
    """The model as RUN/models/NAME.pt, with its metrics."""
    metrics = {"train_metric": result.train_metric, "test_metric": result.test_metric,
               "train_seconds": result.seconds, "training": training}
    return save_checkpoint(ctx.path("models", f"{name}.pt"), result.model, ctx.task.name,
                           metrics, ctx.profile.train.to_dict())
