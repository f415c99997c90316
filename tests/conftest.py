"""Shared fixtures. Tests that check circuits run the real ngspice: CI installs it (make setup),
and a missing ngspice fails these tests instead of skipping them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from codesign.chip.chip import Chip
from codesign.circuit.config import CircuitConfig
from codesign.deq.weights import CoreWeights
from codesign.simulator import get_simulator

# every run folder a test completes must hold only files codesign.run_folder.RUN_FILES describes
# (their README lines come from it)
os.environ.setdefault("CODESIGN_CHECK_RUN_FILES", "1")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one torch thread per xdist worker: two workers x two threads on two cores oversubscribe
    # and slow the torch-heavy tests (training, calibration fits) several-fold
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items) -> None:
    """The longest tests first (``@pytest.mark.slow(seconds=N)``: their rough time on 2 quiet
    cores; a plain ``slow`` counts 10 s), the rest in their order. With `make test`'s
    ``--dist worksteal`` a worker that runs out takes tests from the other's queue, so the
    five-minute design search starts at once and the two workers finish together."""
    def seconds(item) -> float:
        mark = item.get_closest_marker("slow")
        return 0.0 if mark is None else float(mark.kwargs.get("seconds", 10))

    items.sort(key=lambda item: -seconds(item))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def process_sim():
    return get_simulator("process", workers=2)


@pytest.fixture(scope="session")
def shared_sim():
    return get_simulator("shared")


@pytest.fixture(params=["process", "shared"])
def simulator(request, process_sim, shared_sim):
    """Each backend in turn: the same tests must pass on both."""
    return process_sim if request.param == "process" else shared_sim


def simulate_op(sim, core: CoreWeights, config: CircuitConfig, e: np.ndarray, run_dir: Path,
                seed: int = 0) -> np.ndarray:
    """SPICE operating points (K x n, units of full scale) of the chip of ``core`` on
    ``config`` (mismatch from ``seed``) for inputs ``e``."""
    return Chip(core, config, seed, sim).operating_points(e, run_dir).z


def tanh_core(n: int, m: int, seed: int = 0, bias: float = 0.2) -> CoreWeights:
    """A small random tanh core with ||W||_2 = 0.5 (a contraction), N(0, 1) inputs' weights and
    N(0, bias^2) biases, from ``seed``."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n))
    W *= 0.5 / np.linalg.norm(W, 2)
    return CoreWeights(W=W, U=rng.normal(size=(n, m)), b=bias * rng.normal(size=n),
                       activation="tanh")
