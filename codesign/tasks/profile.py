"""How a task is trained and verified by default: optimiser settings (TrainConfig) and the
co-design loop's sizes, counts and target (TaskProfile). Each task module defines its profile
beside its data, so a task is added in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser settings (learning rate in 1/step units of Adam)."""

    epochs: int = 60
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-3
    label_smoothing: float = 0.05
    """Classification only."""
    input_noise: float = 0.3
    """Std of Gaussian noise added to standardised inputs during training (augmentation)."""
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TaskProfile:
    """Defaults for one task (sizes dimensionless, counts of samples or episodes)."""

    task: str
    core_size: int
    core_inputs: int
    train: TrainConfig
    """From-scratch (naive, digital) training."""
    finetune: TrainConfig
    """Each round: fine-tuning through the proxy (round 0 from the naive model)."""
    verify_samples: int
    """Held-out test samples simulated in SPICE per verification."""
    target: float
    """Allowed gap to the digital DEQ, in the task's own terms (Task.within_target)."""
    episodes: int = 0
    """Closed-loop episodes per SPICE evaluation (control)."""
    robustness_samples: int = 96
    """Test samples of each circuit-verified robustness point."""
    seeds: int = 3
    """Seeds of the physics-aware vs naive comparison."""
    chips: int = 8
    """Proxy chip instances behind every robustness point and Monte Carlo metric."""
    energy_samples: int = 6
    """Samples whose transients from reset give settling time and energy."""
    mlp_hidden: tuple[int, ...] = field(default=())
    """Hidden widths of the digital MLP baseline (empty: sized to the DEQ's parameter count)."""
    design_target: float = 0.0
    """The target a design search's chosen circuit must meet, in Task.within_target's terms
    (0: ``target``)."""
    levels: int = 0
    """Conductance levels per cell of the task's chip (0: continuous; 2: binary cells, a
    differential pair of which gives a ternary weight)."""
