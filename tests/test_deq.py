"""The DEQ: contraction guarantee, implicit gradients, the hybrid model."""

import numpy as np
import pytest
import torch

from codesign.deq import DEQConfig, EquilibriumCore, HybridDEQ
from codesign.deq.activations import ACTIVATIONS
from codesign.errors import InputError


def test_weight_is_a_contraction_even_from_a_large_parameter():
    gen = torch.Generator().manual_seed(0)
    core = EquilibriumCore(16, 4, gamma=0.7, generator=gen)
    with torch.no_grad():
        core.V.mul_(50.0)
    assert torch.linalg.matrix_norm(core.weight(), 2).item() == pytest.approx(0.7, rel=1e-6)
    with torch.no_grad():
        core.V.mul_(1e-3)  # small V is left alone
    assert torch.linalg.matrix_norm(core.weight(), 2).item() < 0.7


@pytest.mark.parametrize("gamma", [0.0, 1.0, 1.5])
def test_gamma_outside_the_unit_interval_is_refused(gamma):
    with pytest.raises(InputError, match="gamma"):
        EquilibriumCore(4, 2, gamma=gamma)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("solver", ["fixed_point", "anderson"])
def test_implicit_gradient_matches_autograd_through_an_unrolled_solve(activation, solver):
    gen = torch.Generator().manual_seed(3)
    core = EquilibriumCore(10, 5, activation=activation, gamma=0.6, solver=solver,
                           max_iter=500, tol=1e-13, generator=gen).double()
    with torch.no_grad():
        core.b.normal_(0.0, 0.3, generator=gen)
    e = torch.randn(7, 5, generator=gen, dtype=torch.float64)
    target = torch.randn(7, 10, generator=gen, dtype=torch.float64)

    def loss_of(z):
        return ((z - target) ** 2).sum()

    implicit = torch.autograd.grad(loss_of(core(e)), list(core.parameters()))

    W, u = core.weight(), core.injection(e)
    z = torch.zeros_like(u)
    for _ in range(200):  # 0.6^200: converged far below float64 precision
        z = core.phi(z @ W.T + u)
    unrolled = torch.autograd.grad(loss_of(z), list(core.parameters()))
    for a, b in zip(implicit, unrolled, strict=True):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=1e-7)


def test_core_weights_reproduce_the_torch_equilibrium():
    gen = torch.Generator().manual_seed(1)
    core = EquilibriumCore(8, 3, gamma=0.8, max_iter=300, tol=1e-12, generator=gen).double()
    e = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        z = core(e).numpy()
    np.testing.assert_allclose(core.to_weights().equilibrium(e.numpy()), z, atol=1e-10)


def test_hybrid_deq_shapes_and_bounded_core_inputs():
    cfg = DEQConfig(in_features=6, core_inputs=4, core_size=5, out_features=3)
    model = HybridDEQ(cfg, generator=torch.Generator().manual_seed(0))
    x = torch.randn(9, 6) * 100
    assert model(x).shape == (9, 3)
    e = model.encode(x)
    assert e.shape == (9, 4) and e.abs().max() <= 1.0
