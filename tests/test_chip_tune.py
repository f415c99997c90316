"""A model tuned for one chip instance (codesign.calibration.trim.tune_to_chip): the instance's
SPICE equilibria of training inputs re-fit the proxy and fit its per-neuron trim, and the model
is fine-tuned through that proxy with that trim at every step (HardwareModel.spread)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from codesign.calibration.trim import ChipTune, tune_to_chip
from codesign.chip.chip import Chip
from codesign.circuit.config import circuit_config
from codesign.circuit.settings import override
from codesign.deq.model import DEQConfig, HybridDEQ
from codesign.errors import InputError
from codesign.proxy.model import NeuronSpread
from codesign.proxy.params import default_params_path, load_params
from codesign.tasks import get_task
from codesign.training.aware import HardwareModel


def _model(task, n: int = 6) -> HybridDEQ:
    return HybridDEQ(DEQConfig(in_features=task.in_features, core_inputs=3, core_size=n,
                               out_features=task.out_features),
                     generator=torch.Generator().manual_seed(0))


def test_a_fixed_spread_replaces_the_drawn_one():
    task = get_task("physics")
    model = _model(task)
    config = override(circuit_config("cmos"), {"array.mismatch_sigma": 0.0})
    params = load_params(default_params_path("cmos"))[0].replace(
        neuron_gain_sigma=0.2, neuron_offset_sigma_fs=0.05, read_noise_sigma=0.0)
    x = torch.from_numpy(task.x_test[:8])
    drawn = HardwareModel(params, config)
    fixed = HardwareModel(params, config, spread=NeuronSpread(
        torch.full((6,), 1.1, dtype=torch.float64), torch.full((6,), 0.02, dtype=torch.float64),
        torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64)))
    with torch.no_grad():
        a, b = (drawn.forward(model, x, torch.Generator().manual_seed(s)) for s in (1, 2))
        c, d = (fixed.forward(model, x, torch.Generator().manual_seed(s)) for s in (1, 2))
    assert not torch.allclose(a, b)  # a new instance per step
    torch.testing.assert_close(c, d, rtol=0, atol=0)  # the one instance's terms every step


def test_a_model_tuned_through_its_chips_trimmed_proxy_does_better_there(tmp_path,
                                                                         process_sim):
    task = get_task("physics")
    model = _model(task)
    config = override(circuit_config("cmos", cell="sky130_r2r_eq"), {"device_mismatch": True})
    chip = Chip(model.core.to_weights(), config, seed=[1, 7919], simulator=process_sim)
    params = load_params(default_params_path("cmos"))[0]
    tune = tune_to_chip(task, model, params, chip, 32, tmp_path / "tune", seed=3, epochs=1)
    assert isinstance(tune, ChipTune) and (tune.samples, tune.epochs) == (32, 1)
    assert len(chip.runs) == 1 and len(chip.runs[0].z) == 32  # SPICE of 32 training inputs
    assert (tune.trim.fitted, tune.trim.judged) == (24, 8)
    assert tune.trim.rms_after < tune.trim.rms_before
    assert not torch.equal(tune.model.core.U, model.core.U)
    # judged through the instance's own proxy (re-fitted, trimmed) on unseen test fields
    hardware = HardwareModel(tune.params, config, spread=tune.trim.spread())
    x, y = torch.from_numpy(task.x_test[:64]), torch.from_numpy(task.y_test[:64])
    with torch.no_grad():
        before, after = (float(torch.mean((hardware.forward(m, x, None) - y) ** 2))
                         for m in (model, tune.model))
    assert after < 0.85 * before
    assert tune.summary()["trim_rms_after_fs"] == tune.trim.rms_after


def test_the_tune_trains_through_the_instances_proxy_and_trim(tmp_path, process_sim,
                                                             monkeypatch):
    """What tune_to_chip trains through: the re-fitted parameters and the fitted trim, every
    step, for the epochs asked, from the fine-tuning profile."""
    import codesign.calibration.trim as trim_module

    task = get_task("physics")
    model = _model(task)
    config = override(circuit_config("cmos", cell="sky130_r2r_eq"), {"device_mismatch": True})
    chip = Chip(model.core.to_weights(), config, seed=[1, 7919], simulator=process_sim)
    params = load_params(default_params_path("cmos"))[0]
    seen = {}
    real, real_refit = trim_module.train_model, trim_module.refit

    def train_model(task, model, config, hardware):
        seen.update(config=config, hardware=hardware)
        return real(task, model, replace(config, epochs=1), hardware)

    def refit(params, chip, e, z, x):
        refitted, result = real_refit(params, chip, e, z, x)
        seen["refitted"] = replace(refitted, slope=refitted.slope * 1.01)  # marked
        return seen["refitted"], result

    monkeypatch.setattr(trim_module, "train_model", train_model)
    monkeypatch.setattr(trim_module, "refit", refit)
    tune = tune_to_chip(task, model, params, chip, 32, tmp_path / "tune", seed=3, epochs=4)
    assert seen["hardware"].params == tune.params == seen["refitted"] != params
    spread = tune.trim.spread()
    for name in ("gain", "offset", "output", "scale"):
        torch.testing.assert_close(getattr(seen["hardware"].spread, name), getattr(spread, name))
    assert seen["config"] == replace(task.profile.finetune, epochs=4, seed=3)


def test_a_tune_needs_enough_inputs_and_an_epoch(tmp_path):
    task = get_task("physics")
    model = _model(task)
    chip = Chip(model.core.to_weights(), circuit_config("cmos"), seed=1)
    params = load_params(default_params_path("cmos"))[0]
    for samples, epochs, message in ((31, 1, "at least 32 training inputs"),
                                     (32, 0, "at least one epoch")):
        with pytest.raises(InputError, match=message):
            tune_to_chip(task, model, params, chip, samples, tmp_path, seed=0, epochs=epochs)
    assert not chip.runs and np.isfinite(params.dc_gain)
    assert replace(params) == params
