"""Operating points as one .dc sweep over a sample index: the same equilibria as one .op per
sample on every neuron level and both backends; a sweep whose points are missing, not finite or
not the samples' own is never a result; a sweep ngspice cannot finish runs again per sample."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.chip.chip import Chip
from codesign.circuit import circuit_config, compile_core
from codesign.deq import random_core
from codesign.netlist.deck import Analysis, make_jobs
from codesign.netlist.spice import sweep_circuit, sweepable, write_deck
from codesign.simulator import get_simulator
from codesign.simulator.base import sweep_results
from tests.fakes import fake_ngspice


def _equilibria(level: str, backend: str, sweep: bool, core, e, run_dir) -> np.ndarray:
    sim = get_simulator(backend, workers=2, sweep=sweep)
    return Chip(core, circuit_config(level), seed=1, simulator=sim).operating_points(
        e, run_dir).z


@pytest.mark.parametrize(("level", "n", "samples", "atol"), [
    ("opamp", 64, 96, 1e-6), ("ideal", 16, 24, 1e-6), ("transistor", 8, 12, 1e-6),
    ("cmos", 8, 12, 1e-4)])
def test_a_sweep_gives_each_samples_own_operating_point(tmp_path, rng, level, n, samples,
                                                        atol):
    """Within 1e-6 of full scale of the per-sample .op (the CMOS level: within its decks'
    reltol=1e-4, spice.CMOS_OPTIONS: Newton stops at a different point of the tolerance from
    a different start), on the process backend and in libngspice; the samples in a random
    order, so each point starts far from the last."""
    core = random_core(n, max(2, n // 4), 0.9, rng)
    e = rng.uniform(-1, 1, (samples, core.m))
    each = _equilibria(level, "process", False, core, e, tmp_path / "each")
    for backend in ("process", "shared"):
        swept = _equilibria(level, backend, True, core, e, tmp_path / backend)
        np.testing.assert_allclose(swept, each, rtol=0, atol=atol)
    assert list((tmp_path / "process").glob("chunk-*/deck.cir"))  # one deck per chunk
    assert not list((tmp_path / "process").glob("chunk-*/per-sample"))


def test_a_sweep_of_class_ab_drivers_steps_between_samples(tmp_path, rng):
    """A chip whose +/- copies are sky130 class-AB drivers sweeps in quarter steps between
    samples (Deck.sweep_substeps) and gives each sample the operating point its own .op gives."""
    from codesign.circuit.settings import build_circuit

    core = random_core(4, 2, 0.5, rng)
    e = rng.uniform(-1, 1, (5, core.m))
    circuit = build_circuit("cmos", {"driver": "sky130_ab_fast"})
    z = {}
    for sweep in (False, True):
        sim = get_simulator("process", workers=1, sweep=sweep)
        chip = Chip(core, circuit, seed=1, simulator=sim)
        z[sweep] = chip.operating_points(e, tmp_path / str(sweep)).z
    assert chip.deck.sweep_substeps == 4
    deck = next((tmp_path / "True").glob("chunk-*/deck.cir")).read_text()
    assert "dc vsample 0 4 0.25" in deck
    np.testing.assert_allclose(z[True], z[False], rtol=0, atol=1e-4)


def test_a_failed_sweep_runs_again_per_sample(tmp_path, rng):
    core = random_core(6, 3, 0.5, rng)
    e = rng.uniform(-1, 1, (10, 3))
    failing = fake_ngspice(tmp_path, "fail-if", "dc vsample")
    sim = get_simulator("process", workers=2, executable=str(failing))
    z = Chip(core, circuit_config("opamp"), simulator=sim).operating_points(e, tmp_path / "r").z
    np.testing.assert_allclose(z, _equilibria("opamp", "process", True, core, e,
                                              tmp_path / "ok"), atol=1e-6)
    assert len(list((tmp_path / "r").glob("chunk-*/per-sample/deck.cir"))) == 1  # one chunk


@pytest.fixture(scope="module")
def small_deck():
    core = random_core(3, 2, 0.5, np.random.default_rng(5))
    return write_deck(compile_core(core, circuit_config("ideal")))


def _vectors(deck, e: np.ndarray) -> dict[str, np.ndarray]:
    """What a correct sweep of ``e`` writes (z, x arbitrary but finite; the inputs interpolated
    between samples at the deck's substeps, as the PWL lookups are)."""
    k = deck.sweep_points(len(e))
    vectors = {name: np.full(k, 0.1) for name in deck.z_vectors + deck.x_vectors}
    vectors[deck.reference_vector] = np.full(k, deck.v_fs)
    index = np.arange(k) / deck.sweep_substeps
    for j, name in enumerate(deck.input_vectors):
        vectors[name] = np.interp(index, np.arange(len(e)), e[:, j]) * deck.v_fs
    return vectors


@settings(max_examples=40, deadline=None)
@given(samples=st.integers(1, 12), seed=st.integers(0, 2**16), substeps=st.sampled_from([1, 4]),
       damage=st.sampled_from(["none", "truncate", "nan", "swap", "reference"]))
def test_a_sweep_counts_only_when_every_point_is_its_samples(small_deck, samples, seed,
                                                             substeps, damage):
    from dataclasses import replace

    small_deck = replace(small_deck, sweep_substeps=substeps)
    rng = np.random.default_rng(seed)
    e = rng.uniform(-1, 1, (samples, small_deck.m))
    vectors = _vectors(small_deck, e)
    name = small_deck.z_vectors[0]
    if damage == "truncate":
        vectors = {k: v[:-1] for k, v in vectors.items()}
    elif damage == "nan":
        vectors[name][rng.integers(samples) * substeps] = np.nan
    elif damage == "swap" and samples > 1:
        for inputs in small_deck.input_vectors:
            vectors[inputs] = vectors[inputs][::-1].copy()
    elif damage == "reference":
        vectors[small_deck.reference_vector][-1] = 0.0
    result = sweep_results(small_deck, make_jobs(e), vectors)
    if substeps > 1 and damage == "nan" and samples > 0:
        vectors[name][1::substeps] = np.nan  # between samples: not read
        assert isinstance(sweep_results(small_deck, make_jobs(e), vectors), str)
    swapped_same = damage == "swap" and np.allclose(e, e[::-1])
    if damage == "none" or swapped_same:
        assert [r.index for r in result] == list(range(samples))
        assert all(r.op[name] == 0.1 for r in result)
    else:
        assert isinstance(result, str) and result


def test_only_operating_points_on_decks_with_their_sources_are_swept(small_deck):
    assert sweepable(small_deck, "op") and not sweepable(small_deck, "tran")
    text = sweep_circuit(small_deck, make_jobs(np.array([[0.5, -0.25]])))
    assert "bie0 0 d0 i = pwl(v(sample_index)," in text and "\nie0 " not in text
    assert "vsample sample_index 0 dc 0" in text
    # ngspice numbers a node where it is first named: the sample index after every DAC node
    assert text.index("sample_index") > max(text.index(f"\nrd{k} d{k} 0") for k in range(2))
    from dataclasses import replace

    assert not sweepable(replace(small_deck, input_sources=("vnope", "ve1")), Analysis.OP)
