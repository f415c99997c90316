"""Tiled arrays with resistive row and column lines: the exact port admittance of a tile
(against dense nodal analysis written out here, and hand results), the tiles of a large core,
and real ngspice operating points against the proxy's prediction."""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.chip.chip import Chip
from codesign.circuit import compile_core, predict_equilibrium
from codesign.circuit.config import ArrayConfig, Wires, circuit_config, tile_spans
from codesign.circuit.lines import ladder, line_network, mesh_tile
from codesign.deq import random_core
from codesign.errors import InputError
from codesign.netlist.deck import SampleJob
from codesign.netlist.spice import accounted_deck, circuit_text
from codesign.proxy.crossbar import from_circuit, from_weights
from codesign.proxy.model import CircuitProxy
from codesign.proxy.params import load_params
from tests.conftest import simulate_op


def dense_ports(cells: np.ndarray, r_row: float, r_col: float):
    """Oracle: every node of the tile in one dense nodal matrix (ports s_0.., u_0.., then the
    row-line and column-line nodes), reduced onto the ports by numpy."""
    rows, cols = cells.shape
    ports = rows + cols
    size = ports + 2 * rows * cols
    y = np.zeros((size, size))

    def link(a, b, g):
        y[a, a] += g
        y[b, b] += g
        y[a, b] -= g
        y[b, a] -= g

    row = lambda i, p: ports + i * cols + p  # noqa: E731
    col = lambda i, p: ports + rows * cols + p * rows + i  # noqa: E731
    for i in range(rows):
        link(i, row(i, 0), 1 / r_row)
        for p in range(cols - 1):
            link(row(i, p), row(i, p + 1), 1 / r_row)
    for p in range(cols):
        link(rows + p, col(0, p), 1 / r_col)
        for i in range(rows - 1):
            link(col(i, p), col(i + 1, p), 1 / r_col)
    for i in range(rows):
        for p in range(cols):
            if cells[i, p] > 0:
                link(row(i, p), col(i, p), cells[i, p])
    inner = slice(ports, size)
    schur = y[:ports, :ports] - y[:ports, inner] @ np.linalg.solve(y[inner, inner],
                                                                    y[inner, :ports])
    return -schur[:rows, rows:], schur[:rows, :rows]


def test_one_cell_between_two_wires_is_three_resistors_in_series():
    a, y_ss = mesh_tile(np.array([[1e-3]]), 10.0, 20.0)
    assert a[0, 0] == pytest.approx(1 / (10 + 20 + 1e3), rel=1e-12)
    assert y_ss[0, 0] == pytest.approx(1 / (10 + 20 + 1e3), rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 5), cols=st.integers(1, 6), r_row=st.floats(0.1, 1e3),
       r_col=st.floats(0.1, 1e3), seed=st.integers(0, 2**16))
def test_a_tile_matches_dense_nodal_analysis(rows, cols, r_row, r_col, seed):
    rng = np.random.default_rng(seed)
    cells = rng.uniform(0, 25e-6, (rows, cols)) * (rng.random((rows, cols)) > 0.2)
    a, y_ss = mesh_tile(cells, r_row, r_col)
    a_ref, y_ref = dense_ports(cells, r_row, r_col)
    np.testing.assert_allclose(a, a_ref, rtol=1e-7, atol=1e-15)  # 1e-10 of a cell's 25 uS
    np.testing.assert_allclose(y_ss, y_ref, rtol=1e-7, atol=1e-15)


def test_without_column_resistance_a_tile_is_the_row_ladder(rng):
    cells = rng.uniform(0, 25e-6, (6, 9))
    a, y_ss = mesh_tile(cells, 40.0, 0.0)
    att, g_lad = ladder(torch.from_numpy(cells), 40.0)
    np.testing.assert_allclose(a, cells * att.numpy(), rtol=1e-10)
    np.testing.assert_allclose(y_ss, np.diag(g_lad.numpy()), rtol=1e-10, atol=1e-20)


def test_tiles_split_the_lines_and_sum_at_the_neuron(rng):
    cells = torch.from_numpy(rng.uniform(0, 25e-6, (10, 14)))
    wires = Wires(row_ohm=30.0, column_ohm=0.0, tile_rows=4, tile_columns=5)
    effective, g_th, coupling = line_network(cells, wires)
    assert coupling is None
    parts = [ladder(cells[:, span], 30.0) for span in tile_spans(14, 5)]
    torch.testing.assert_close(effective, cells * torch.cat([p[0] for p in parts], 1))
    torch.testing.assert_close(g_th, sum(p[1] for p in parts))
    mesh = Wires(row_ohm=30.0, column_ohm=20.0, tile_rows=4, tile_columns=5)
    effective, g_th, coupling = line_network(cells, mesh)
    assert coupling.shape == (10, 10) and torch.all(torch.diagonal(coupling) == 0)
    for rows in tile_spans(10, 4):  # every tile alone: the sum of its ports
        block = [mesh_tile(cells[rows, span].numpy(), 30.0, 20.0) for span in tile_spans(14, 5)]
        np.testing.assert_allclose(effective[rows].numpy(), np.hstack([b[0] for b in block]))
        np.testing.assert_allclose(g_th[rows].numpy(), sum(np.diag(b[1]) for b in block))
    assert tile_spans(14, 5) == [slice(0, 5), slice(5, 10), slice(10, 14)]
    assert tile_spans(3, 0) == [slice(0, 3)]


def test_the_proxy_has_the_exact_value_and_a_gradient(rng):
    core = random_core(12, 5, 0.8, rng)
    array = ArrayConfig(line_ohm=20.0, column_ohm=30.0, tile_rows=8, tile_columns=10)
    circuit = compile_core(core, circuit_config("opamp", array=array))
    W, U, b = (torch.tensor(v, requires_grad=True) for v in (core.W, core.U, core.b))
    proxy = from_weights(W, U, b, circuit.config.mapping, array)
    exact = from_circuit(circuit)
    torch.testing.assert_close(proxy.W, exact.W, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(proxy.noise_gain, exact.noise_gain, rtol=1e-9, atol=1e-12)
    w_eff, *_ = circuit.effective_weights()
    np.testing.assert_allclose(exact.W.numpy(), w_eff, rtol=1e-12, atol=1e-15)
    (proxy.W.sum() + proxy.U.sum() + proxy.noise_gain.sum()).backward()
    assert all(torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0 for t in (W, U))


@pytest.mark.parametrize("array", [
    ArrayConfig(line_ohm=30.0, column_ohm=50.0, tile_rows=8, tile_columns=16),
    ArrayConfig(levels=16, mismatch_sigma=0.05, line_ohm=10.0, column_ohm=20.0, line_c_f=2e-15,
                tile_rows=12, tile_columns=24),
    ArrayConfig(column_ohm=40.0, tile_rows=8),
])
def test_spice_matches_the_prediction_on_tiles(process_sim, rng, tmp_path, array):
    core = random_core(20, 6, 0.9, rng)
    e = rng.uniform(-1, 1, (4, 6))
    config = circuit_config("opamp", array=array, dc_gain=1e3)
    circuit = compile_core(core, config, np.random.default_rng(3))
    z = simulate_op(process_sim, core, config, e, tmp_path, seed=3)
    pred = predict_equilibrium(circuit, e)
    # ngspice stops Newton at reltol 1e-6 of the node voltages: seen 1e-10 ... 1.1e-7 FS
    assert np.abs(z - pred.z).max() < 1e-6
    assert np.abs(z - core.equilibrium(e)).max() > 1e-3  # the wires are visible
    coupling = circuit.noise_gain_matrix() - np.diag(circuit.noise_gain())
    assert (np.abs(coupling).max() > 0) == (array.column_ohm > 0)


def test_the_deck_has_every_tile_line_and_capacitor(rng):
    core = random_core(10, 3, 0.8, rng)
    array = ArrayConfig(line_ohm=5.0, column_ohm=5.0, line_c_f=1e-15, tile_rows=4,
                        tile_columns=6)
    text = circuit_text_of(core, array)
    positions = 2 * (10 + 3 + 1)
    lines = text.splitlines()
    count = lambda prefix: sum(line.startswith(prefix) for line in lines)  # noqa: E731
    assert count("rl") == 10 * positions and count("rk") == positions * 10
    assert count("cl") == 10 * positions and count("ck") == positions * 10
    # the first segment of every tile starts at the neuron / at the driver
    starts = [line.split()[1:3] for line in lines if line.startswith("rl0_")]
    assert [a for a, _ in starts].count("s0") == len(tile_spans(positions, 6))
    firsts = [line.split()[1] for line in lines if line.startswith("rk0_")]
    assert firsts.count("zn0") == len(tile_spans(10, 4))
    assert "tiles of 4 rows x 6 column lines" in text


def circuit_text_of(core, array):
    chip = Chip(core, circuit_config("opamp", array=array), 0)
    return circuit_text(chip.deck)


@pytest.mark.parametrize("bad", [dict(tile_rows=-1), dict(tile_columns=2.5),
                                 dict(column_ohm=-1.0), dict(line_c_f=1e-9),
                                 dict(column_ohm=float("nan"))])
def test_bad_tile_and_line_settings_are_input_errors(bad):
    with pytest.raises(InputError):
        ArrayConfig(**bad)


def test_line_capacitance_leaves_the_settling_time_to_the_neurons(process_sim, rng, tmp_path):
    """Lines of 0.5 fF per cell: their RC (Elmore, r c K^2 / 2 ~ fs) is nothing against tau, so
    the transient from reset settles as without them, to the same operating point."""
    core = random_core(8, 3, 0.8, rng)
    e = rng.uniform(-1, 1, (2, 3))
    runs = {}
    for c in (0.0, 0.5e-15):
        array = ArrayConfig(line_ohm=20.0, column_ohm=20.0, line_c_f=c, tile_rows=4,
                            tile_columns=8)
        chip = Chip(core, circuit_config("opamp", array=array), 0, process_sim)
        runs[c] = chip.transients(e, tmp_path / f"c{c:g}")
    plain, loaded = runs.values()
    np.testing.assert_allclose(loaded.z, plain.z, atol=1e-8)
    for a, b in zip(plain.transients, loaded.transients, strict=True):
        assert b.settling_time_s == pytest.approx(a.settling_time_s, rel=0.02)


def test_the_proxy_carries_the_rows_sneak_coupling(rng):
    """With resistive column lines the calibrated proxy lands where the exact prediction does
    (its EffectiveCore carries Y_ss off the diagonal); without that term it would not."""
    core = random_core(40, 10, 0.9, rng)
    e = rng.uniform(-1, 1, (3, 10))
    params, _ = load_params(Path(__file__).resolve().parents[1] / "calibration" / "opamp.json")
    array = ArrayConfig(line_ohm=50.0, column_ohm=200.0, tile_rows=16, tile_columns=32)
    chip = Chip(core, circuit_config("opamp", array=array), 0)
    exact = chip.prediction(e).z
    assert chip.effective.coupling is not None and chip.effective.coupling.abs().max() > 0
    np.testing.assert_allclose(chip.proxy_equilibrium(params, e), exact, atol=1e-9)
    uncoupled = chip.effective._replace(coupling=None)
    z = CircuitProxy(params, chip.v_fs).predict(uncoupled, chip.inputs(e))
    assert np.abs(z - exact).max() > 1e-8


def test_klu_keeps_each_line_node_as_its_own_pivot(process_sim, rng, tmp_path):
    """Every output stage senses its load current from a return node to ground and the DACs set
    their nodes with current sources (netlists/codesign_amplifiers.lib): then KLU's permutation
    to a zero-free diagonal leaves the line meshes alone. ngspice 46 + KLU on this deck (n = 64,
    4 tiles of 32 with both kinds of line): 0.91 M fill-in; with the sense sources on the output
    side and voltage-source DACs, 1.32 M (and 2-6x the factor time at n = 128 ... 512)."""
    if not process_sim.info.klu:
        pytest.skip("ngspice without KLU")
    core = random_core(64, 16, 0.9, np.random.default_rng(0))
    array = ArrayConfig(line_ohm=1.0, column_ohm=1.0, tile_rows=32, tile_columns=32)
    chip = Chip(core, circuit_config("opamp", array=array), 0, process_sim)
    e = rng.uniform(-1, 1, (1, 16))
    deck = tmp_path / "deck.cir"
    deck.write_text(accounted_deck(chip.deck, SampleJob(0, tuple(chip.inputs(e)[0]), 0.0), "op"))
    out = subprocess.run([process_sim.install.executable, "-b", str(deck)], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path).stdout
    fill = float(re.search(r"^Circuit fill-in non-zeroes\s*=\s*(\S+)", out, re.M).group(1))
    equations = float(re.search(r"^Circuit Equations\s*=\s*(\S+)", out, re.M).group(1))
    assert equations > 20000 and fill < 1.0e6
