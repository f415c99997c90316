"""The writer: golden decks (byte for byte, and run by ngspice against closed forms), one SPICE
writer in the package, and the PySpice conversion."""

import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

from codesign.circuit import circuit_config, compile_core, predict_equilibrium
from codesign.deq import random_core
from codesign.netlist.pyspice import to_pyspice
from codesign.simulator import find_ngspice, read_raw
from tests.golden import CASES, GOLDEN_DIR, golden_text

PACKAGE = Path(__file__).resolve().parents[1] / "codesign"


@pytest.mark.parametrize("name", sorted(CASES))
def test_writer_reproduces_the_golden_deck(name):
    assert golden_text(name) == (GOLDEN_DIR / f"{name}.cir").read_text(), (
        "the writer's output changed: review it, then run `make golden`"
    )


def _run_golden(name: str, tmp_path: Path) -> dict[str, float]:
    raw = tmp_path / f"{name}.raw"
    subprocess.run([find_ngspice().executable, "-b", "-r", str(raw), f"{name}.cir"],
                   cwd=GOLDEN_DIR, check=True, capture_output=True, env={"LC_ALL": "C"})
    op = read_raw(raw)[0]
    assert op.plotname.lower() == "operating point"
    return {k: float(v[0]) for k, v in op.vectors.items()}


def test_golden_scalar_neuron_matches_its_closed_form(tmp_path):
    op = _run_golden("scalar_tanh_ideal", tmp_path)
    z = brentq(lambda z: z - math.tanh(0.6 * z + 0.8 * 0.5 + 0.1), -1, 1, xtol=1e-15)
    assert op["v(zp0)"] / 0.5 == pytest.approx(z, abs=1e-6)


def test_golden_linear_pair_is_a_linear_solve(tmp_path):
    op = _run_golden("pair_identity_ideal", tmp_path)
    core, _, (e,) = CASES["pair_identity_ideal"]
    z = np.linalg.solve(np.eye(2) - core.W, core.U[:, 0] * e + core.b)
    np.testing.assert_allclose([op["v(zp0)"] / 0.5, op["v(zp1)"] / 0.5], z, atol=1e-6)


def test_golden_opamp_pair_matches_the_finite_gain_prediction(tmp_path):
    op = _run_golden("pair_tanh_opamp", tmp_path)
    core, level, inputs = CASES["pair_tanh_opamp"]
    pred = predict_equilibrium(compile_core(core, circuit_config(level)), np.array([inputs]))
    np.testing.assert_allclose([op["v(zp0)"] / 0.5, op["v(zp1)"] / 0.5], pred.z[0], atol=1e-9)


READERS = {"parts/geometry.py"}
"""Modules that read SPICE library text (the parts' areas from their devices) and write none."""


def test_spice_text_is_written_in_one_module_only():
    pattern = re.compile(r"""["'](\.include|\.options|\.save|\.subckt|\.tran|\.control"""
                         r"""|alter |tran |destroy all|write s)""")
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "spice.py" and str(path.relative_to(PACKAGE)) not in READERS
        and pattern.search(path.read_text())
    ]
    assert offenders == []
    for reader in READERS:  # a reader writes nothing
        assert "write" not in (PACKAGE / reader).read_text().replace("rewrite", "")


def test_pyspice_conversion_describes_the_same_circuit(rng, shared_sim):
    core = random_core(6, 3, 0.7, rng)
    circuit = compile_core(core, circuit_config("opamp"))
    e = rng.uniform(-1, 1, 3)
    pys = to_pyspice(circuit, e)
    text = str(pys)
    # cells, feedback resistors, the DACs' and the reference's 1 Ohm loads
    assert text.count("\nR") == circuit.device_count() + circuit.n + circuit.m + 1
    assert text.count("\nI") == circuit.m + 1  # the DAC and reference sources
    analysis = pys.simulator(simulator="ngspice-shared").operating_point()
    z = np.array([float(analysis.nodes[f"zp{i}"][0]) for i in range(6)]) / circuit.v_fs
    np.testing.assert_allclose(z, predict_equilibrium(circuit, e[None]).z[0], atol=1e-9)
