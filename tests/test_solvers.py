"""Solvers against analytic oracles: a scalar fixed point and a linear system."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import brentq

from codesign.deq.solvers import SOLVERS, get_solver
from codesign.errors import InputError


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_scalar_fixed_point(name):
    w, u = 0.8, 0.3
    oracle = brentq(lambda z: z - math.tanh(w * z + u), -1, 1, xtol=1e-15)
    z, info = get_solver(name)(lambda z: torch.tanh(w * z + u),
                               torch.zeros(1, 1, dtype=torch.float64), max_iter=500, tol=1e-13)
    assert info.converged
    assert abs(z.item() - oracle) < 1e-11


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_linear_fixed_point_is_a_linear_solve(name, rng):
    n = 12
    W = rng.standard_normal((n, n))
    W *= 0.8 / np.linalg.norm(W, 2)
    u = rng.standard_normal((3, n))
    oracle = np.linalg.solve(np.eye(n) - W, u.T).T
    Wt, ut = torch.from_numpy(W), torch.from_numpy(u)
    z, info = get_solver(name)(lambda z: z @ Wt.T + ut, torch.zeros_like(ut), max_iter=2000,
                               tol=1e-13)
    assert info.converged
    np.testing.assert_allclose(z.numpy(), oracle, atol=1e-10)


def test_anderson_beats_plain_iteration_on_a_slow_contraction(rng):
    n = 32
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    W = torch.from_numpy(Q @ np.diag(np.linspace(0.0, 0.95, n)) @ Q.T)  # slowest mode 0.95
    u = torch.from_numpy(rng.standard_normal((4, n)))

    def f(z):
        return z @ W.T + u

    _, plain = get_solver("fixed_point")(f, torch.zeros_like(u), max_iter=5000, tol=1e-10)
    _, anderson = get_solver("anderson")(f, torch.zeros_like(u), max_iter=5000, tol=1e-10)
    assert plain.converged and anderson.converged
    assert anderson.iterations < plain.iterations / 3


def test_unknown_solver_lists_the_valid_names():
    with pytest.raises(InputError, match="anderson, fixed_point"):
        get_solver("newton")
