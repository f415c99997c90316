"""The CMOS neuron level on SkyWater sky130, in ngspice: a chip follows its calibrated proxy,
process corners move it and name their model, the PDK's Monte Carlo mismatch is seeded per chip
instance, transients start from a switched reset with the bias on, and a small calibration beats
the ideal proxy tenfold on held-out cores."""

from dataclasses import replace

import numpy as np
import pytest

from codesign.calibration.calibrate import calibrate
from codesign.calibration.spec import load_spec
from codesign.chip.chip import Chip
from codesign.circuit.config import circuit_config
from codesign.deq import random_core
from codesign.errors import InputError
from codesign.jobs import LocalExecutor, Pool
from codesign.proxy.params import default_params_path, load_params, neuron_model
from tests.test_calibration import write_spec


def cmos(**changes):
    """The cmos level's circuit with CmosParams fields changed."""
    config = circuit_config("cmos")
    return replace(config, neuron=replace(config.neuron, cmos=replace(config.neuron.cmos,
                                                                      **changes)))


def rms(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.fixture
def core_and_inputs(rng):
    return random_core(12, 6, 0.9, rng), rng.uniform(-1, 1, (6, 6))


def test_a_cmos_chip_follows_its_calibrated_proxy(process_sim, tmp_path, core_and_inputs):
    core, e = core_and_inputs
    chip = Chip(core, circuit_config("cmos"), seed=1, simulator=process_sim)
    z = chip.operating_points(e, tmp_path).z
    params = load_params(default_params_path("cmos"))[0]
    assert params.neuron_model == neuron_model(chip.config)
    proxy_error, digital_error = rms(z, chip.proxy_equilibrium(params, e)), rms(
        z, core.equilibrium(e))
    assert proxy_error < 0.005 and proxy_error * 10 < digital_error


def test_corners_move_the_circuit_and_name_their_model(process_sim, tmp_path, core_and_inputs):
    core, e = core_and_inputs
    z = {corner: Chip(core, cmos(corner=corner), simulator=process_sim).operating_points(
        e, tmp_path / corner).z for corner in ("tt", "ss", "ff")}
    assert rms(z["ss"], z["tt"]) > 1e-3 and rms(z["ff"], z["tt"]) > 1e-3
    assert neuron_model(cmos(corner="ss")) != neuron_model(circuit_config("cmos"))


def test_the_pdks_device_mismatch_is_seeded_per_chip(process_sim, tmp_path, core_and_inputs):
    core, e = core_and_inputs
    config = cmos(device_mismatch=True)

    def z(seed):
        chip = Chip(core, config, seed=seed, simulator=process_sim)
        assert "tt_mm" in chip.deck.text and ".options seed=" in chip.deck.text
        return chip.operating_points(e, tmp_path / f"s{seed}-{len(list(tmp_path.iterdir()))}").z

    nominal = Chip(core, circuit_config("cmos"), simulator=process_sim).operating_points(
        e, tmp_path / "nominal").z
    first, again, other = z(1), z(1), z(2)
    np.testing.assert_array_equal(first, again)
    assert rms(first, other) > 1e-3 and rms(first, nominal) > 1e-3
    assert rms(first, nominal) < 0.1  # offsets of a few mV, not a broken circuit


def test_a_transient_starts_from_the_switched_reset_with_the_bias_on(process_sim, tmp_path,
                                                                     core_and_inputs):
    core, e = core_and_inputs
    chip = Chip(core, circuit_config("cmos"), seed=1, simulator=process_sim)
    assert "uic" not in chip.deck.text and "srst0 s0 x0 rst 0 cd_reset_switch" in chip.deck.text
    run = chip.transients(e[:2], tmp_path / "tran")
    t, z = chip.trace(e[0], tmp_path / "trace")
    assert np.abs(z[0]).max() < 0.02  # the state starts at 0 (phi(0) up to offsets)
    np.testing.assert_allclose(z[-1], run.z[0], atol=1e-4)  # and settles to the operating point
    tau = chip.circuit.time_constant_s()
    settling = [m.settling_time_s for m in run.transients]
    assert all(3 * tau < s < t[-1] for s in settling)
    # the bias is on from t = 0: the supplies deliver the circuit's static power at once
    power = [m.core_energy_j / m.settling_time_s for m in run.transients]
    assert all(p > 0 for p in power)


def test_the_pair_needs_a_full_scale_above_its_tanh_scale():
    with pytest.raises(InputError, match="v_fs must be above"):
        replace(circuit_config("cmos"), mapping=replace(circuit_config("cmos").mapping,
                                                        v_fs=0.05))


@pytest.mark.slow
def test_a_small_cmos_calibration_beats_the_ideal_proxy(tmp_path):
    cal = calibrate(load_spec(write_spec(tmp_path, "cmos")), tmp_path / "work",
                    LocalExecutor(2, Pool.FORK))
    hold = cal.base.evaluation.holdout
    assert hold.calibrated.rms < 0.005
    assert hold.calibrated.rms * 10 < hold.ideal.rms


def test_an_exported_cmos_deck_runs_by_itself(tmp_path, core_and_inputs):
    import subprocess

    from codesign.simulator import find_ngspice
    from codesign.simulator.ngspice import error_lines

    core, _ = core_and_inputs
    chip = Chip(core, cmos(device_mismatch=True), seed=4, klu=find_ngspice().klu)
    manifest = chip.export(tmp_path / "net", ngspice=find_ngspice())
    folder = tmp_path / "net"
    assert (folder / "sky130" / "LICENSE").is_file() and (folder / "codesign_cmos.lib").is_file()
    assert manifest["circuit"]["neuron"]["cmos"]["device_mismatch"] is True
    out = subprocess.run([find_ngspice().executable, "-b", "crossbar.cir"], cwd=folder,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and not error_lines(out.stdout + out.stderr)
    assert "v(zp0)" in out.stdout.lower() or "zp0" in out.stdout.lower()
