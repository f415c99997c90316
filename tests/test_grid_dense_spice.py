"""The dense baseline's chip on the grid tasks (benchmarks/grid_dense_spice.py): the stored
16 x 16 dense DEQ (docs/results/grid-darcy-dense.pt) compiled to its crossbar and run in
ngspice on test fields of another grid, resampled to 16 x 16."""

from __future__ import annotations

import pytest

from codesign.simulator import get_simulator


@pytest.mark.parametrize(("sigma", "bits"), [(0.0, 16), (0.05, 8)])
def test_the_dense_baselines_chip_follows_its_digital_model(sigma, bits, tmp_path):
    from benchmarks.grid_dense_spice import dense_row

    with get_simulator() as simulator:
        row = dense_row("darcy", 32, sigma, bits, 0, tmp_path, simulator, samples=4)
    assert (row["n"], row["m"], row["samples"], row["grid"]) == (256, 256, 4, 32)
    # SPICE equals the chip's own closed form (its drawn mismatch, the op-amps' finite gain)
    assert row["prediction_error_fs_max"] < 1e-6
    if sigma == 0:  # the ideal core at 16-bit converters: only the op-amps' finite gain
        assert row["equilibrium_error_fs_max"] < 1e-3
        assert row["ratio"] == pytest.approx(1.0, abs=1e-3)
    else:  # 5 % mismatch moves the state, not the decoded solution's error by much
        assert row["equilibrium_error_fs_max"] > 1e-3
        assert 0.9 < row["ratio"] < 1.1
