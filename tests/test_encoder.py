"""A HybridDEQ without a digital encoder (Encoder.NONE): the task's features go straight to the
DACs, each feature's training range on the DAC's full scale; no encoder weights, no digital
encoder MACs, checkpoints round-trip, and a wrong size is a one-line error. With a per-neuron
decoder (Decoder.PER_NEURON) each neuron is one output: one gain and offset per ADC code."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from codesign.calibration.readout import fit_decoder
from codesign.cli import main
from codesign.deq import DEQConfig, HybridDEQ
from codesign.deq.checkpoint import load_checkpoint, save_checkpoint
from codesign.deq.model import Decoder, Encoder
from codesign.errors import InputError
from codesign.tasks import get_task
from codesign.training.baselines import deq_parameter_count, parameter_count


def _model(encoder: str = "none") -> HybridDEQ:
    cfg = DEQConfig(in_features=5, core_inputs=5 if encoder == "none" else 3, core_size=4,
                    out_features=2, encoder=encoder)
    return HybridDEQ(cfg, generator=torch.Generator().manual_seed(0))


def test_features_reach_the_dacs_on_their_training_range():
    model = _model()
    x = torch.tensor([[0.0, 2.0, -1.0, 7.0, 3.0],
                      [4.0, 6.0, -1.0, 9.0, 3.0],
                      [2.0, 4.0, -1.0, 8.0, 3.0]])
    model.set_standardisation(x)
    e = model.encode(x)
    # each feature's minimum -> -1, maximum -> +1, midpoint -> 0; a constant feature reads 0
    torch.testing.assert_close(e[0], torch.tensor([-1.0, -1.0, 0.0, -1.0, 0.0]))
    torch.testing.assert_close(e[1], torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0]))
    torch.testing.assert_close(e[2], torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0]))
    # beyond the training range the DAC clips at its full scale
    outside = model.encode(torch.tensor([[8.0, -10.0, -1.0, 8.5, 3.0]]))
    torch.testing.assert_close(outside, torch.tensor([[1.0, -1.0, 0.0, 0.5, 0.0]]))


def test_no_encoder_means_no_encoder_weights_or_macs():
    model, digital = _model(), _model("linear-tanh")
    assert model.encoder is None and model.config.encoder is Encoder.NONE
    assert model.digital_macs == 2 * 4
    assert digital.digital_macs == 3 * 5 + 2 * 4
    for m in (model, digital):
        assert deq_parameter_count(m.config) == parameter_count(m)


def test_a_model_without_encoder_round_trips(tmp_path):
    model = _model()
    model.set_standardisation(torch.randn(20, 5, generator=torch.Generator().manual_seed(1)))
    path = save_checkpoint(tmp_path / "m.pt", model, "digits", {}, {})
    loaded = load_checkpoint(path).model
    assert loaded.config == model.config and loaded.encoder is None
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(loaded(x), model.eval()(x))


def test_a_core_narrower_than_the_features_is_refused():
    with pytest.raises(InputError, match="core_inputs = in_features"):
        DEQConfig(in_features=64, core_inputs=48, encoder="none")
    with pytest.raises(InputError, match="unknown encoder"):
        DEQConfig(encoder="conv")


def test_the_cli_trains_without_encoder_and_names_a_conflicting_width(tmp_path):
    out = tmp_path / "m.pt"
    result = CliRunner().invoke(main, ["train", "--task", "digits", "--epochs", "1",
                                       "--core-size", "8", "--encoder", "none", "--out",
                                       str(out)])
    assert result.exit_code == 0, result.output
    model = load_checkpoint(out).model
    assert model.encoder is None and model.config.core_inputs == 64
    assert np.all(np.abs(model.encode(torch.zeros(1, 64)).numpy()) <= 1)
    bad = CliRunner().invoke(main, ["train", "--task", "digits", "--encoder", "none",
                                    "--core-inputs", "48", "--out", str(tmp_path / "b.pt")])
    assert bad.exit_code == 2 and "leave --core-inputs out" in bad.output
    assert "Traceback" not in bad.output


def _per_neuron() -> HybridDEQ:
    cfg = DEQConfig(in_features=5, core_inputs=5, core_size=4, out_features=4, encoder="none",
                    decoder="per-neuron")
    return HybridDEQ(cfg, generator=torch.Generator().manual_seed(0))


def test_a_per_neuron_decoder_reads_each_neuron_as_one_output(tmp_path):
    model = _per_neuron()
    assert model.config.decoder is Decoder.PER_NEURON
    with torch.no_grad():
        model.decoder.weight.copy_(torch.tensor([1.0, 2.0, -1.0, 0.5]))
        model.decoder.bias.copy_(torch.tensor([0.0, 1.0, 0.0, -1.0]))
    z = torch.tensor([[0.5, -0.5, 0.25, 1.0]])
    torch.testing.assert_close(model.decode(z), torch.tensor([[0.5, 0.0, -0.25, -0.5]]))
    assert model.digital_macs == 4
    assert deq_parameter_count(model.config) == parameter_count(model)
    path = save_checkpoint(tmp_path / "p.pt", model, "physics", {}, {})
    loaded = load_checkpoint(path).model
    torch.testing.assert_close(loaded.decode(z), model.decode(z))
    with pytest.raises(InputError, match="core_size = out_features"):
        DEQConfig(in_features=5, core_inputs=5, core_size=4, out_features=3, decoder="per-neuron")


def test_a_per_neuron_readout_fit_recovers_each_gain_and_offset():
    task = get_task("physics")
    model = _per_neuron()
    rng = np.random.default_rng(3)
    a, c = rng.uniform(0.5, 2, size=4), rng.normal(size=4)
    z = rng.uniform(-1, 1, size=(64, 4))
    w, b, ridge, trained, fitted = fit_decoder(task, model, z, z * a + c)
    assert ridge == 0.0 and fitted < 1e-8 * trained
    np.testing.assert_allclose(w, a, atol=1e-5)
    np.testing.assert_allclose(b, c, atol=1e-5)
