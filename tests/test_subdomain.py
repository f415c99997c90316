"""Subdomain SPICE (codesign.chip.subdomain): a grid chip split into overlapping rectangles, each
its own ngspice process, coupled through its halo neurons' outputs, gives the single process's
operating points (real ngspice, a local process pool and a real local Dask cluster); its split
is exact (each sub-circuit's own prediction with the chip's halo is the chip's); bad configs
and a failing subdomain end in one line."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.chip.chip import Chip
from codesign.chip.subdomain import (
    InitialGuess,
    SubdomainConfig,
    solve_subdomains,
    split_grid,
    subdomain_circuit,
)
from codesign.circuit import circuit_config
from codesign.circuit.predict import predict_equilibrium
from codesign.deq import random_core
from codesign.deq.grid import GridWeights, stencil_bound
from codesign.errors import InputError, SimulationError
from codesign.jobs import DaskExecutor, LocalExecutor, Pool
from tests.fakes import fake_ngspice
from tests.test_cluster import cluster  # noqa: F401 - the real local Dask cluster fixture

MATCH_FS = 1e-9
"""What the subdomains reach against the single process (measured: ~1e-12 FS and below)."""


def grid_core(channels: int, grid: int, seed: int, k: int = 3) -> GridWeights:
    """A random contractive stencil (bound 0.8) over ``channels``, one input per point."""
    rng = np.random.default_rng(seed)
    K = rng.normal(size=(channels, channels, k, k))
    K *= 0.8 / stencil_bound(K)
    return GridWeights(K, rng.normal(size=(channels, 1, 1, 1)), 0.1 * rng.normal(size=channels),
                       grid)


def chip_and_inputs(channels: int, grid: int, process_sim, samples: int = 1):
    core = grid_core(channels, grid, seed=channels)
    e = 0.3 * np.random.default_rng(grid).uniform(-1, 1, (samples, core.m))
    return Chip(core, circuit_config("opamp"), seed=0, simulator=process_sim), e


def test_a_c2_core_in_2x2_subdomains_matches_the_single_process_op(process_sim, tmp_path):
    """Cold and warm, on a local process pool (the c = 1 core runs on the Dask cluster)."""
    chip, e = chip_and_inputs(2, 16, process_sim, samples=2)
    single = chip.operating_points(e, tmp_path / "single")
    cold = solve_subdomains(chip, e, tmp_path / "cold", SubdomainConfig(tile=8, overlap=4),
                            LocalExecutor(2, Pool.FORK))
    assert len(cold.subdomains) == 4 and cold.largest_subdomain == 2 * 12 * 12
    assert np.abs(cold.z - single.z).max() < MATCH_FS
    assert np.abs(cold.x - single.x).max() < MATCH_FS
    changes = cold.halo_change_fs
    assert cold.iterations == len(changes) >= 3 and changes[-1] < 1e-8 <= changes[-2]
    assert all(b < a for a, b in zip(changes, changes[1:], strict=False))  # a contraction
    assert all(0 < mb < 500 for mb in cold.peak_mb if np.isfinite(mb))
    # warm: the prediction is the circuit's equilibrium to ~1e-12 FS, so one sweep
    warm = solve_subdomains(chip, e, tmp_path / "warm",
                            SubdomainConfig(tile=8, overlap=4, initial="prediction"),
                            LocalExecutor(2, Pool.FORK))
    assert warm.initial == InitialGuess.PREDICTION and warm.iterations == 1
    assert np.abs(warm.z - single.z).max() < MATCH_FS


def test_subdomains_on_a_real_dask_cluster_match_the_single_process_op(cluster,  # noqa: F811
                                                                        process_sim,
                                                                        tmp_path):
    address, _, _ = cluster
    chip, e = chip_and_inputs(1, 16, process_sim)
    single = chip.operating_points(e, tmp_path / "single")
    with DaskExecutor(address) as executor:
        result = solve_subdomains(chip, e, tmp_path / "dask",
                                  SubdomainConfig(tile=8, overlap=4), executor)
    assert "Dask" in result.executor and result.iterations >= 3
    assert np.abs(result.z - single.z).max() < MATCH_FS


@pytest.mark.parametrize(("channels", "k", "tile", "overlap"),
                         [(1, 3, 5, 0), (2, 5, 4, 1), (2, 3, 12, 3)])
def test_each_sub_circuit_with_the_chips_halo_holds_the_chips_equilibrium(channels, k, tile,
                                                                          overlap):
    """The split is exact: a sub-circuit's closed-form equilibrium, its halo inputs at the
    chip's own outputs, is the chip's on its neurons (no ngspice: the circuits' algebra)."""
    core = grid_core(channels, 12, seed=3, k=k)
    chip = Chip(core, circuit_config("opamp"), seed=0)
    e = 0.3 * np.random.default_rng(0).uniform(-1, 1, (2, core.m))
    whole = predict_equilibrium(chip.circuit, e)
    subs = split_grid(chip.circuit, 12, channels, 1, SubdomainConfig(tile=tile, overlap=overlap))
    owned = np.concatenate([s.neurons[s.owned] for s in subs])
    assert np.array_equal(np.sort(owned), np.arange(chip.n))  # each neuron owned once
    for s in subs:
        part = subdomain_circuit(chip.circuit, s)
        c = chip.circuit
        rows = [getattr(c, f"g_{a}_{side}")[s.neurons] for a in "wub" for side in ("plus",
                                                                             "minus")]
        assert part.device_count() == sum(np.count_nonzero(r) if r.ndim == 1 else
                                          r.count_nonzero() for r in rows)  # every cell kept
        local = predict_equilibrium(part, np.concatenate([e[:, s.inputs], whole.z[:, s.halo]],
                                                         axis=1))
        np.testing.assert_allclose(local.z, whole.z[:, s.neurons], atol=1e-12)


@pytest.mark.parametrize("change", [dict(overlap=-1), dict(tile=0), dict(tile=2.5),
                                    dict(tolerance_fs=0.0), dict(tolerance_fs=float("nan")),
                                    dict(max_iterations=0), dict(initial="hot"),
                                    dict(timeout_s=-1)])
def test_a_bad_config_is_refused(change):
    with pytest.raises(InputError):
        SubdomainConfig(**change)


def test_a_tile_larger_than_the_grid_or_a_dense_chip_is_refused(tmp_path, rng):
    chip = Chip(grid_core(1, 8, seed=0), circuit_config("opamp"), seed=0)
    with pytest.raises(InputError, match="larger than the 8 x 8 grid"):
        solve_subdomains(chip, np.zeros((1, chip.m)), tmp_path, SubdomainConfig(tile=9))
    dense = Chip(random_core(8, 2, 0.5, rng), circuit_config("opamp"), seed=0)
    with pytest.raises(InputError, match="grid core"):
        solve_subdomains(dense, np.zeros((1, 2)), tmp_path)


def test_a_failing_subdomain_fails_the_solve_in_one_line(process_sim, tmp_path):
    chip, e = chip_and_inputs(1, 16, process_sim)
    fake = fake_ngspice(tmp_path, "fail-if", "subdomain 3 of 4:")
    with pytest.raises(SimulationError) as caught:
        solve_subdomains(chip, e, tmp_path / "run", SubdomainConfig(tile=8, overlap=4),
                         LocalExecutor(2, Pool.FORK), executable=str(fake))
    message = str(caught.value)
    assert "\n" not in message and "subdomain 3 of 4" in message, message
    assert "injected failure" in message and "sweep 1" in message
    kept = tmp_path / "run" / "subdomain-003"
    assert "subdomain 3 of 4:" in (kept / "deck.cir").read_text()


def test_a_solve_that_has_not_converged_has_no_result(process_sim, tmp_path):
    chip, e = chip_and_inputs(1, 8, process_sim)
    with pytest.raises(SimulationError, match="did not converge in 1 sweeps") as caught:
        solve_subdomains(chip, e, tmp_path, SubdomainConfig(tile=4, overlap=1, max_iterations=1),
                         LocalExecutor(2, Pool.FORK))
    assert "\n" not in str(caught.value)
