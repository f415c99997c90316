"""Fixed-point solvers behind one signature and a registry.

A solver takes ``func`` (z -> f(z), on tensors of shape (batch, n)), a start ``z0`` and stopping
rules, and returns ``(z, SolverInfo)``. Convergence is measured per sample by the relative
residual ||f(z) - z|| / (||f(z)|| + 1e-12), and the solve stops when every sample is below ``tol``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from codesign.errors import lookup

Func = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class SolverInfo:
    """What a solve did: iterations used, the final worst relative residual, convergence."""

    iterations: int
    residual: float
    converged: bool


def _relative_residual(fz: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return (fz - z).flatten(1).norm(dim=1) / (fz.flatten(1).norm(dim=1) + 1e-12)


def fixed_point(
    func: Func, z0: torch.Tensor, max_iter: int = 100, tol: float = 1e-6
) -> tuple[torch.Tensor, SolverInfo]:
    """Plain iteration z <- f(z); converges linearly at the contraction factor."""
    z = z0
    residual = float("inf")
    for k in range(1, max_iter + 1):
        fz = func(z)
        residual = float(_relative_residual(fz, z).max())
        z = fz
        if residual < tol:
            return z, SolverInfo(k, residual, True)
    return z, SolverInfo(max_iter, residual, False)


def anderson(
    func: Func,
    z0: torch.Tensor,
    max_iter: int = 50,
    tol: float = 1e-6,
    memory: int = 5,
    lam: float = 1e-8,
    beta: float = 1.0,
) -> tuple[torch.Tensor, SolverInfo]:
    """Anderson acceleration (type II) with ``memory`` past iterates, batched.

    Solves, per sample, the least-squares problem for the mixing weights alpha (sum alpha = 1)
    that minimise the combined residual, as in Walker & Ni (2011), with a Tikhonov term ``lam``
    relative to the residuals' mean square (at least 10 machine epsilons of the dtype).
    """
    shape = z0.shape
    batch = shape[0]
    x0 = z0.reshape(batch, -1)
    d = x0.shape[1]
    m = memory
    X = x0.new_zeros(batch, m, d)
    F = x0.new_zeros(batch, m, d)
    X[:, 0] = x0
    F[:, 0] = func(z0).reshape(batch, -1)
    X[:, 1] = F[:, 0]
    F[:, 1] = func(F[:, 0].reshape(shape)).reshape(batch, -1)
    reg = max(lam, 10 * torch.finfo(x0.dtype).eps)  # lam below rounding is no regulariser
    H = x0.new_zeros(batch, m + 1, m + 1)
    H[:, 0, 1:] = H[:, 1:, 0] = 1
    y = x0.new_zeros(batch, m + 1, 1)
    y[:, 0] = 1
    residual = float("inf")
    best = F[:, 1]
    for k in range(2, max_iter + 2):
        n = min(k, m)
        G = F[:, :n] - X[:, :n]
        GG = torch.bmm(G, G.transpose(1, 2))
        # Regularise relative to the residuals' size, so the mixing stays a least-squares
        # solution near convergence (an absolute lam would average the history there).
        scale = GG.diagonal(dim1=1, dim2=2).mean(-1)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an exact fixed point
        eye = torch.eye(n, dtype=x0.dtype, device=x0.device)[None]
        H[:, 1 : n + 1, 1 : n + 1] = GG + (reg * scale)[:, None, None] * eye
        alpha = torch.linalg.solve(H[:, : n + 1, : n + 1], y[:, : n + 1])[:, 1 : n + 1, 0]
        xk = beta * (alpha[:, None] @ F[:, :n])[:, 0] + (1 - beta) * (alpha[:, None] @ X[:, :n])[
            :, 0
        ]
        fk = func(xk.reshape(shape)).reshape(batch, -1)
        X[:, k % m] = xk
        F[:, k % m] = fk
        residual = float(_relative_residual(fk, xk).max())
        best = fk
        if residual < tol:
            return best.reshape(shape), SolverInfo(k, residual, True)
    return best.reshape(shape), SolverInfo(max_iter, residual, False)


Solver = Callable[..., tuple[torch.Tensor, SolverInfo]]

SOLVERS: dict[str, Solver] = {"fixed_point": fixed_point, "anderson": anderson}


def register_solver(name: str, solver: Solver) -> None:
    """Make ``solver`` available as ``get_solver(name)``."""
    SOLVERS[name] = solver


def get_solver(name: str) -> Solver:
    """The solver called ``name``; raises InputError listing the valid names."""
    return lookup(SOLVERS, name, "solver")
