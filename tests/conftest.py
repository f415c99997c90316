"""Shared fixtures. Tests that check circuits run the real ngspice: CI installs it (make setup),
and a missing ngspice fails these tests instead of skipping them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from codesign.circuit import CrossbarCircuit
from codesign.netlist.deck import make_jobs
from codesign.netlist.spice import write_deck
from codesign.simulator import get_simulator
from codesign.traces import op_state

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one torch thread per xdist worker: two workers x two threads on two cores oversubscribe
    # and slow the torch-heavy tests (training, calibration fits) several-fold
    torch.set_num_threads(1)


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


def simulate_op(sim, circuit: CrossbarCircuit, e: np.ndarray, run_dir: Path) -> np.ndarray:
    """SPICE operating points (K x n, units of full scale) of ``circuit`` for inputs ``e``."""
    deck = write_deck(circuit, klu=sim.info.klu)
    results = {r.index: r for r in sim.run(deck, make_jobs(e), "op", run_dir)}
    return np.stack([op_state(results[k], deck)[0] for k in range(len(e))])
