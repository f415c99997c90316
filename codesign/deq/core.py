"""The analog equilibrium core as a torch module: z* = phi(W z* + U e + b).

Contraction guarantee: W = V * min(1, gamma / ||V||_2) with the exact spectral norm (SVD), so
||W||_2 <= gamma < 1. Because phi is 1-Lipschitz, f(z) = phi(W z + u) is then a gamma-contraction
in the 2-norm: the equilibrium exists and is unique (Banach), fixed-point iteration converges as
gamma^k, and the circuit tau dx/dt = -x + W phi(x) + u contracts at rate (1 - gamma)/tau, so it
has one globally stable equilibrium.
"""

from __future__ import annotations

import torch
from torch import nn

from codesign.deq.activations import get_activation
from codesign.deq.implicit import implicit_equilibrium
from codesign.deq.solvers import SolverInfo, get_solver
from codesign.deq.weights import CoreWeights
from codesign.errors import InputError


class EquilibriumCore(nn.Module):
    """z* = phi(W z* + U e + b) with a contractive W and implicit differentiation."""

    def __init__(
        self,
        n: int,
        m: int,
        activation: str = "tanh",
        gamma: float = 0.9,
        solver: str = "anderson",
        max_iter: int = 60,
        tol: float = 1e-6,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 < gamma < 1.0:
            raise InputError(f"gamma must lie in (0, 1) for a contraction, got {gamma}")
        self.activation = activation
        self.phi = get_activation(activation)
        self.gamma = gamma
        self.solver = get_solver(solver)
        self.solver_name = solver
        self.max_iter = max_iter
        self.tol = tol
        self.V = nn.Parameter(torch.randn(n, n, generator=generator) * (0.5 / n**0.5))
        self.U = nn.Parameter(torch.randn(n, m, generator=generator) / m**0.5)
        self.b = nn.Parameter(torch.zeros(n))
        self.last_info: SolverInfo | None = None

    def weight(self) -> torch.Tensor:
        """The contractive W (||W||_2 <= gamma)."""
        sigma = torch.linalg.matrix_norm(self.V, ord=2)
        return self.V * torch.clamp(self.gamma / sigma, max=1.0)

    def injection(self, e: torch.Tensor) -> torch.Tensor:
        """u = U e + b for a batch of core inputs e (batch, m)."""
        return e @ self.U.T + self.b

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """z* for a batch of core inputs (batch, m) -> (batch, n)."""
        W = self.weight()
        u = self.injection(e)

        def f(z: torch.Tensor) -> torch.Tensor:
            return self.phi(z @ W.T + u)

        kw = {"max_iter": self.max_iter, "tol": self.tol}
        z, self.last_info = implicit_equilibrium(
            f, torch.zeros_like(u), self.solver, self.solver, kw, kw
        )
        return z

    def to_weights(self) -> CoreWeights:
        """The core's arrays in float64, for the circuit compiler."""
        with torch.no_grad():
            W = self.weight().double().cpu().numpy()
            return CoreWeights(
                W, self.U.double().cpu().numpy(), self.b.double().cpu().numpy(), self.activation
            )
