"""Circuit noise: the proxy's Lyapunov spread against closed forms, the netlist's seeded noise
waveforms, and SPICE's noisy equilibria against the proxy."""

import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from codesign.calibration.noise import NoisePlan, noise_spread
from codesign.chip.chip import Chip
from codesign.circuit.config import NoiseConfig, circuit_config, scale_currents
from codesign.circuit.noise import BOLTZMANN_J_K, row_noise_psd, sample_rms
from codesign.cli import main
from codesign.deq import random_core
from codesign.errors import InputError
from codesign.netlist.deck import NoiseWaves, make_jobs
from codesign.netlist.spice import batch_deck, deck_groups, job_deck, run_deck
from codesign.proxy.crossbar import EffectiveCore
from codesign.proxy.model import CircuitProxy
from codesign.proxy.noise import NoiseSources, equilibrium_std, forcing_psd_fs
from codesign.proxy.params import default_params_path, ideal_params, load_params

NOISY = NoiseConfig(enabled=True, amp_noise_v_rthz=3e-6)
"""A macromodel neuron with a loud amplifier, so the spread is far above SPICE's tolerances."""


def one_neuron(w: float, g_total: float = 2e-6, g_f: float = 1e-6) -> EffectiveCore:
    t = torch.tensor
    return EffectiveCore(t([[w]], dtype=torch.float64), t([[0.0]], dtype=torch.float64),
                         t([0.0], dtype=torch.float64), t([1.0], dtype=torch.float64),
                         t([g_total], dtype=torch.float64), t([g_f], dtype=torch.float64))


def test_a_neurons_spread_is_its_forcing_over_its_noise_bandwidth():
    """tau dx/dt = -x + w tanh'(0) x + xi: var x = S / (4 tau (1 - w)); a second pole tau_o in
    series with an open loop (w = 0) gives var z = S / (4 (tau + tau_o))."""
    config = circuit_config("ideal")
    sources = NoiseSources(amp_noise_v_rthz=1e-6, temperature_k=300.0)
    e = np.zeros((1, 1))
    cases = ((0.6, 0.0, lambda s: s / (4e-6 * (1 - 0.6))),
             (-0.5, 0.0, lambda s: s / (4e-6 * (1 + 0.5))),
             (0.0, 0.3e-6, lambda s: s / (4 * (1e-6 + 0.3e-6))))
    for w, tau_out, variance in cases:
        params = ideal_params(config).replace(tau_s=1e-6, output_tau_s=tau_out)
        proxy, core = CircuitProxy(params, v_fs=0.5), one_neuron(w)
        psd = float(forcing_psd_fs(proxy, core, sources)[0])
        std = equilibrium_std(proxy, core, e, sources)[0, 0]
        assert std == pytest.approx(math.sqrt(variance(psd)), rel=1e-9)


def test_the_forcing_is_thermal_and_amplifier_noise_over_the_feedback():
    g, g_f, e_n, temp = 3e-6, 1e-6, 2e-6, 310.0
    psd = row_noise_psd(np.array([g]), e_n, temp)[0]
    assert psd == pytest.approx(4 * BOLTZMANN_J_K * temp * g + (e_n * g) ** 2, rel=1e-12)
    proxy = CircuitProxy(ideal_params(circuit_config("ideal")).replace(noise_excess=2.0), 0.5)
    forcing = float(forcing_psd_fs(proxy, one_neuron(0.0, g, g_f),
                                   NoiseSources(e_n, temp))[0])
    assert forcing == pytest.approx(2.0 * psd / (g_f * 0.5) ** 2, rel=1e-12)
    assert sample_rms(psd, 1e-7) ** 2 * 2 * 1e-7 == pytest.approx(psd, rel=1e-12)


def test_noise_waveforms_are_seeded_per_sample_and_start_at_zero():
    waves = NoiseWaves(seed=5, sources=("inz0", "inz1"), nodes=(("0", "s0"), ("0", "s1")),
                       rms_a=(1e-9, 2e-9), interval_s=1e-7)
    first = waves.waveforms(3, 2e-5)
    assert [name for name, _ in first] == ["inz0", "inz1"]
    np.testing.assert_array_equal(first[1][1], waves.waveforms(3, 2e-5)[1][1])
    assert not np.array_equal(first[1][1][1::2], waves.waveforms(4, 2e-5)[1][1][1::2])
    times, values = first[1][1][0::2], first[1][1][1::2]
    assert times[0] == 0 and values[0] == 0 and times[-1] >= 2e-5
    np.testing.assert_allclose(np.diff(times), 1e-7)
    assert np.std(values[1:]) == pytest.approx(2e-9, rel=0.2)


def test_each_noisy_transient_runs_on_a_deck_with_its_own_waveforms(rng):
    chip = Chip(random_core(3, 2, 0.5, rng), circuit_config("opamp", noise=NOISY), seed=2)
    jobs = make_jobs(np.zeros((2, 2)), 1e-5)
    [(op_deck, op_jobs)] = deck_groups(chip.deck, make_jobs(np.zeros((2, 2))), "op")
    assert op_deck is chip.deck and len(op_jobs) == 2
    groups = deck_groups(chip.deck, jobs, "tran")
    assert [len(group) for _, group in groups] == [1, 1]
    assert all(deck is chip.deck for deck, _ in groups)  # waveforms are written when it runs
    first, second = (run_deck(deck, group, "tran").text for deck, group in groups)
    assert first != second and first.count("pwl(") == 3 and len(first) > len(chip.deck.text)
    assert job_deck(chip.deck, jobs[0]).text == first
    assert first in batch_deck(chip.deck, jobs[:1], "tran")
    with pytest.raises(ValueError, match="alone"):
        batch_deck(chip.deck, jobs, "tran")
    quiet = Chip(chip.core, circuit_config("opamp"), seed=2)
    assert "inz0" not in quiet.deck.text and quiet.deck.noise is None


def test_noise_needs_a_seed_and_valid_settings(rng):
    core = random_core(3, 2, 0.5, rng)
    with pytest.raises(InputError, match="seeded"):
        Chip(core, circuit_config("opamp", noise=NOISY), seed=None)
    for bad in ({"temperature_k": 0.0}, {"sample_fraction": 2.0}, {"amp_noise_v_rthz": -1.0},
                {"enabled": "yes"}):
        with pytest.raises(InputError):
            NoiseConfig(**bad)
    with pytest.raises(InputError, match="current ratio"):
        scale_currents(circuit_config("cmos"), 0.0)
    with pytest.raises(InputError, match="repeats"):
        NoisePlan(repeats=2)


@pytest.fixture
def noisy_chip(rng, simulator):
    return Chip(random_core(4, 2, 0.7, rng), circuit_config("opamp", noise=NOISY), seed=3,
                simulator=simulator)


def test_noisy_equilibria_are_reproducible_and_leave_the_op_noiseless(noisy_chip, tmp_path,
                                                                      rng):
    e = rng.uniform(-1, 1, (2, 2))
    first = noisy_chip.noisy_equilibria(e, 3, tmp_path / "a")
    again = noisy_chip.noisy_equilibria(e, 3, tmp_path / "b")
    np.testing.assert_array_equal(first, again)
    assert np.all(first.std(0) > 1e-4)
    quiet = Chip(noisy_chip.core, circuit_config("opamp"), seed=3,
                 simulator=noisy_chip.simulator)
    np.testing.assert_allclose(noisy_chip.operating_points(e, tmp_path / "op").z,
                               quiet.operating_points(e, tmp_path / "quiet").z, atol=1e-9)


def test_both_backends_draw_the_same_noise(rng, process_sim, shared_sim, tmp_path):
    core, e = random_core(3, 2, 0.6, rng), rng.uniform(-1, 1, (1, 2))
    config = circuit_config("opamp", noise=NOISY)
    runs = [Chip(core, config, seed=4, simulator=sim).noisy_equilibria(e, 2, tmp_path / name)
            for name, sim in (("p", process_sim), ("s", shared_sim))]
    np.testing.assert_allclose(runs[0], runs[1], atol=1e-6)


def test_the_proxy_predicts_the_spread_of_spice_equilibria(process_sim, tmp_path, rng):
    chip = Chip(random_core(6, 3, 0.8, rng), circuit_config("opamp", noise=NOISY), seed=5,
                simulator=process_sim)
    params = load_params(default_params_path("opamp"))[0]
    spread = noise_spread(chip, params, rng.uniform(-1, 1, (3, 3)), 24, tmp_path)
    assert spread.sampling_error < 0.09
    assert spread.median_error < 0.2, spread.ratios


@pytest.mark.slow(seconds=35)
def test_codesign_noise_writes_its_check_and_refuses_bad_settings(tmp_path):
    runner = CliRunner()
    out = tmp_path / "noise"
    result = runner.invoke(main, ["noise", "--neuron", "opamp", "--n", "3", "--m", "2",
                                  "--inputs", "2", "--repeats", "4", "--amp-noise", "3e-6",
                                  "--workers", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "noise_excess fitted" in result.output and "currents x0.1" in result.output
    assert {p.name for p in out.iterdir()} >= {"noise.json", "spreads.csv", "params.json"}
    bad = runner.invoke(main, ["noise", "--repeats", "2", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "repeats" in bad.output
