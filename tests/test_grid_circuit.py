"""Grid-local cores on a sparse crossbar: compile, deck, prediction and SPICE .op."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from codesign.chip.chip import Chip
from codesign.circuit import circuit_config, compile_core, predict_equilibrium
from codesign.circuit.config import ArrayConfig
from codesign.deq import CoreWeights
from codesign.deq.grid import GridWeights
from codesign.errors import InputError
from codesign.netlist.spice import write_deck


def _grid(grid: int, c: int = 2, seed: int = 0, gamma: float = 0.7) -> GridWeights:
    rng = np.random.default_rng(seed)
    K = rng.normal(size=(c, c, 3, 3))
    K[0, 0, 0, 0] = 0.0  # a zero tap: still a cell position
    weights = GridWeights(K, rng.normal(size=(c, 1, 3, 3)), 0.1 * rng.normal(size=c), grid)
    return GridWeights(K * gamma / weights.spectral_bound, weights.L, weights.b, grid)


def _inputs(core: GridWeights, count: int, seed: int = 1) -> np.ndarray:
    return 0.15 * np.random.default_rng(seed).normal(size=(count, core.m))


@pytest.mark.parametrize("grid", [6, 8])
def test_spice_op_is_the_grid_cores_fixed_point(grid, shared_sim, tmp_path):
    core = _grid(grid)
    config = circuit_config("opamp", dc_gain=1e9)  # ideal mapping: continuous, no mismatch
    chip = Chip(core, config, seed=0, simulator=shared_sim)
    assert chip.circuit.sparse
    e = _inputs(core, 3)
    run = chip.operating_points(e, tmp_path)
    np.testing.assert_allclose(run.z, core.equilibrium(e), atol=2e-6, rtol=0)


def test_spice_op_with_mismatch_is_the_circuits_prediction(shared_sim, tmp_path):
    core = _grid(7)
    config = circuit_config("opamp", array=ArrayConfig(mismatch_sigma=0.05))
    chip = Chip(core, config, seed=3, simulator=shared_sim)
    e = _inputs(core, 2)
    run = chip.operating_points(e, tmp_path)
    predicted = chip.prediction(e)
    assert predicted.converged
    np.testing.assert_allclose(run.z, predicted.z, atol=1e-7, rtol=0)
    # the mismatch is there: the ideal fixed point is far off at this tolerance
    assert np.abs(run.z - core.equilibrium(e)).max() > 1e-4


def test_grid_circuit_is_the_dense_circuit_on_the_stored_entries():
    core = _grid(5)
    W, U, b = core.sparse()
    config = circuit_config("opamp", array=ArrayConfig(levels=64))
    grid = compile_core(core, config)
    dense = compile_core(CoreWeights(W.toarray(), U.toarray(), b, core.activation), config)
    for name in ("g_w_plus", "g_w_minus", "g_u_plus", "g_u_minus"):
        g = getattr(grid, name)
        assert sp.issparse(g)
        ref = W if name.startswith("g_w") else U
        assert (g != 0).nnz == ref.nnz  # every stored entry, the zero tap included
        rows, cols = ref.tocoo().row, ref.tocoo().col
        np.testing.assert_array_equal(g.toarray()[rows, cols], getattr(dense, name)[rows, cols])
    np.testing.assert_array_equal(grid.g_feedback, dense.g_feedback)
    np.testing.assert_array_equal(grid.g_b_plus, dense.g_b_plus)


def test_device_count_is_two_per_stored_entry_and_none_between_non_neighbours():
    core = _grid(6)
    W, U, b = core.sparse()
    circuit = compile_core(core, circuit_config("opamp"))
    assert circuit.device_count() == 2 * (W.nnz + U.nnz + len(b))
    g = 6
    coupled = (circuit.g_w_plus + circuit.g_w_minus).tocoo()
    rows, cols = coupled.row % g**2, coupled.col % g**2  # grid point of each end
    dy = np.abs(rows // g - cols // g)
    dx = np.abs(rows % g - cols % g)
    assert dy.max() <= 1 and dx.max() <= 1
    deck = write_deck(circuit).text
    cell_lines = [line for line in deck.splitlines()
                  if line.startswith(("rwp", "rwm", "rup", "rum", "rbp", "rbm"))]
    assert len(cell_lines) == circuit.device_count()
    # corner point 0 couples to 4 points per channel pair, not to the far corner
    assert "rwp0_35 " not in deck and "rwp0_7 " in deck


def test_large_grid_deck_stays_sparse(monkeypatch):
    core = _grid(64, c=1)
    W, U, b = core.sparse()
    circuit = compile_core(core, circuit_config("opamp"))
    assert all(sp.issparse(getattr(circuit, name)) for name in
               ("g_w_plus", "g_w_minus", "g_u_plus", "g_u_minus"))

    def refuse(*args, **kwargs):
        raise AssertionError("a sparse circuit was densified")

    monkeypatch.setattr(sp.csr_matrix, "toarray", refuse)
    monkeypatch.setattr(sp.csr_matrix, "todense", refuse)
    deck = write_deck(circuit).text
    cells = sum(line.startswith(("rwp", "rwm", "rup", "rum", "rbp", "rbm"))
                for line in deck.splitlines())
    assert cells == 2 * (W.nnz + U.nnz + len(b))
    e = _inputs(core, 1)
    assert predict_equilibrium(circuit, e).converged
    assert circuit.noise_gain().shape == (core.n,)


def test_sparse_circuit_refuses_lines_and_the_proxy(tmp_path):
    core = _grid(4)
    with pytest.raises(InputError, match="ideal lines"):
        compile_core(core, circuit_config("opamp", array=ArrayConfig(line_ohm=1.0)))
    chip = Chip(core, circuit_config("opamp"), seed=0)
    with pytest.raises(InputError, match="proxy"):
        _ = chip.effective
    with pytest.raises(InputError, match="dense crossbar"):
        chip.export(tmp_path)


def test_dense_and_grid_compile_draw_their_mismatch_reproducibly():
    core = _grid(4)
    config = circuit_config("opamp", array=ArrayConfig(mismatch_sigma=0.05))
    a = compile_core(core, config, np.random.default_rng(5))
    b = compile_core(core, config, np.random.default_rng(5))
    assert (a.g_w_plus != b.g_w_plus).nnz == 0
    np.testing.assert_array_equal(a.g_b_minus, b.g_b_minus)
