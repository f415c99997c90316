"""Equilibria with implicit differentiation.

Forward: solve z* = f(z*) without building a graph. Backward: the gradient of a loss L through
z* is dL/dtheta = (dL/dz*) (I - J)^{-1} df/dtheta with J = df/dz at z*; the row vector
g = dL/dz* (I - J)^{-1} is itself the fixed point g = g J + dL/dz* (the adjoint fixed point), so
it is solved by the same kind of solver, with vector-Jacobian products from autograd.
"""

from __future__ import annotations

import torch

from codesign.deq.solvers import Func, Solver, SolverInfo


def implicit_equilibrium(
    func: Func,
    z0: torch.Tensor,
    forward: Solver,
    backward: Solver,
    forward_kwargs: dict | None = None,
    backward_kwargs: dict | None = None,
) -> tuple[torch.Tensor, SolverInfo]:
    """The fixed point of ``func`` from ``z0``, differentiable by the implicit function theorem.

    Memory does not grow with the number of forward iterations: the graph holds one application
    of ``func``.
    """
    with torch.no_grad():
        z_star, info = forward(func, z0, **(forward_kwargs or {}))
    if not torch.is_grad_enabled():
        return z_star, info
    z = func(z_star)  # one step with graph: connects z* to the parameters
    if not z.requires_grad:
        return z, info
    z_leaf = z.detach().requires_grad_()
    f_leaf = func(z_leaf)

    def adjoint(grad: torch.Tensor) -> torch.Tensor:
        def vjp_step(g: torch.Tensor) -> torch.Tensor:
            (gj,) = torch.autograd.grad(f_leaf, z_leaf, g, retain_graph=True)
            return gj + grad

        g, _ = backward(vjp_step, grad, **(backward_kwargs or {}))
        return g

    z.register_hook(adjoint)
    return z, info
