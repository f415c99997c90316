"""Kirchhoff network cores as circuits (codesign.circuit.network, their decks from
codesign.netlist.spice.write_network_deck):
real ngspice operating points against the circuit's own KCL prediction, the prediction against
the ideal network, one resistor per coupling, and exact row sums under mismatch."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from codesign.chip.chip import Chip
from codesign.circuit.config import ArrayConfig, ConverterConfig, circuit_config
from codesign.circuit.network import compile_network, predict_network
from codesign.deq.network import NetworkWeights
from codesign.errors import InputError
from codesign.simulator import get_simulator

G = 8
H = 1.0 / (G + 1)


def poisson_network() -> NetworkWeights:
    """-lap u + kappa u^3 + g u = g e on 8 x 8 (edges 1/h^2, kappa 40, injection 20, a bias)."""
    return NetworkWeights(G, np.array([[1 / H**2, 1 / H**2]]), None, np.zeros((1, 1)),
                          np.zeros(1), np.full((1, 1, 1, 1), 20.0), np.array([0.5]),
                          np.array([40.0]))


def darcy_network() -> NetworkWeights:
    """Two channels: channel 0 with switched half-edges (1 or 12 by the bit), a 3 x 3 signed
    injection stencil and a coupling to channel 1 (fixed edges, ground, bias -)."""
    half = np.zeros((2, 2, 2))
    half[0] = [[1.0, 12.0], [1.0, 12.0]]
    inject = np.zeros((2, 1, 3, 3))
    inject[0, 0] = [[0.0, 0.1, 0.0], [0.1, 0.5, -0.1], [0.0, 0.1, 0.0]]
    inject[1, 0, 1, 1] = -0.3
    couple = np.array([[0.0, 0.7], [0.7, 0.0]])
    return NetworkWeights(G, np.array([[0.0, 0.0], [2.0, 1.0]]), half, couple,
                          np.array([0.0, 0.2]), inject, np.array([0.2, -0.1]),
                          np.array([0.0, 3.0]))


@pytest.fixture(scope="module")
def simulator():
    return get_simulator()


def _inputs(weights: NetworkWeights, count: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    bits = rng.random((count, G, G)) > 0.5 if weights.half is not None else None
    return rng.uniform(-1, 1, (count, weights.m)), bits


@pytest.mark.parametrize("make", [poisson_network, darcy_network])
@pytest.mark.parametrize(("sigma", "sources"), [(0.0, "resistor"), (0.05, "resistor"),
                                                (0.05, "current")])
def test_spice_matches_prediction(make, sigma, sources, simulator, tmp_path):
    weights = replace(make(), sources=sources)
    config = circuit_config("opamp", array=ArrayConfig(mismatch_sigma=sigma))
    chip = Chip(weights, config, seed=3, simulator=simulator)
    e, bits = _inputs(weights)
    run = chip.operating_points(e, tmp_path, bits=bits)
    predicted = chip.prediction(e, bits)
    assert predicted.converged
    assert np.abs(run.z - predicted.z).max() < 1e-9
    assert np.abs(run.x - run.z).max() < 1e-9  # the buffers are ideal
    ideal = weights.equilibrium(e, bits)
    moved = np.abs(predicted.z - ideal).max()
    assert (moved > 1e-4) if sigma else (moved < 1e-4)  # mismatch (and the switches) move it
    assert np.abs(ideal).max() > 0.05  # a state worth comparing


def test_prediction_is_the_ideal_network_without_mismatch():
    config = circuit_config("opamp")
    for weights in (poisson_network(), darcy_network(),
                    replace(poisson_network(), sources="current"),
                    replace(darcy_network(), sources="current")):
        circuit = compile_network(weights, config, switch_ohm=(1e-9, 1e30))
        e, bits = _inputs(weights, 3, seed=1)
        got = predict_network(circuit, e, bits).z
        want = np.stack([weights.equilibrium(e[k], None if bits is None else bits[k])
                         for k in range(len(e))])
        assert np.abs(got - want).max() < 1e-12 * max(1.0, np.abs(want).max())


def test_one_resistor_per_coupling():
    weights = darcy_network()
    circuit = compile_network(weights, circuit_config("opamp"))
    assert circuit.device_count() == weights.device_count()
    pts = G * G
    # channel 1: 2 directions x G (G + 1) edges (boundary included), G^2 couplings, ground;
    # channel 0: 2 directions x 2 alternatives x (2 G (G - 1) halves + 2 G boundary halves)
    assert len(circuit.g_pair) == 2 * G * (G - 1) + pts
    assert len(circuit.g_ground) == 2 * 2 * G + pts
    assert circuit.switch_count() == len(circuit.g_half) == 2 * 2 * (2 * G * (G - 1) + 2 * G)
    assert circuit.midpoints == 2 * G * (G - 1)
    deck = Chip(weights, circuit_config("opamp"), seed=None).deck
    resistors = [line for line in deck.text.split("\n") if line[:2] in ("rp", "rg", "rh", "ri")
                 or (line.startswith("rb") and not line.startswith("rbit"))]
    assert len(resistors) == circuit.resistor_count()
    assert sum(line.startswith("sh") for line in deck.text.split("\n")) == circuit.switch_count()


def test_current_sources_are_current_output_dacs_that_load_nothing():
    """SourceKind.CURRENT: each injection is a VCCS from its DAC's node into the network node
    and the bias one from the reference (no resistor, no +-e copy); a tap outside the grid is
    no device; the resistors' window is set by the true resistors alone, so the sources no
    longer stretch it; and the operating point is the loadless network's."""
    resistive = darcy_network()
    weights = replace(resistive, sources="current")
    circuit = compile_network(weights, circuit_config("opamp"))
    loaded = compile_network(resistive, circuit_config("opamp"))
    assert circuit.device_count() == weights.device_count() < loaded.device_count()
    lines = Chip(weights, circuit_config("opamp"), seed=None).deck.text.split("\n")
    sources = [line for line in lines if line.startswith(("gi", "gb"))]
    assert len(sources) == circuit.source_count() == len(circuit.g_inj) + len(circuit.g_bias)
    assert not any(line.startswith(("ri", "bdp", "bdn")) for line in lines)
    assert not any(line.startswith("rb") and not line.startswith("rbit") for line in lines)
    assert all(line.split()[1] == "0" for line in sources)
    assert circuit.resistor_count() == len(circuit.resistors()) < loaded.resistor_count()
    g_lo, g_hi = circuit.conductance_range()
    assert g_lo == circuit.resistors().min() and g_hi == pytest.approx(
        circuit_config("opamp").mapping.g_max_s)
    e, bits = _inputs(weights, 2, seed=4)
    got = predict_network(circuit, e, bits).z
    want = np.stack([weights.equilibrium(e[k], bits[k]) for k in range(len(e))])
    assert np.abs(got - want).max() < 1e-4  # the switches' on resistance only
    other = np.stack([resistive.equilibrium(e[k], bits[k]) for k in range(len(e))])
    assert np.abs(other - want).max() > 1e-3  # the loads moved the resistor network


def test_row_sums_exact_under_mismatch():
    """Each node's KCL row sums to its loads (ground, boundary, injection and bias resistors,
    grounded half-edges) exactly, whatever the mismatch: a coupling is one device, on the
    diagonal of both its nodes and off it with the same value. (The inverting-summer array
    makes a diffusive stencil's local term as the difference of separately mismatched cells;
    its spurious local term is zero here by construction.)"""
    config = circuit_config("opamp", array=ArrayConfig(mismatch_sigma=0.05))
    weights = darcy_network()
    circuit = compile_network(weights, config, np.random.default_rng(7))
    bits = np.random.default_rng(8).random(G * G) > 0.5
    matrix = circuit.conductance_matrix(bits)
    size = circuit.unknowns()
    loads = (np.bincount(circuit.ground_nodes, circuit.g_ground, size)
             + np.bincount(circuit.inj_nodes, circuit.g_inj, size)
             + np.bincount(circuit.bias_nodes, circuit.g_bias, size))
    grounded = circuit.half_mid < 0
    closed = bits[circuit.half_point] == circuit.half_on
    r = np.where(closed, circuit.switch_ron_ohm, circuit.switch_roff_ohm)[grounded]
    loads += np.bincount(circuit.half_nodes[grounded],
                         1.0 / (1.0 / circuit.g_half[grounded] + r), size)
    row_sums = np.asarray(matrix.sum(axis=1)).ravel()
    assert np.abs(row_sums - loads).max() <= 1e-12 * loads.max()
    assert np.allclose(matrix.toarray(), matrix.toarray().T, rtol=0, atol=0)
    # the mismatch is there: the couplings' conductances are spread by ~sigma
    ratio = circuit.g_pair / (weights.couple[0, 1] * circuit.g_unit_s)
    edge = len(circuit.g_pair) - G * G
    assert 0.03 < np.std(ratio[edge:]) < 0.07


def test_quantized_levels_keep_every_device():
    config = circuit_config("opamp", array=ArrayConfig(levels=16))
    circuit = compile_network(poisson_network(), config)
    step = (config.mapping.g_max_s - config.mapping.g_min_s) / 15
    g = np.concatenate([circuit.g_pair, circuit.g_ground, circuit.g_inj, circuit.g_bias])
    codes = (g - config.mapping.g_min_s) / step
    assert np.allclose(codes, np.round(codes)) and g.min() >= config.mapping.g_min_s


def test_network_chip_refuses_what_it_cannot_do(tmp_path, simulator):
    chip = Chip(darcy_network(), circuit_config("opamp"), seed=None, simulator=simulator)
    e, bits = _inputs(darcy_network(), 1)
    with pytest.raises(InputError, match="bits"):
        chip.prediction(e)
    with pytest.raises(InputError, match="operating points only"):
        chip.simulate(e, "tran", tmp_path, t_stop_s=1e-6, bits=bits)
    with pytest.raises(InputError, match="crossbar"):
        chip.effective  # noqa: B018
    with pytest.raises(InputError, match="behavioural"):
        compile_network(poisson_network(), circuit_config("cmos"))


@pytest.mark.parametrize("kind", ["plain", "switched"])
def test_verify_network_model(kind, simulator, tmp_path):
    """verify_network on a (untrained) NetworkDEQ: SPICE equals the chip's prediction, and
    without mismatch the ideal network at the same DAC inputs; the digital and circuit task
    errors agree to the converters' resolution."""
    import torch

    from codesign.chip.grid import verify_network
    from codesign.deq.kirchhoff import NetworkDEQ, NetworkDEQConfig

    switched = kind == "switched"
    config = NetworkDEQConfig(channels=2, inputs=1, kind=kind, cubic=not switched,
                              spacing="nodal" if switched else "interior",
                              boundary="first" if switched else "outside", train_grid=8)
    model = NetworkDEQ(config, torch.Generator().manual_seed(0))
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (3, 1, G, G)).astype(np.float32)
    y = rng.standard_normal((3, 1, G, G))
    model.fit_range(torch.from_numpy(x))
    summary, arrays = verify_network(model, x, y, circuit_config("opamp"), 0, tmp_path,
                                     simulator, "test")
    assert summary.readout_gain == pytest.approx(model.readout_gain.tolist())
    assert min(summary.readout_gain) > 1
    assert (summary.sources, summary.omitted) == ("resistor", 0)
    assert summary.prediction_error_fs_max < 1e-9
    assert summary.equilibrium_error_fs_max < (1e-4 if switched else 1e-9)  # switch ron
    assert summary.switches == (2 * 2 * 2 * (2 * 7 * 6 + 2 * 7) if switched else 0)
    assert summary.n == 2 * (G - 1 if switched else G) ** 2
    assert abs(summary.ratio - 1) < 0.05
    assert arrays["u_circuit"].shape == arrays["u_digital"].shape == y.shape


def test_the_readout_gain_is_the_decks_buffer_gain(simulator, tmp_path):
    """A model's per-channel readout gain is in the deck (each node's buffer into its ADC
    amplifies it by its channel's gain): SPICE's buffer outputs are the node voltages times the
    gain, and the chip's read-back state equals the digital readout model (NetworkDEQ.read) of
    SPICE's node voltages."""
    import torch

    from codesign.chip.grid import verify_network
    from codesign.circuit.converters import adc
    from codesign.deq.kirchhoff import NetworkDEQ, NetworkDEQConfig

    model = NetworkDEQ(NetworkDEQConfig(channels=2, inputs=1, train_grid=8, cubic=True),
                       torch.Generator().manual_seed(0))
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (3, 1, G, G)).astype(np.float32)
    model.fit_range(torch.from_numpy(x))
    gain = model.readout_gain.double().numpy()
    assert gain.min() > 1 and not np.allclose(gain[0], gain[1])
    config = replace(circuit_config("opamp"), converters=ConverterConfig(dac_bits=8,
                                                                          adc_bits=8))
    chip = Chip(model.to_weights(G), config, seed=0, simulator=simulator)
    buffers = {line.split()[0]: float(line.split()[-1]) for line in chip.deck.text.splitlines()
               if line.startswith("ebuf")}
    expected = np.repeat(gain, G * G)
    assert len(buffers) == chip.n
    assert np.allclose([buffers[f"ebuf{i}"] for i in range(chip.n)], expected, rtol=1e-9)
    with torch.no_grad():
        e = model.encode(torch.from_numpy(x)).double().reshape(len(x), -1).numpy()
    run = chip.operating_points(chip.dac(e), tmp_path / "op")
    assert np.allclose(run.z, run.x * expected, rtol=0, atol=1e-9)
    assert np.abs(run.z).max() > 2 * np.abs(run.x).max() / 3  # the gain spreads the range
    _, arrays = verify_network(model, x, rng.standard_normal((3, 1, G, G)), config, 0,
                               tmp_path / "verify", simulator, "test")
    state = torch.from_numpy(arrays["z_spice"]).reshape(len(x), 2, G, G)
    with torch.no_grad():
        read = model.read(state, lambda t: adc(t, config.converters))
        e_fields = torch.from_numpy(chip.dac(e)).reshape(len(x), -1, G, G).float()
        expected_u = model.decode(read.float(), e_fields).double().numpy()
    assert np.allclose(arrays["u_circuit"], expected_u, rtol=1e-5, atol=1e-6)


def test_a_current_source_network_is_compiled_into_the_window():
    """SourceKind.CURRENT compiles drawable: resistors below half the mapping's window are not
    drawn, those between half and the floor raised to it; the resistor network stays anchored
    to ground (a window that would leave a node floating is refused)."""
    config = circuit_config("opamp")
    floor = config.mapping.g_min_s
    base = poisson_network()
    # a tiny ground (1e-4 of the edges: below half the floor) and a small coupling-free bias
    weights = replace(base, ground=np.array([base.edge[0, 0] * 1e-4]), sources="current")
    circuit = compile_network(weights, config)
    assert circuit.omitted == G * G  # every tiny ground resistor
    assert circuit.resistors().min() >= floor * (1 - 1e-12)
    assert circuit.floating() == 0
    resistor = compile_network(replace(weights, sources="resistor"), config)
    assert resistor.omitted == 0 and resistor.resistors().min() < floor / 2
    e = np.random.default_rng(1).uniform(-1, 1, (2, circuit.m))
    z = predict_network(circuit, e).z
    ideal = np.stack([weights.equilibrium(row) for row in e])
    assert np.abs(z - ideal).max() < 1e-3 * np.abs(ideal).max()  # the tiny ground did not matter
    # a second channel held only by tiny conductances floats once they are gone
    two = NetworkWeights(G, np.array([[1 / H**2, 1 / H**2], [1e-6, 1e-6]]), None,
                         np.zeros((2, 2)), np.zeros(2), np.full((2, 1, 1, 1), 20.0),
                         np.zeros(2), np.zeros(2), sources="current")
    with pytest.raises(InputError, match="path to ground"):
        compile_network(two, config)
