"""Grid-local equilibrium cores: the stencil operator and its bound, the transfer rules, the
model, its training with the PDE residual, checkpoints, and the grid chip in SPICE."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.cli import main
from codesign.deq.checkpoint import (
    is_grid_checkpoint,
    load_grid_checkpoint,
    save_grid_checkpoint,
)
from codesign.deq.grid import (
    GridDEQ,
    GridDEQConfig,
    GridWeights,
    StencilShape,
    Transfer,
    stencil_bound,
)
from codesign.errors import CheckpointError, InputError, UnstableCoreError
from codesign.training.grid import GridTrainConfig, train_grid


def _stencil(rng, c, p, k, scale):
    K = rng.normal(size=(c, c, k, k))
    K *= scale / stencil_bound(K)
    return K, rng.normal(size=(c, p, 1, 1)), 0.1 * rng.normal(size=c)


@settings(max_examples=30, deadline=None)
@given(c=st.integers(1, 3), p=st.integers(1, 2), k=st.sampled_from([1, 3, 5]),
       g=st.integers(1, 7), seed=st.integers(0, 2**16))
def test_the_sparse_operator_is_the_convolution_and_its_norm_is_within_the_bound(c, p, k, g,
                                                                                seed):
    rng = np.random.default_rng(seed)
    K, L, b = _stencil(rng, c, p, k, 0.9)
    weights = GridWeights(K, L, b, g)
    W, U, bias = weights.sparse()
    z = rng.normal(size=(2, c, g, g))
    conv = F.conv2d(torch.from_numpy(z), torch.from_numpy(K), padding=k // 2).reshape(2, -1)
    assert np.allclose((W @ z.reshape(2, -1).T).T, conv.numpy(), atol=1e-12)
    e = rng.normal(size=(2, p * g * g))
    assert np.allclose((U @ e.T).T + bias, weights.injection(e), atol=1e-12)
    # the bound holds on every grid: the grid's exact norm never exceeds it
    assert np.linalg.norm(W.toarray(), 2) <= weights.spectral_bound + 1e-12
    z_star = weights.equilibrium(e)
    assert np.allclose(z_star, np.tanh((W @ z_star.T).T + (U @ e.T).T + bias), atol=1e-11)


def test_a_cross_stencil_has_no_corner_cells():
    config = GridDEQConfig(channels=2, inputs=1, shape=StencilShape.CROSS)
    core = GridDEQ(config, torch.Generator().manual_seed(0)).core
    weights = core.to_weights(5)
    assert not weights.K[:, :, 0, 0].any() and weights.K[:, :, 1, 1].any()
    W = weights.sparse()[0]
    # interior points: 5 taps x 2 channels per row; corners of the grid: 3 taps
    counts = np.diff(W.indptr)
    assert counts.max() == 10 and counts.min() == 6
    assert stencil_bound(core.weight().detach()) <= config.gamma + 1e-6


def _laplace_like(c: int = 2) -> GridWeights:
    """A linear (identity) core with a positive diffusive coupling and a local mixing."""
    K = np.zeros((c, c, 3, 3))
    coupling = np.array([[0.2, 0.05], [-0.05, 0.2]])  # each channel's diffusion, mixed
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        K[:, :, dy, dx] = coupling
    K[:, :, 1, 1] = 0.1 * np.array([[0.5, -0.3], [0.2, 0.4]])
    rng = np.random.default_rng(3)
    return GridWeights(K, rng.normal(size=(c, 1, 1, 1)), 0.1 * rng.normal(size=c), 6,
                       activation="identity")


def test_the_diffusive_transfer_solves_the_same_operator_with_neighbour_differences_scaled():
    """Analytic oracle: K = I - M - sum_t N_t (I - S_t); on a grid r times finer the
    equilibrium of the transferred core solves (M + r^2 sum_t N_t (I - S_t)) z = L e + b."""
    base = _laplace_like()
    c, r, g = base.channels, 4, 24
    fine = base.at(g, Transfer.DIFFUSIVE)
    assert np.allclose(fine.K[:, :, 0, 1], base.K[:, :, 0, 1])  # neighbour cells unchanged
    M = np.eye(c) - base.K.sum((2, 3))
    centre_free = base.K.copy()
    centre_free[:, :, 1, 1] = 0.0
    neighbours = GridWeights(centre_free, base.L, base.b, g, "identity")
    N_sum = base.K.sum((2, 3)) - base.K[:, :, 1, 1]
    diffusion = sp.kron(sp.csr_matrix(N_sum), sp.identity(g * g)) - neighbours.sparse()[0]
    operator = sp.kron(sp.csr_matrix(M), sp.identity(g * g)) + r**2 * diffusion
    e = np.random.default_rng(0).uniform(-1, 1, (1, g * g))
    expected = sla.spsolve(operator.tocsc(), base.at(g).injection(e)[0])
    assert np.allclose(fine.equilibrium(e)[0], expected, atol=1e-9)
    # its stencil bound is no longer below 1, its exact norm on that grid is
    assert fine.spectral_bound >= 1.0 > fine.spectral_norm
    fine.check_contraction()
    # the same cells: nothing changes but the grid
    assert np.array_equal(base.at(g, Transfer.SAME).K, base.K)


def test_a_grid_operator_that_is_not_a_contraction_is_refused():
    K = np.zeros((1, 1, 3, 3))
    K[0, 0, 0, 1] = K[0, 0, 2, 1] = K[0, 0, 1, 0] = K[0, 0, 1, 2] = 0.3  # symbol 1.2 at 0
    weights = GridWeights(K, np.ones((1, 1, 1, 1)), np.zeros(1), 40)
    with pytest.raises(UnstableCoreError, match="norm is"):
        weights.check_contraction()
    weights.check_contraction(allow_unstable=True)


def test_bad_grid_weights_and_configs_are_refused():
    with pytest.raises(InputError, match="odd"):
        GridWeights(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 1, 1)), np.zeros(1), 4)
    with pytest.raises(InputError, match="disagree"):
        GridWeights(np.zeros((2, 2, 3, 3)), np.zeros((1, 1, 1, 1)), np.zeros(2), 4)
    with pytest.raises(InputError, match="NaN"):
        GridWeights(np.full((1, 1, 3, 3), np.nan), np.zeros((1, 1, 1, 1)), np.zeros(1), 4)
    with pytest.raises(InputError, match="transfer"):
        GridDEQConfig(transfer="sideways")
    with pytest.raises(InputError, match="odd"):
        GridDEQConfig(stencil=4)
    with pytest.raises(InputError, match="gamma"):
        GridDEQConfig(gamma=1.0)
    weights = _laplace_like()
    with pytest.raises(InputError, match="samples"):
        weights.equilibrium(np.zeros((1, 5)))


def _poisson_like(count: int, grid: int, seed: int):
    """Smooth sources and the linear screened-Poisson solutions (a small exact data set)."""
    from codesign.tasks.fields import sparse_laplacian

    rng = np.random.default_rng(seed)
    lap = sparse_laplacian(grid) + 10.0 * sp.identity(grid * grid)
    s = rng.normal(size=(count, grid, grid))
    s = F.avg_pool2d(torch.from_numpy(s)[:, None], 3, 1, 1)[:, 0].numpy() * 20
    u = np.stack([sla.spsolve(lap.tocsc(), f.ravel()).reshape(grid, grid) for f in s])
    return s[:, None].astype(np.float32), u[:, None].astype(np.float32)


def test_a_grid_model_runs_on_any_grid_and_fit_range_leaves_its_outputs():
    config = GridDEQConfig(channels=2, inputs=2, activation="identity", encoder_stencil=1,
                           input_stencil=1, transfer="diffusive", max_iter=400)
    model = GridDEQ(config, torch.Generator().manual_seed(1))
    x, y = _poisson_like(8, 16, 0)
    model.set_standardisation(torch.from_numpy(x), torch.from_numpy(y))
    with torch.no_grad():
        before = model(torch.from_numpy(x))
        factor = model.fit_range(torch.from_numpy(x), peak=0.5)
        after = model(torch.from_numpy(x))
        assert model(torch.from_numpy(_poisson_like(2, 24, 1)[0])).shape == (2, 1, 24, 24)
        z = model.core(model.encode(torch.from_numpy(x)))
    assert factor != 1.0
    assert torch.allclose(before, after, atol=1e-4 * float(before.abs().max()))
    assert float(z.abs().max()) == pytest.approx(0.5, rel=1e-4)


def test_training_takes_the_same_steps_at_every_label_fraction_and_the_residual_helps():
    x, y = _poisson_like(48, 8, 2)
    config = GridDEQConfig(channels=2, inputs=2, activation="identity", encoder_stencil=1,
                           input_stencil=1, train_grid=8, max_iter=200)
    model = GridDEQ(config, torch.Generator().manual_seed(0))
    model.set_standardisation(torch.from_numpy(x), torch.from_numpy(y))
    from codesign.tasks.fields import sparse_laplacian

    lap = torch.from_numpy((sparse_laplacian(8) + 10.0 * sp.identity(64)).toarray()).float()

    def residual(xb, yb):
        r = yb.flatten(1) @ lap.T - xb.flatten(1)
        return r.reshape(-1, 8, 8) / 20.0

    steps = []
    original = torch.optim.Adam.step

    def counting(self, *args, **kwargs):
        steps.append(1)
        return original(self, *args, **kwargs)

    torch.optim.Adam.step = counting
    try:
        few = train_grid(model, x, y, GridTrainConfig(epochs=2, labelled=0.25), residual)
        count_few = len(steps)
        steps.clear()
        both = train_grid(model, x, y, GridTrainConfig(epochs=2, labelled=0.25,
                                                       residual_weight=1.0), residual)
        count_both = len(steps)
    finally:
        torch.optim.Adam.step = original
    assert count_few == count_both == 2 * 2  # 48 fields in batches of 32, two epochs
    assert few.labelled_fields == both.labelled_fields == 12
    with pytest.raises(InputError, match="residual"):
        train_grid(model, x, y, GridTrainConfig(epochs=1, residual_weight=1.0))
    with pytest.raises(InputError, match="labelled"):
        GridTrainConfig(labelled=0.0)


def test_grid_checkpoints_round_trip_and_refuse_what_they_cannot_trust(tmp_path):
    model = GridDEQ(GridDEQConfig(channels=2, inputs=1, shape="cross", transfer="diffusive"),
                    torch.Generator().manual_seed(0))
    path = save_grid_checkpoint(tmp_path / "m.pt", model, "poisson", {"a": 1.0}, {"epochs": 1})
    loaded = load_grid_checkpoint(path)
    assert is_grid_checkpoint(path) and loaded.task == "poisson"
    assert loaded.model.config == model.config
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["core.V"] = torch.full_like(payload["state_dict"]["core.V"], np.nan)
    torch.save(payload, tmp_path / "nan.pt")
    with pytest.raises(CheckpointError, match="non-finite"):
        load_grid_checkpoint(tmp_path / "nan.pt")
    payload["config"]["channels"] = 3
    torch.save(payload, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match="shapes"):
        load_grid_checkpoint(tmp_path / "shape.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert not is_grid_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="readable"):
        load_grid_checkpoint(tmp_path / "junk.pt")


@pytest.mark.slow(seconds=20)
def test_grid_train_and_verify_from_the_command_line(tmp_path, monkeypatch):
    """A small Poisson model trained and its chip verified in SPICE on its 16 x 16 grid: the
    circuit's equilibrium equals its own prediction, and with an ideal array and converters
    its outputs equal the digital model's."""
    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path / "cache"))
    runner = CliRunner()
    model = tmp_path / "p.pt"
    result = runner.invoke(main, ["grid", "train", "--task", "poisson", "--epochs", "1",
                                  "--channels", "2", "--inputs", "1", "--out", str(model)])
    assert result.exit_code == 0, result.output
    record = json.loads(model.with_suffix(".json").read_text())
    assert set(record["relative_l2"]) == {"16", "32", "64"}
    out = tmp_path / "v"
    result = runner.invoke(main, ["verify", str(model), "--grid", "16", "--samples", "3",
                                  "--neuron", "opamp", "--set", "neuron.opamp.dc_gain=1e9",
                                  "--set", "converters.dac_bits=0",
                                  "--set", "converters.adc_bits=0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["grid"] == 16 and summary["samples"] == 3
    assert summary["prediction_error_fs_max"] < 1e-6
    assert summary["equilibrium_error_fs_max"] < 1e-5
    assert summary["ratio"] == pytest.approx(1.0, abs=1e-3)
    fields = np.load(out / "fields.npz")
    assert fields["u_circuit"].shape == (3, 1, 16, 16)
    result = runner.invoke(main, ["verify", str(model), "--grid", "8", "--analysis", "tran",
                                  "--out", str(tmp_path / "t")])
    assert result.exit_code == 2 and "grid model" in result.output


def test_the_training_mismatch_matches_the_compiled_chips_device_errors():
    """Oracle: the compiler's programmed instance of a 24 x 24 grid gives, over its interior
    points, per-tap weight errors with the standard deviation GridCore.tap_sigma predicts."""
    from codesign.circuit import circuit_config
    from codesign.circuit.compile import compile_core
    from codesign.circuit.config import ArrayConfig

    config = GridDEQConfig(channels=2, inputs=1, input_stencil=1, transfer="diffusive")
    core = GridDEQ(config, torch.Generator().manual_seed(4)).core
    with torch.no_grad():
        core.L.mul_(0.3)
        core.b.add_(0.05)
        K, L, b = core.stencils(24)
        core.device_sigma = 0.05
        sK, _, _ = (t.numpy() for t in core.tap_sigma(K, L, b))
    weights = core.to_weights(24)
    circuit = compile_core(weights, circuit_config("opamp", array=ArrayConfig(
        mismatch_sigma=0.05)), np.random.default_rng(0))
    W = circuit.effective_weights()[0].toarray()
    g, c = 24, 2
    inner = [y * g + x for y in range(1, g - 1) for x in range(1, g - 1)]
    for o in range(c):
        for i in range(c):
            for dy in range(3):
                for dx in range(3):
                    rows = [o * g * g + q for q in inner]
                    cols = [i * g * g + q + (dy - 1) * g + (dx - 1) for q in inner]
                    error = W[rows, cols] - weights.K[o, i, dy, dx]
                    assert np.std(error) == pytest.approx(sK[o, i, dy, dx], rel=0.15)


def test_row_trim_restores_each_rows_recurrent_sum_and_only_on_grid_cores():
    from dataclasses import replace

    from codesign.circuit import circuit_config
    from codesign.circuit.compile import compile_core
    from codesign.circuit.config import ArrayConfig
    from codesign.deq.weights import random_core

    weights = _laplace_like().at(10)
    config = circuit_config("opamp", array=ArrayConfig(mismatch_sigma=0.05, row_trim=True))
    trimmed = compile_core(weights, config, np.random.default_rng(0))
    plain = compile_core(weights, replace(config, array=replace(config.array, row_trim=False)),
                         np.random.default_rng(0))
    ideal = np.asarray(weights.sparse()[0].sum(1)).ravel()
    for circuit, exact in ((trimmed, True), (plain, False)):
        sums = np.asarray(circuit.effective_weights()[0].sum(1)).ravel()
        assert np.allclose(sums, ideal, atol=1e-12) == exact
    # the same programmed cells, only the feedback differs
    assert (trimmed.g_w_plus != plain.g_w_plus).nnz == 0
    with pytest.raises(InputError, match="grid cores"):
        compile_core(random_core(4, 2, 0.5, np.random.default_rng(0)), config,
                     np.random.default_rng(0))


def test_grid_options_on_a_dense_core_are_refused_in_one_line(tmp_path):
    from codesign.deq.checkpoint import save_npz_core
    from codesign.deq.weights import random_core

    core = save_npz_core(tmp_path / "core.npz", random_core(4, 2, 0.5,
                                                            np.random.default_rng(0)))
    result = CliRunner().invoke(main, ["verify", str(core), "--grid", "16", "--out",
                                       str(tmp_path / "v")])
    assert result.exit_code == 2
    assert "--grid applies to grid models" in result.output
    result = CliRunner().invoke(main, ["grid", "verify", str(core), "--out", str(tmp_path / "g")])
    assert result.exit_code == 2 and "codesign grid train" in result.output
