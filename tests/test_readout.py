"""A chip instance's readout fitted to its own states (codesign.calibration.readout) recovers the
affine map the data were made with, keeps the trained decoder where there is nothing to gain,
and fits on a real chip's SPICE states without touching the encoder or the core."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from codesign.calibration.readout import fit_decoder, fit_readout
from codesign.chip.chip import Chip
from codesign.circuit.config import circuit_config
from codesign.cli import main
from codesign.deq import random_core
from codesign.deq.checkpoint import save_npz_core
from codesign.deq.model import DEQConfig, HybridDEQ
from codesign.errors import InputError
from codesign.proxy.params import default_params_path, load_params
from codesign.tasks import get_task


def _model(n: int, out: int, seed: int = 0) -> HybridDEQ:
    return HybridDEQ(DEQConfig(in_features=64, core_inputs=3, core_size=n, out_features=out),
                     generator=torch.Generator().manual_seed(seed))


def test_a_regression_readout_recovers_the_affine_map_of_its_data():
    task = get_task("physics")
    rng = np.random.default_rng(0)
    n, out = 8, task.out_features
    model = _model(n, out)
    a, c = rng.normal(size=(out, n)), rng.normal(size=out)
    z = rng.uniform(-1, 1, size=(96, n))
    w, b, ridge, trained, fitted = fit_decoder(task, model, z, z @ a.T + c)
    assert ridge == 0.0
    assert trained > 1e-1 and fitted < 1e-8 * trained
    np.testing.assert_allclose(np.asarray(w), a, atol=1e-5)
    np.testing.assert_allclose(np.asarray(b), c, atol=1e-5)


def test_the_trained_decoder_is_kept_when_it_is_already_exact():
    task = get_task("physics")
    model = _model(8, task.out_features)
    z = np.random.default_rng(1).uniform(-1, 1, size=(64, 8))
    with torch.no_grad():
        y = model.decoder(torch.from_numpy(z).float()).double().numpy()
    w, b, ridge, trained, fitted = fit_decoder(task, model, z, y)
    assert not np.isfinite(ridge)
    assert fitted == trained
    np.testing.assert_array_equal(np.asarray(w), model.decoder.weight.detach().double().numpy())


def test_a_classification_readout_learns_the_labels_of_its_states():
    task = get_task("digits")
    rng = np.random.default_rng(2)
    model = _model(8, 10)
    a = rng.normal(size=(10, 8))
    z = rng.uniform(-1, 1, size=(200, 8))
    labels = np.argmax(z @ a.T, 1)
    w, b, ridge, trained, fitted = fit_decoder(task, model, z, labels)
    assert np.isfinite(ridge) and fitted < 0.5 * trained
    accuracy = np.mean(np.argmax(z[150:] @ np.asarray(w).T + np.asarray(b), 1) == labels[150:])
    before = np.mean(np.argmax(z[150:] @ model.decoder.weight.detach().numpy().T
                               + model.decoder.bias.detach().numpy(), 1) == labels[150:])
    assert accuracy > before + 0.3


def test_too_few_inputs_is_an_input_error():
    task = get_task("physics")
    with pytest.raises(InputError, match="at least"):
        fit_decoder(task, _model(4, task.out_features), np.zeros((3, 4)),
                    np.zeros((3, task.out_features)))


def test_a_chip_readout_is_fitted_on_its_spice_states(tmp_path, process_sim):
    task = get_task("physics")
    model = _model(6, task.out_features)
    chip = Chip(model.core.to_weights(), circuit_config("cmos", cell="sky130_r2r_eq"), seed=1,
                simulator=process_sim)
    params = load_params(default_params_path("cmos"))[0]
    fit = fit_readout(task, model, chip, params, 32, tmp_path / "readout", seed=3)
    assert fit.samples == 32 and chip.runs, "the states come from SPICE runs of the chip"
    assert not fit.kept and fit.loss_fitted < fit.loss_trained
    fitted = fit.apply(model)
    np.testing.assert_allclose(fitted.decoder.weight.detach().numpy(), np.asarray(fit.weight),
                               rtol=1e-6)
    assert torch.equal(fitted.encoder.weight, model.encoder.weight)
    assert torch.equal(fitted.core.U, model.core.U)
    assert not torch.equal(fitted.decoder.weight, model.decoder.weight)


def test_verify_fits_the_readout_to_the_chip_when_asked(tmp_path):
    model = tmp_path / "m.pt"
    ok = CliRunner().invoke(main, ["train", "--task", "digits", "--epochs", "2", "--core-size",
                                   "8", "--core-inputs", "6", "--out", str(model)])
    assert ok.exit_code == 0, ok.output
    out = tmp_path / "v"
    result = CliRunner().invoke(main, ["verify", str(model), "--neuron", "opamp", "--samples",
                                       "40", "--readout", "64", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "readout fitted to this chip on 64 training inputs" in result.output
    summary = json.loads((out / "summary.json").read_text())
    metric = summary["task_metric"]
    assert metric["readout_samples"] == 64
    assert "fitted to this chip on 64 training inputs" in result.output.split("accuracy")[-1]
    plain = CliRunner().invoke(main, ["verify", str(model), "--neuron", "opamp", "--samples",
                                      "40", "--out", str(tmp_path / "p")])
    assert json.loads((tmp_path / "p" / "summary.json").read_text())["task_metric"][
        "readout_samples"] is None
    assert plain.exit_code == 0


def test_verify_refuses_a_readout_without_a_task(tmp_path):
    core = tmp_path / "core.npz"
    save_npz_core(core, random_core(4, 2, 0.5, np.random.default_rng(0)))
    bad = CliRunner().invoke(main, ["verify", str(core), "--neuron", "ideal", "--readout", "16",
                                    "--out", str(tmp_path / "v")])
    assert bad.exit_code == 2 and "--readout fits a task model" in bad.output
    assert "Traceback" not in bad.output


def test_the_circuit_is_judged_with_the_fitted_readout_and_the_digital_model_without():
    from types import SimpleNamespace

    from codesign.chip.verify import task_metric

    task = get_task("digits")
    z = np.eye(10)[[0, 1, 2, 3]]
    result = SimpleNamespace(z_torch=z, z_spice=z)
    targets = np.array([0, 1, 2, 3])
    shifted = lambda states: np.roll(states, 1, axis=1)  # noqa: E731 - a wrong readout
    metric = task_metric(result, task, lambda states: states, targets, shifted, 64)
    assert metric.digital == 1.0 and metric.circuit == 0.0 and metric.readout_samples == 64
    plain = task_metric(result, task, lambda states: states, targets)
    assert plain.circuit == 1.0 and plain.readout_samples is None


def test_verify_refuses_too_few_readout_inputs_before_simulating(tmp_path):
    core = tmp_path / "core.npz"
    save_npz_core(core, random_core(4, 2, 0.5, np.random.default_rng(0)))
    bad = CliRunner().invoke(main, ["verify", str(core), "--neuron", "ideal", "--readout", "3",
                                    "--out", str(tmp_path / "v")])
    assert bad.exit_code == 2 and "at least 8" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "v").exists(), "refused before any simulation"
