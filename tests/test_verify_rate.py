"""What makes ``codesign verify`` fast, checked: the crossbar's operating-point form (one VCCS per
weight, the supply-sensing sources left out) gives the physical deck's operating points on real
ngspice runs and the closed form; results stored a chunk per file resume per chunk; a damaged
chunk file never counts as done."""

import dataclasses

import numpy as np
import pytest

from codesign.chip.chip import Chip
from codesign.chip.verify import VerifySettings, verify_chip
from codesign.circuit import circuit_config, compile_core, predict_equilibrium
from codesign.circuit.config import ArrayConfig
from codesign.deq import random_core
from codesign.errors import InputError, SimulationError
from codesign.netlist.deck import make_jobs
from codesign.netlist.elements import op_form_exact
from codesign.netlist.spice import batch_deck, op_deck, sweep_deck, write_deck
from codesign.simulator.base import SampleResult, SimulatorInfo
from codesign.simulator.store import CHUNK_PREFIX, ResultStore, read_chunk, run_key


def _op(sim, deck, e, run_dir):
    """(z, x) in volts of every row of ``e`` on ``deck``."""
    results = {r.index: r.op for r in sim.run(deck, make_jobs(e), "op", run_dir)}
    return tuple(np.array([[results[k][v] for v in names] for k in range(len(e))])
                 for names in (deck.z_vectors, deck.x_vectors))


@pytest.mark.parametrize(("level", "activation", "sigma"), [
    ("opamp", "tanh", 0.0), ("opamp", "hardclip", 0.05), ("ideal", "identity", 0.02)])
def test_the_operating_point_form_gives_the_physical_decks_operating_points(
        process_sim, tmp_path, rng, level, activation, sigma):
    core = random_core(12, 5, 0.8, rng, activation=activation)
    config = circuit_config(level, array=ArrayConfig(mismatch_sigma=sigma))
    circuit = compile_core(core, config, np.random.default_rng(3))
    deck = write_deck(circuit, klu=process_sim.info.klu)
    assert op_form_exact(circuit) and deck.op_text and deck.op_text != deck.text
    physical = dataclasses.replace(deck, op_text="")
    e = rng.uniform(-1, 1, (6, 5))
    z_op, x_op = _op(process_sim, deck, e, tmp_path / "op-form")
    z_ph, x_ph = _op(process_sim, physical, e, tmp_path / "physical")
    assert np.abs(z_op - z_ph).max() <= 1e-9 and np.abs(x_op - x_ph).max() <= 1e-9
    pred = predict_equilibrium(circuit, e)
    np.testing.assert_allclose(z_op / deck.v_fs, pred.z, atol=1e-9)
    np.testing.assert_allclose(x_op / deck.v_fs, pred.x, atol=1e-9)


def test_the_operating_point_form_runs_only_operating_points(rng):
    circuit = compile_core(random_core(4, 2, 0.5, rng), circuit_config("opamp"))
    deck = write_deck(circuit)
    jobs = make_jobs(rng.uniform(-1, 1, (2, 2)), 1e-6)
    # one VCCS per weight and a row total; no resistor cell, no supply-sensing source
    assert "gw0_1 0 s0 zp1 0 " in deck.op_text and "rsum0 s0 0 " in deck.op_text
    assert "rwp0_1 " not in deck.op_text and "\nbsrc " not in deck.op_text
    assert "\nbn " not in deck.op_text and "\nbp " in deck.op_text  # the +copies only
    assert "rwp0_1 " in deck.text and "gw0_1" not in deck.text
    assert "gw0_1" in sweep_deck(deck, jobs) and "gw0_1" in batch_deck(deck, jobs, "op")
    assert "gw0_1" not in batch_deck(deck, jobs, "tran")  # transients: the physical circuit
    assert op_deck(deck, "tran") is deck and not op_deck(deck, "op").op_text
    edited = dataclasses.replace(deck, text=deck.text + "* edited\n")
    assert op_deck(edited, "op") is edited  # a changed text never runs a stale form


@pytest.mark.parametrize("array", [ArrayConfig(line_ohm=1.0), ArrayConfig(column_ohm=1.0)])
def test_no_operating_point_form_where_it_would_not_be_exact(rng, array):
    circuit = compile_core(random_core(4, 2, 0.5, rng), circuit_config("opamp", array=array))
    assert not op_form_exact(circuit) and write_deck(circuit).op_text == ""


def _arrays(k: float) -> dict[str, np.ndarray]:
    return {"z": np.full(3, k), "x": np.full(3, -k)}


def test_a_chunked_store_writes_a_file_per_chunk_and_reads_it_back(tmp_path):
    store = ResultStore(tmp_path, chunk=4)
    for k in range(6):
        store.save(f"key{k}", _arrays(k))
    assert len(list(tmp_path.glob(f"{CHUNK_PREFIX}*.npz"))) == 1  # 4 written, 2 held
    killed = ResultStore(tmp_path, chunk=4)  # what a run killed now would find
    assert [killed.has(f"key{k}") for k in range(6)] == [True] * 4 + [False] * 2
    store.flush()
    again = ResultStore(tmp_path)
    for k in range(6):
        np.testing.assert_array_equal(again.load(f"key{k}")["x"], np.full(3, -k))
    assert store.flush() is None
    with pytest.raises(InputError, match="chunk"):
        ResultStore(tmp_path, chunk=0)


def test_a_damaged_chunk_file_never_counts_as_done(tmp_path):
    store = ResultStore(tmp_path, chunk=3)
    for k in range(3):
        store.save(f"k{k}", _arrays(k))
    (path,) = tmp_path.glob(f"{CHUNK_PREFIX}*.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated
    assert not any(ResultStore(tmp_path).has(f"k{k}") for k in range(3))
    assert path.with_suffix(".npz.bad").is_file()
    # arrays that do not hold one row per key, a non-finite value, a name not its keys' hash
    keys = ["a", "b"]
    good = tmp_path / f"{CHUNK_PREFIX}{run_key(keys)}.npz"
    np.savez(good, keys=np.array(keys), z=np.zeros((3, 2)), x=np.zeros((3, 2)))
    assert read_chunk(good) == {}
    np.savez(good, keys=np.array(keys), z=np.array([[0.0], [np.nan]]), x=np.zeros((2, 1)))
    assert read_chunk(good) == {}
    wrong = tmp_path / f"{CHUNK_PREFIX}{run_key(['c', 'd'])}.npz"
    np.savez(wrong, keys=np.array(keys), z=np.zeros((2, 1)), x=np.zeros((2, 1)))
    assert read_chunk(wrong) == {}
    np.savez(good, keys=np.array(keys), z=np.zeros((2, 1)), x=np.ones((2, 1)))
    assert read_chunk(good)["b"]["x"].tolist() == [1.0]


class ClosedForm:
    """A simulator that answers every operating point with the circuit's closed form (an
    analytic oracle, no ngspice), in chunks of ``chunk``, records what it was asked for, and
    fails after ``fail_after`` chunks (None: never)."""

    info = SimulatorInfo("closed-form", "none", False)
    timeout_s = 60.0

    def __init__(self, circuit, chunk: int, fail_after: int | None = None) -> None:
        self.circuit, self.chunk, self.fail_after = circuit, chunk, fail_after
        self.asked: list[int] = []

    def run(self, deck, jobs, analysis, run_dir):
        for c, start in enumerate(range(0, len(jobs), self.chunk)):
            if self.fail_after is not None and c >= self.fail_after:
                raise SimulationError("ngspice failed: a chunk that fails")
            part = jobs[start:start + self.chunk]
            self.asked += [job.index for job in part]
            pred = predict_equilibrium(self.circuit, np.array([job.inputs for job in part]))
            for job, z, x in zip(part, pred.z, pred.x, strict=True):
                op = {**dict(zip(deck.z_vectors, z * deck.v_fs, strict=True)),
                      **dict(zip(deck.x_vectors, x * deck.v_fs, strict=True))}
                yield SampleResult(job.index, op)

    def close(self) -> None:
        pass


def test_verify_resumes_per_chunk_after_a_failed_run(tmp_path, rng):
    core = random_core(5, 3, 0.7, rng)
    e = rng.uniform(-1, 1, (10, 3))
    config = circuit_config("opamp")
    store = ResultStore(tmp_path / "store", chunk=4)
    failing = ClosedForm(compile_core(core, config), chunk=4, fail_after=2)
    chip = Chip(core, config, 0, failing)
    with pytest.raises(SimulationError, match="a chunk that fails"):
        verify_chip(chip, e, tmp_path / "run", VerifySettings(proxy=None), store=store)
    assert failing.asked == list(range(8))
    assert len(list((tmp_path / "store").glob(f"{CHUNK_PREFIX}*.npz"))) == 2
    again = ClosedForm(compile_core(core, config), chunk=4)
    result = verify_chip(Chip(core, config, 0, again), e, tmp_path / "run",
                         VerifySettings(proxy=None), store=ResultStore(tmp_path / "store", 4))
    assert again.asked == [8, 9]  # the unfinished chunk's samples only
    np.testing.assert_allclose(result.z_spice, predict_equilibrium(chip.circuit, e).z,
                               atol=1e-12)
