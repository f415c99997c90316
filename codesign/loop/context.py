"""What every stage of a loop run shares: the task (with its profile), the model's shape, the
hardware it is trained for, the simulator and the run folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from codesign.circuit.settings import build_circuit, override, read_circuit
from codesign.deq.checkpoint import save_checkpoint
from codesign.deq.model import DEQConfig, HybridDEQ
from codesign.errors import InputError
from codesign.proxy.params import default_params_path, load_params
from codesign.results.loop import LoopSettings
from codesign.simulator.base import Simulator
from codesign.tasks import get_task
from codesign.tasks.base import Task
from codesign.tasks.profile import TaskProfile
from codesign.training.aware import HardwareModel
from codesign.training.train import TrainResult, new_model, task_deq_config, train_model

Log = Callable[[str], None]


def check_settings(settings: LoopSettings) -> LoopSettings:
    """InputError for settings no loop can run."""
    if not isinstance(settings, LoopSettings):
        raise InputError(f"a loop takes LoopSettings, got {type(settings).__name__}")
    if type(settings.rounds) is not int or settings.rounds < 1:
        raise InputError(f"--rounds must be a whole number >= 1, got {settings.rounds!r}")
    for name in ("seeds", "verify_samples", "chip_seed"):
        if type(getattr(settings, name)) is not int:
            raise InputError(f"{name} must be a whole number, got {getattr(settings, name)!r}")
    if settings.seeds < 0 or settings.verify_samples < 0:
        raise InputError("--seeds and --samples must be >= 1 (0: the task's default)")
    if not isinstance(settings.gamma, int | float) or not 0.0 < settings.gamma < 1.0:
        raise InputError(f"--gamma must lie in (0, 1) for a contraction, got {settings.gamma!r}")
    return settings


def loop_circuit(settings: LoopSettings, profile: TaskProfile):
    """The run's circuit: the level's (its levels from the profile unless set, the mismatch and
    converter bits of the settings), or a circuit config file's as it is; then the settings'
    own dotted overrides (codesign.circuit.settings)."""
    if settings.circuit_path:
        circuit = read_circuit(Path(settings.circuit_path))
        if circuit.neuron.level != settings.neuron:
            raise InputError(f"{settings.circuit_path} is a {circuit.neuron.level} circuit; "
                             f"run the loop with --neuron {circuit.neuron.level}")
    else:
        levels = profile.levels if settings.levels is None else settings.levels
        circuit = build_circuit(settings.neuron, {
            "array.levels": levels, "array.mismatch_sigma": settings.mismatch_sigma,
            "converters.dac_bits": settings.dac_bits, "converters.adc_bits": settings.adc_bits})
    return override(circuit, settings.circuit_overrides, "--set")


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
    deq = task_deq_config(task, settings.encoder, settings.decoder, profile.core_size,
                          profile.core_inputs, settings.gamma)
    path = Path(settings.params_path) if settings.params_path else default_params_path(
        settings.neuron)
    params, _ = load_params(path)
    circuit = loop_circuit(settings, profile)
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
