"""The transistor-level neuron (a BJT differential pair) in ngspice: a tanh-like transfer whose
offset follows the Ebers-Moll law V_os = V_T ln(a1 / a2) for emitter-area mismatch."""

import dataclasses
import math

import numpy as np
import pytest

from codesign.chip.chip import Chip
from codesign.circuit import compile_core
from codesign.circuit.config import circuit_config
from codesign.deq import CoreWeights
from codesign.errors import InputError

V_T = 8.617333262e-5 * 300.15  # thermal voltage at 27 C [V]
ATTENUATION = 1e3 / (8.66e3 + 1e3)  # rb / (ra + rb) of cd_act_bjt_pair


def transfer(sim, area, run_dir):
    """(x, z) of a lone transistor neuron (W = 0, x = e) over a sweep of e, units of FS."""
    core = CoreWeights(np.zeros((1, 1)), np.ones((1, 1)), np.zeros(1), "tanh")
    circuit = compile_core(core, circuit_config("transistor"))
    circuit = dataclasses.replace(circuit, pair_area=np.array([area]))
    e = np.linspace(-0.9, 0.9, 19)[:, None]
    run = Chip.from_circuit(core, circuit, sim).operating_points(e, run_dir)
    return run.x[:, 0], run.z[:, 0]


def test_pair_is_a_tanh_within_its_device_errors(process_sim, tmp_path):
    x, z = transfer(process_sim, (1.0, 1.0), tmp_path)
    assert np.all(np.diff(z) > 0)
    np.testing.assert_allclose(z, np.tanh(x), atol=0.03)  # finite beta, Early effect
    assert np.abs(z - np.tanh(x)).max() > 1e-3  # and not a behavioural tanh
    np.testing.assert_allclose(z, -z[::-1], atol=2e-3)  # symmetric pair: no offset


def test_area_mismatch_gives_the_ebers_moll_offset(process_sim, tmp_path):
    x, z = transfer(process_sim, (1.2, 1.0), tmp_path)
    crossing = np.interp(0.0, z, x)  # z rises with x
    expected = -V_T * math.log(1.2) / ATTENUATION / 0.5  # in FS (v_fs = 0.5 V)
    assert crossing == pytest.approx(expected, rel=0.03)


def test_pair_realises_tanh_only(rng):
    core = CoreWeights(np.zeros((2, 2)), np.ones((2, 1)), np.zeros(2), "hardclip")
    with pytest.raises(InputError, match="tanh only"):
        compile_core(core, circuit_config("transistor"))
