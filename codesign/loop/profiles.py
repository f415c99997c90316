"""Per-task defaults of the co-design loop: model size, training, how much to verify in SPICE,
and what "the circuit does what the digital model does" means for the task."""

from __future__ import annotations

from dataclasses import dataclass, field

from codesign.errors import lookup
from codesign.training import TrainConfig


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
    """Allowed gap to the digital DEQ: accuracy points (digits), error ratio (physics), cost
    ratio (control; with a success rate >= 95 %)."""
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
    levels: int = 0
    """Conductance levels per cell of the task's chip (0: continuous; 2: binary cells, a
    differential pair of which gives a ternary weight)."""


# digits runs on binary cells (one bit per device, no write-verify: the cheapest and most
# reliable programming mode). On continuous cells a naively trained digits model loses 0.06
# points over chip instances (at most 0.9 anywhere on the robustness grid), so physics-aware
# training has nothing to win there (README, "The co-design loop"); the naive physics and
# control models already lose on continuous cells.
PROFILES: dict[str, TaskProfile] = {
    "digits": TaskProfile(
        task="digits", core_size=64, core_inputs=48,
        train=TrainConfig(epochs=60, lr=3e-3, input_noise=0.3),
        finetune=TrainConfig(epochs=15, lr=1e-3, input_noise=0.3, seed=1),
        verify_samples=256, robustness_samples=64, target=0.01, levels=2),
    "physics": TaskProfile(
        task="physics", core_size=64, core_inputs=32,
        train=TrainConfig(epochs=60, lr=3e-3, input_noise=0.02),
        finetune=TrainConfig(epochs=15, lr=1e-3, input_noise=0.02, seed=1),
        verify_samples=128, target=1.5),
    "control": TaskProfile(
        task="control", core_size=16, core_inputs=8,
        train=TrainConfig(epochs=30, batch_size=64, lr=3e-3, input_noise=0.02),
        finetune=TrainConfig(epochs=8, batch_size=64, lr=1e-3, input_noise=0.02, seed=1),
        verify_samples=128, target=1.10, episodes=32),
}


SUCCESS_RATE = 0.95
"""Control: the fraction of episodes the circuit must stabilise."""


def within_target(kind: str, target: float, reference: float, circuit: dict) -> bool:
    """Does the circuit (its metric dict) do what the digital DEQ (metric ``reference``) does,
    by the measure of a task of ``kind`` with the profile's ``target``?"""
    if kind == "classification":
        return reference - circuit["metric"] <= target + 1e-12
    if kind == "control":
        return (circuit["success_rate"] >= SUCCESS_RATE
                and circuit["metric"] <= target * reference)
    return circuit["metric"] <= target * reference


def get_profile(task: str) -> TaskProfile:
    """The loop defaults of ``task``; InputError listing the tasks that have one."""
    return lookup(PROFILES, task, "task")
