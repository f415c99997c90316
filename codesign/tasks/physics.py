"""Steady states of a nonlinear PDE: -laplace(u) + kappa u^3 = s on the unit square, u = 0 on
the boundary, on a G x G interior grid (second-order finite differences).

Each sample is a source field s (random Gaussian bumps, seeded) and the solution u, found by
Newton's method to 1e-12 (the operator is monotone, so the solution is unique). The model maps
s (G*G values) to u (G*G values); the metric is the mean relative L2 error over test fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.errors import InputError
from codesign.tasks.base import RegressionTask
from codesign.tasks.profile import TaskProfile, TrainConfig

PROFILE = TaskProfile(
    task="physics", core_size=64, core_inputs=32,
    train=TrainConfig(epochs=60, lr=3e-3, input_noise=0.02),
    finetune=TrainConfig(epochs=15, lr=1e-3, input_noise=0.02, seed=1),
    verify_samples=128, target=1.5, design_target=1.1)


@dataclass(frozen=True)
class PoissonConfig:
    """The PDE and its data set (dimensionless; the domain is the unit square)."""

    grid: int = 8
    """Interior points per side, G (h = 1 / (G + 1))."""
    kappa: float = 40.0
    """Strength of the cubic reaction term."""
    bumps: int = 3
    """Gaussian bumps per source field."""
    amplitude: float = 60.0
    """Largest bump height of s."""
    train: int = 1024
    test: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if self.grid < 2 or self.kappa < 0 or self.train < 1 or self.test < 1:
            raise InputError("PoissonConfig needs grid >= 2, kappa >= 0, train and test >= 1")


def laplacian(grid: int) -> np.ndarray:
    """The 5-point finite-difference -laplace on a grid x grid interior (Dirichlet 0)."""
    h = 1.0 / (grid + 1)
    one = 2 * np.eye(grid) - np.eye(grid, k=1) - np.eye(grid, k=-1)
    return (np.kron(one, np.eye(grid)) + np.kron(np.eye(grid), one)) / h**2


def solve_steady_state(s: np.ndarray, kappa: float, lap: np.ndarray, tol: float = 1e-12,
                       max_iter: int = 50) -> np.ndarray:
    """u with lap u + kappa u^3 = s, by Newton from the linear solution."""
    u = np.linalg.solve(lap, s)
    for _ in range(max_iter):
        residual = lap @ u + kappa * u**3 - s
        if np.linalg.norm(residual) <= tol * max(1.0, np.linalg.norm(s)):
            return u
        u = u - np.linalg.solve(lap + np.diag(3 * kappa * u**2), residual)
    raise InputError("Newton did not converge for a source field; lower the amplitude")


def random_sources(config: PoissonConfig, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` fields of ``config.bumps`` Gaussian bumps (random centre, width, signed height)."""
    g = config.grid
    coords = np.arange(1, g + 1) / (g + 1)
    xx, yy = np.meshgrid(coords, coords, indexing="ij")
    fields = np.zeros((count, g * g))
    for k in range(count):
        for _ in range(config.bumps):
            cx, cy = rng.uniform(0.15, 0.85, 2)
            width = rng.uniform(0.08, 0.25)
            height = rng.uniform(-1.0, 1.0) * config.amplitude
            bump = height * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * width**2))
            fields[k] += bump.ravel()
    return fields


def load_poisson_task(config: PoissonConfig = PoissonConfig(),
                      profile: TaskProfile = PROFILE) -> RegressionTask:
    """The physics task: source fields -> steady states, float32."""
    rng = np.random.default_rng(config.seed)
    lap = laplacian(config.grid)
    s = random_sources(config, config.train + config.test, rng)
    u = np.stack([solve_steady_state(row, config.kappa, lap) for row in s])
    s, u = s.astype(np.float32), u.astype(np.float32)
    cut = config.train
    return RegressionTask(
        name="physics",
        x_train=s[:cut], y_train=u[:cut], x_test=s[cut:], y_test=u[cut:],
        source=(f"generated: -laplace(u) + {config.kappa:g} u^3 = s on a {config.grid}x"
                f"{config.grid} grid, Newton to 1e-12, {config.bumps} Gaussian bumps per "
                f"source (seed {config.seed})"),
        profile=profile,
    )
