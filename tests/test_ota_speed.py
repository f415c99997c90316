"""The sky130 OTAs' gain-bandwidth estimate behind the transient stops
(codesign/parts/ota_speed.py, each amplifier part's ``gbw_hz``): it lies below the OTAs' own,
measured in ngspice in the repo's summing configuration (benchmarks.amplifier_ab's neuron), and
not far below; the delay it gives a CMOS chip replaces the level's nominal 5 MHz, and a
behavioural amplifier's is unchanged; on a small CMOS chip the first try's stop still outlasts
the settling it sizes."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks.amplifier_ab import (
    AB,
    CF_F,
    CLASS_A,
    G_ROW_S,
    RF_OHM,
    cmos_config,
    columns,
    neuron,
    simulate,
)
from codesign.chip.chip import Chip
from codesign.circuit.compile import compile_core
from codesign.circuit.config import THERMAL_VOLTAGE_V, circuit_config
from codesign.circuit.dynamics import opamp_delay_s, transient_stops_s
from codesign.circuit.settings import build_circuit
from codesign.deq import random_core
from codesign.parts import chip_parts
from codesign.parts.ota_speed import gm_ekv


def circuit_gbw_hz(circuit):
    """Each neuron's amplifier gain-bandwidth bound, as its part gives it."""
    return chip_parts(circuit.config).amplifier.gbw_hz(circuit)


def noise_gain_floor(circuit) -> float:
    return chip_parts(circuit.config).amplifier.noise_gain_floor(circuit)

# --- the estimate's pieces ---


def test_the_ekv_transconductance_lies_below_both_inversion_limits():
    i_spec = 1e-6
    current = np.logspace(-10, -3, 50)
    gm = gm_ekv(current, 1.5, i_spec)
    weak = current / (1.5 * THERMAL_VOLTAGE_V)
    strong = np.sqrt(current * i_spec) / (1.5 * THERMAL_VOLTAGE_V)
    assert np.all(gm < weak) and np.all(gm < strong)
    assert gm[0] == pytest.approx(weak[0], rel=1e-3)  # I << I_spec: weak inversion
    assert gm[-1] == pytest.approx(strong[-1], rel=0.05)  # I >> I_spec: strong inversion


def _dynamic_cell_config(model=AB):
    """The sky130 dynamic-cell chip's neuron (runs/bench/probe-step/probe-rc-t15c10): tau
    15 ns, ib 2 uA, Cc 10 fF."""
    return build_circuit("cmos", {"neuron.opamp.model": model, "tau_s": 1.5e-8,
                                  "ota_bias_a": 2e-6, "ota_cc_f": 1e-14,
                                  "neuron.cmos.attenuator_ohm": 2.5e5})


def test_a_behavioural_amplifiers_delay_is_its_configs_gain_bandwidth(rng):
    core = random_core(6, 3, 0.8, rng)
    for level in ("opamp", "transistor"):
        circuit = compile_core(core, circuit_config(level))
        assert circuit_gbw_hz(circuit) is None
        gbw = circuit.config.neuron.opamp.gbw_hz
        assert opamp_delay_s(circuit) == float(circuit.noise_gain().max() / (2 * math.pi * gbw))
    assert opamp_delay_s(compile_core(core, circuit_config("ideal"))) == 0.0


def test_a_cmos_chips_delay_is_its_otas_not_the_levels_nominal_gbw(rng):
    core = random_core(6, 3, 0.8, rng)
    for config in (circuit_config("cmos"), _dynamic_cell_config(AB), _dynamic_cell_config(CLASS_A)):
        circuit = compile_core(core, config)
        gbw = circuit_gbw_hz(circuit)
        assert gbw.shape == (6,) and np.all(gbw > 0)
        floor = noise_gain_floor(circuit)
        noise_gain = np.maximum(circuit.noise_gain(), floor)
        assert opamp_delay_s(circuit) == pytest.approx((noise_gain / (2 * math.pi * gbw)).max())
    # the level's own design: slower than its nominal 5 MHz (SPICE: 3.4-3.7 MHz)
    assert circuit_gbw_hz(compile_core(core, circuit_config("cmos"))).max() < 5e6
    # the dynamic cell's: tens of times faster
    assert circuit_gbw_hz(compile_core(core, _dynamic_cell_config())).min() > 20 * 5e6


# --- against ngspice ---


@pytest.mark.parametrize("model, ib_a, cc_f", [
    (AB, 2e-6, 1e-14),  # the dynamic-cell chip's
    (AB, 1e-6, 1e-13),
    (CLASS_A, 0.5e-6, 0.5e-12),  # the cmos level's own
    (CLASS_A, 2e-6, 1e-14),
])
def test_the_estimate_is_below_the_otas_gain_bandwidth_in_its_summing_configuration(
        tmp_path, model, ib_a, cc_f):
    """The open-loop gain A = -v(out) / v(in-) of the OTA in a neuron (Rf || Cf, the row to
    ground, the attenuator). Where the loop closes at noise gain NG (|A| falls to NG at f_NG):
    at the neuron's NG the estimate lies below the gain-bandwidth NG f_NG, within 0.4 of it; at
    every NG the delay it gives, max(NG, noise_gain_floor) / (2 pi GBW), outlasts 1 / (2 pi f_NG)
    (below the floor the second pole at Cc = 10 fF lowers NG f_NG below the estimate)."""
    simulate(tmp_path, neuron(model, 0, ib_a, cc_f) + ["iin0 0 s0 dc 0 ac 1"],
             ["ac dec 40 10k 3g", "let a = -v(x0)/v(s0)", "wrdata a.txt mag(a)"])
    f, mag = columns(tmp_path / "a.txt").T

    def closes_hz(noise_gain: float) -> float:
        k = np.nonzero(mag < noise_gain)[0][0]  # where |A| first falls below it
        return float(np.exp(np.interp(np.log(noise_gain), np.log(mag[[k, k - 1]]),
                                      np.log(f[[k, k - 1]]))))

    circuit = SimpleNamespace(config=cmos_config(model, ib_a, cc_f),
                              g_feedback=np.array([1 / RF_OHM]), c_feedback=np.array([CF_F]))
    estimate = float(circuit_gbw_hz(circuit)[0])
    neurons = 1 + G_ROW_S * RF_OHM
    assert 0.4 < estimate / (neurons * closes_hz(neurons)) < 1
    floor = noise_gain_floor(circuit)
    for noise_gain in (neurons, 8, 4, 2):
        assert max(noise_gain, floor) / estimate > 1 / closes_hz(noise_gain), noise_gain


def test_a_small_cmos_chips_first_try_outlasts_its_settling(process_sim, tmp_path, rng):
    """A class-AB chip (tau 0.1 us, ib 1 uA, Cc 0.1 pF): every transient settles within its
    first try, which is shorter than the nominal 5 MHz's."""
    config = build_circuit("cmos", {"neuron.opamp.model": AB, "tau_s": 1e-7,
                                    "ota_bias_a": 1e-6, "ota_cc_f": 1e-13})
    chip = Chip(random_core(8, 4, 0.9, rng), config, seed=3, simulator=process_sim)
    e = rng.uniform(-1, 1, (2, 4))
    tol = 2**-9
    first, _ = transient_stops_s(chip.circuit, chip.prediction(e), tol)
    nominal = first - 10 * opamp_delay_s(chip.circuit) \
        + 10 * chip.circuit.noise_gain().max() / (2 * math.pi * config.neuron.opamp.gbw_hz)
    assert np.all(first < 0.75 * nominal)
    run = chip.transients(e, tmp_path / "tran", tol_fs=tol)
    np.testing.assert_array_equal(run.t_stop_s, first)  # no sample fell back
    settling = np.array([m.settling_time_s for m in run.transients])
    assert np.all(settling < first)
