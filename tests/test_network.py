"""Kirchhoff network cores (codesign.deq.network): the network's operating point against the PDE
generators (nonlinear Poisson, Darcy), KCL by an independent node-by-node oracle, symmetry and
definiteness, validation, the diffusive transfer rule."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.deq.network import NetworkWeights
from codesign.errors import InputError
from codesign.tasks.fields import A_HIGH, A_LOW, poisson_fields, solve_darcy

LOAD = 1e-11
"""Injection conductance of the exact PDE networks: a source is a conductance to a DAC, so the
node is loaded by it; a load far below the operator's smallest eigenvalue (~2 pi^2 k) makes
the network's operating point the PDE's solution to ~LOAD / lambda_min."""


def poisson_network(grid: int, kappa: float = 40.0) -> NetworkWeights:
    """-lap u + kappa u^3 = s, h = 1 / (G + 1): edges 1 / h^2, cubic kappa, one injection of
    conductance LOAD per node driven by e = s / LOAD."""
    h = 1.0 / (grid + 1)
    return NetworkWeights(grid, np.full((1, 2), 1 / h**2), None, np.zeros((1, 1)), np.zeros(1),
                          np.full((1, 1, 1, 1), LOAD), np.zeros(1), np.full(1, kappa))


def darcy_network(grid: int) -> NetworkWeights:
    """-div(k grad u) = 1 on the (G - 1)^2 interior nodes of a stored G x G field (spacing
    1 / G): half-edges 2 k G^2 switched by a, so that an edge conducts the harmonic mean of its
    two nodes' k (times G^2) and a boundary edge k_p G^2; f = 1 through LOAD from e = 1 / LOAD."""
    half = np.array([[[A_LOW, A_HIGH]] * 2]) * 2 * grid**2
    return NetworkWeights(grid - 1, np.zeros((1, 2)), half, np.zeros((1, 1)), np.zeros(1),
                          np.full((1, 1, 1, 1), LOAD), np.zeros(1), np.zeros(1))


@pytest.mark.parametrize("grid", [8, 16])
def test_poisson_network_is_the_pde(grid):
    s, u = poisson_fields(grid, 3, 0, dtype=np.float64)
    z = poisson_network(grid).equilibrium(s.reshape(3, -1) / LOAD)
    assert np.abs(z - u.reshape(3, -1)).max() <= 1e-9 * np.abs(u).max()


def test_transfer_rule_keeps_the_pde():
    """The 8 x 8 network moved to 16 x 16 with scale (h_8 / h_16)^2 is the 16 x 16 PDE."""
    moved = poisson_network(8).at(16, (17 / 9) ** 2)
    assert np.array_equal(moved.edge, poisson_network(8).edge)
    s, u = poisson_fields(16, 2, 0, dtype=np.float64)
    z = moved.equilibrium(s.reshape(2, -1) / LOAD)
    assert np.abs(z - u.reshape(2, -1)).max() <= 1e-9 * np.abs(u).max()


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_darcy_network_uniform_equals_generator(value):
    """With a uniform coefficient the harmonic and the arithmetic face means agree, and the
    network on the interior nodes is darcy_fields' discretisation (solve_darcy) exactly."""
    g = 12
    a = np.full((g, g), value)
    u = solve_darcy(a)
    z = darcy_network(g).equilibrium(np.full((g - 1) ** 2, 1 / LOAD),
                                     bits=a[1:, 1:] > 0.5).reshape(g - 1, g - 1)
    assert np.abs(z - u[1:, 1:]).max() <= 1e-9 * np.abs(u).max()


def _harmonic_darcy(a: np.ndarray) -> np.ndarray:
    """An independent oracle: node-by-node assembly of -div(k grad u) = 1 on the interior
    nodes (1..G-1) of a G x G field, spacing 1 / G, harmonic face means, u = 0 on row and
    column 0 and one node past the far side, and a boundary face's coefficient the interior
    node's own (the network's convention)."""
    g = a.shape[0]
    k = np.where(a > 0.5, A_HIGH, A_LOW)
    m = g - 1
    mat = np.zeros((m * m, m * m))
    for i in range(1, g):
        for j in range(1, g):
            p = (i - 1) * m + (j - 1)
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                ni, nj = i + di, j + dj
                inside = 1 <= ni < g and 1 <= nj < g
                face = 2 * k[i, j] * k[ni, nj] / (k[i, j] + k[ni, nj]) if inside else k[i, j]
                mat[p, p] += face * g**2
                if inside:
                    mat[p, (ni - 1) * m + (nj - 1)] -= face * g**2
    return np.linalg.solve(mat, np.ones(m * m)).reshape(m, m)


def test_darcy_network_switched_edges_match_harmonic_oracle():
    rng = np.random.default_rng(3)
    a = (rng.random((2, 10, 10)) > 0.5).astype(float)
    z = darcy_network(10).equilibrium(np.full((2, 81), 1 / LOAD), bits=a[:, 1:, 1:] > 0.5)
    for sample, field in zip(z, a, strict=True):
        ref = _harmonic_darcy(field)
        assert np.abs(sample.reshape(9, 9) - ref).max() <= 1e-9 * np.abs(ref).max()


def random_network(rng: np.random.Generator, grid: int = 4, c: int = 2, p: int = 2,
                   switched: bool = True) -> NetworkWeights:
    couple = rng.random((c, c))
    couple = np.triu(couple, 1) + np.triu(couple, 1).T
    return NetworkWeights(grid, rng.random((c, 2)), rng.random((c, 2, 2)) if switched else None,
                          couple, rng.random(c), rng.normal(size=(c, p, 3, 3)),
                          rng.normal(size=c), rng.random(c))


def _kcl(w: NetworkWeights, z: np.ndarray, e: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """The node equations' currents, summed node by node from the contract's text."""
    g, c, p = w.grid, w.c, w.p
    z, e = z.reshape(c, g, g), e.reshape(p, g, g)
    r = w.inject.shape[-1] // 2
    out = np.zeros((c, g, g))
    for a in range(c):
        for i in range(g):
            for j in range(g):
                v, total = z[a, i, j], 0.0
                for d, (di, dj) in ((0, (0, 1)), (0, (0, -1)), (1, (1, 0)), (1, (-1, 0))):
                    ni, nj = i + di, j + dj
                    inside = 0 <= ni < g and 0 <= nj < g
                    other = z[a, ni, nj] if inside else 0.0
                    cond = w.edge[a, d]
                    hp = w.half[a, d, int(bits[i, j])]
                    if inside:
                        hq = w.half[a, d, int(bits[ni, nj])]
                        cond += hp * hq / (hp + hq) if hp + hq > 0 else 0.0
                    else:
                        cond += hp / 2
                    total += cond * (v - other)
                for b in range(c):
                    total += w.couple[a, b] * (v - z[b, i, j])
                total += w.ground[a] * v + w.cubic[a] * v**3
                for jj in range(p):
                    for dy in range(-r, r + 1):
                        for dx in range(-r, r + 1):
                            g_in = w.inject[a, jj, dy + r, dx + r]
                            yy, xx = i + dy, j + dx
                            src = e[jj, yy, xx] if 0 <= yy < g and 0 <= xx < g else 0.0
                            total += abs(g_in) * (v - np.sign(g_in) * src)
                total += abs(w.bias[a]) * (v - np.sign(w.bias[a]))
                out[a, i, j] = total
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_networks_spd_and_kcl(seed):
    rng = np.random.default_rng(seed)
    w = random_network(rng)
    bits = rng.random((2, w.grid, w.grid)) > 0.5
    A, B, beta = w.matrices(bits[0])
    dense = A.toarray()
    assert np.array_equal(dense, dense.T)
    assert np.linalg.eigvalsh(dense).min() > 0
    e = rng.uniform(-1, 1, (2, w.m))
    z = w.equilibrium(e, bits)
    for zi, ei, bi in zip(z, e, bits, strict=True):
        assert np.abs(_kcl(w, zi, ei, bi)).max() <= 1e-10


def test_linear_network_single_input_and_device_count():
    w = random_network(np.random.default_rng(5), grid=3, c=1, p=1, switched=False)
    w = NetworkWeights(3, w.edge, None, w.couple, w.ground, w.inject, w.bias, np.zeros(1))
    e = np.linspace(-1, 1, 9)
    A, B, beta = w.matrices()
    z = w.equilibrium(e)
    assert z.shape == (9,)
    assert np.allclose(A @ z, B @ e + beta, rtol=0, atol=1e-12)
    # 2 directions x 3 lines x 4 edges, 9 taps x 9 nodes, bias and ground at 9 nodes
    assert w.device_count() == 2 * 12 + 81 + 9 + 9
    assert len(w.sha256()) == 64 and w.sha256() != w.at(3, 2.0).sha256()


def test_validation():
    rng = np.random.default_rng(0)
    good = random_network(rng, switched=False)
    fields = {"grid": 4, "edge": good.edge, "half": None, "couple": good.couple,
              "ground": good.ground, "inject": good.inject, "bias": good.bias,
              "cubic": good.cubic}
    bad = [{"edge": -good.edge}, {"edge": good.edge[:, :1]}, {"ground": np.array([np.nan, 1])},
           {"couple": np.array([[0.0, 1.0], [2.0, 0.0]])}, {"inject": good.inject[:, :, :2, :2]},
           {"cubic": -np.ones(2)}, {"grid": 0}, {"half": np.ones((2, 2))}]
    for change in bad:
        with pytest.raises(InputError):
            NetworkWeights(**{**fields, **change})
    with pytest.raises(InputError, match="singular"):
        NetworkWeights(**{**fields, "edge": np.zeros((2, 2)), "ground": np.zeros(2),
                          "couple": np.zeros((2, 2)), "bias": np.zeros(2),
                          "inject": np.zeros((2, 2, 3, 3))})
    switched = random_network(rng)
    with pytest.raises(InputError, match="bits"):
        switched.matrices()
    with pytest.raises(InputError):
        good.equilibrium(np.zeros(5))


# ------------------------------------------------------------------ the trainable core (torch)


def _core(kind: str, cubic: bool, boundary: str, seed: int = 1):
    # deferred: the numpy hand-off tests above run without building torch models
    import torch

    from codesign.deq.kirchhoff import NetworkCore, NetworkDEQConfig

    cfg = NetworkDEQConfig(channels=3, inputs=2, input_stencil=3, kind=kind, cubic=cubic,
                           boundary=boundary, spacing="nodal", tol=1e-12)
    core = NetworkCore(cfg, torch.Generator().manual_seed(seed)).double()
    with torch.no_grad():  # a nonzero bias and unequal couplings
        core.bias.copy_(torch.tensor([0.1, -0.2, 0.05]))
        core.couple_raw.add_(torch.arange(9.0).reshape(3, 3) / 4)
    return core


@pytest.mark.parametrize(("kind", "cubic", "boundary"), [("plain", True, "outside"),
                                                          ("switched", True, "first"),
                                                          ("switched", False, "outside")])
def test_torch_core_equals_the_hand_off(kind, cubic, boundary):
    """The torch operating point (finite differences, Newton-CG) equals NetworkWeights'
    sparse LU / Newton on the exported network, on a grid other than the training grid."""
    import torch  # deferred: as _core's

    core = _core(kind, cubic, boundary)
    g = 6
    task_grid = g + 1 if boundary == "first" else g
    gen = torch.Generator().manual_seed(2)
    e = torch.rand(2, 2, g, g, generator=gen, dtype=torch.float64) * 2 - 1
    bits = torch.rand(2, g, g, generator=gen) > 0.5 if kind == "switched" else None
    with torch.no_grad():
        z = core(e, bits, grid=task_grid).reshape(2, -1).numpy()
    w = core.to_weights(task_grid)
    assert w.grid == g
    ref = w.equilibrium(e.reshape(2, -1).numpy(), None if bits is None else bits.numpy())
    assert np.abs(z - ref).max() <= 1e-9 * np.abs(ref).max()


def test_implicit_gradients_match_finite_differences():
    import torch  # deferred: as _core's

    from codesign.deq.kirchhoff import NetworkCore, NetworkDEQConfig

    cfg = NetworkDEQConfig(channels=2, inputs=1, kind="switched", cubic=True, tol=1e-12)
    core = NetworkCore(cfg, torch.Generator().manual_seed(1)).double()
    with torch.no_grad():
        core.bias.copy_(torch.tensor([0.3, -0.2]))
    names = [n for n, _ in core.named_parameters()]
    gen = torch.Generator().manual_seed(3)
    e = torch.rand(1, 1, 3, 3, generator=gen, dtype=torch.float64) * 2 - 1
    bits = torch.rand(1, 3, 3, generator=gen) > 0.5

    def fn(inputs, *params):
        return torch.func.functional_call(core, dict(zip(names, params, strict=True)),
                                          (inputs, bits), {"grid": 3})

    args = (e.requires_grad_(), *[p.detach().clone().requires_grad_()
                                  for p in core.parameters()])
    assert torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-6)


def test_mismatch_draws_are_seeded_and_of_the_right_size():
    import torch  # deferred: as _core's

    core = _core("switched", True, "outside")
    e = torch.full((1, 2, 6, 6), 0.5, dtype=torch.float64)
    bits = torch.zeros(1, 6, 6, dtype=torch.bool)
    with torch.no_grad():
        ideal = core(e, bits)
        core.train()
        core.device_sigma = 0.05
        draws = []
        for _ in range(2):
            core.noise_generator = torch.Generator().manual_seed(7)
            draws.append(core(e, bits))
    assert torch.equal(draws[0], draws[1])
    change = float((draws[0] - ideal).norm() / ideal.norm())
    assert 0.005 < change < 0.2


def test_network_checkpoint_round_trip_and_training(tmp_path):
    import torch  # deferred: as _core's

    from codesign.deq.checkpoint import (
        load_grid_checkpoint,
        load_network_checkpoint,
        save_network_checkpoint,
    )
    from codesign.deq.kirchhoff import TASK_STRUCTURE, NetworkDEQ, NetworkDEQConfig
    from codesign.errors import CheckpointError
    from codesign.training.grid import GridTrainConfig, field_error, train_grid

    s, u = poisson_fields(8, 16, 0, cache=False)
    x, y = s[:, None], u[:, None]
    cfg = NetworkDEQConfig(channels=2, inputs=1, hidden=8, train_grid=8,
                           **TASK_STRUCTURE["poisson"])
    model = NetworkDEQ(cfg, torch.Generator().manual_seed(0))
    model.set_standardisation(torch.from_numpy(x), torch.from_numpy(y))
    before = field_error(model, x, y)
    result = train_grid(model, x, y, GridTrainConfig(epochs=2, batch_size=8, lr=1e-2))
    after = field_error(result.model, x, y)
    assert after < before
    path = save_network_checkpoint(tmp_path / "n.pt", result.model, "poisson", {}, {})
    loaded = load_network_checkpoint(path)
    assert loaded.model.config == cfg
    assert field_error(loaded.model, x, y) == pytest.approx(after, rel=1e-6)
    with pytest.raises(CheckpointError, match="network"):
        load_grid_checkpoint(path)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["core.bias"][0] = float("nan")
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="non-finite"):
        load_network_checkpoint(tmp_path / "bad.pt")
