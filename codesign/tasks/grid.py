"""PDE tasks on grids, for grid-local models: training fields at one resolution, test fields at
several, and the PDE's discrete residual (codesign.tasks.fields).

- ``darcy``: neuraloperator 0.3.0's shipped fields (1000 training and 50 test fields at 16 x 16,
  the same 50 at 32 x 32), and at 64 and 128 fields generated here in the shipped files'
  conventions (codesign.tasks.fields.darcy_fields; seeded, cached).
- ``poisson``: the physics task's PDE (-laplace u + kappa u^3 = s, Gaussian-bump sources in
  physical units, so one source is the same function at every resolution) generated at every
  grid by Newton to 1e-12.

Fields are (K, 1, G, G) float32; the metric is the mean relative L2 error over test fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from codesign.errors import lookup

TEST_SEED = 1
"""Seed of generated test sets (the training sets use seed 0)."""


@dataclass(frozen=True)
class GridTask:
    """One PDE: training fields at ``train_grid`` and test fields per resolution."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    tests: dict[int, tuple[np.ndarray, np.ndarray]]
    """Grid size -> (x, y) test fields."""
    residual: Callable
    """(x, y) torch fields (B, 1, G, G) -> the PDE residual (B, G, G), O(1) scale."""
    sources: dict[int, str] = field(default_factory=dict)
    """Where each resolution's fields come from."""

    @property
    def train_grid(self) -> int:
        return self.x_train.shape[-1]

    def test_at(self, grid: int) -> tuple[np.ndarray, np.ndarray]:
        return self.tests[grid]


def _fields(a: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return a[:, None].astype(np.float32), u[:, None].astype(np.float32)


def load_darcy_grid(grids: tuple[int, ...] = (16, 32, 64), test_count: int = 50) -> GridTask:
    """Darcy: shipped 16 x 16 training fields, shipped tests at 16 and 32, generated beyond."""
    # deferred: each task reads its own data module (torch, scipy) only when loaded
    from codesign.tasks.darcy import load_fields
    from codesign.tasks.fields import darcy_fields, darcy_residual

    a, u = load_fields("darcy_train_16.pt")
    tests, sources = {}, {}
    for g in grids:
        if g in (16, 32):
            name = f"darcy_test_{g}.pt"
            tests[g] = _fields(*load_fields(name))
            sources[g] = f"neuraloperator 0.3.0 wheel: {name}"
        else:
            tests[g] = _fields(*darcy_fields(g, test_count, TEST_SEED))
            sources[g] = (f"generated: codesign.tasks.fields.darcy_fields({g}, {test_count}, "
                          f"seed {TEST_SEED})")

    def residual(x, y):
        return darcy_residual(x[:, 0], y[:, 0])

    return GridTask("darcy", *_fields(a, u), tests, residual, sources)


def load_poisson_grid(grids: tuple[int, ...] = (16, 32, 64), train_count: int = 1024,
                      test_count: int = 64, train_grid: int = 16,
                      kappa: float = 40.0) -> GridTask:
    """Nonlinear Poisson: training fields at ``train_grid``, tests at each of ``grids``."""
    # deferred: each task reads its own data module (torch, scipy) only when loaded
    from codesign.tasks.fields import poisson_fields, poisson_residual

    s, u = poisson_fields(train_grid, train_count, 0, kappa)
    tests, sources = {}, {}
    for g in grids:
        tests[g] = _fields(*poisson_fields(g, test_count, TEST_SEED, kappa))
        sources[g] = (f"generated: codesign.tasks.fields.poisson_fields({g}, {test_count}, "
                      f"seed {TEST_SEED}, kappa {kappa:g})")

    def residual(x, y):
        return poisson_residual(x[:, 0], y[:, 0], kappa)

    return GridTask("poisson", *_fields(s, u), tests, residual, sources)


GRID_TASKS: dict[str, Callable[..., GridTask]] = {
    "darcy": load_darcy_grid,
    "poisson": load_poisson_grid,
}


def get_grid_task(name: str, **options) -> GridTask:
    """The grid task called ``name``; InputError listing the valid names."""
    return lookup(GRID_TASKS, name, "grid task")(**options)
