"""Checkpoints load with weights_only=True; bare cores come as plain .npz; bad files are refused
with one-line errors."""

import numpy as np
import pytest
import torch

from codesign.deq import CoreWeights, DEQConfig, HybridDEQ, random_core
from codesign.deq.checkpoint import (
    load_checkpoint,
    load_npz_core,
    load_source,
    save_checkpoint,
    save_npz_core,
)
from codesign.errors import CheckpointError, InputError, UnstableCoreError


class Payload:
    """An arbitrary object: unpickling it would run code."""

    def __reduce__(self):
        return (print, ("unpickled arbitrary code",))


def small_model() -> HybridDEQ:
    cfg = DEQConfig(in_features=6, core_inputs=3, core_size=4, out_features=2)
    return HybridDEQ(cfg, generator=torch.Generator().manual_seed(0))


def test_checkpoint_round_trip(tmp_path):
    model = small_model()
    path = save_checkpoint(tmp_path / "m.pt", model, "digits", {"test_accuracy": 0.5},
                           {"epochs": 1})
    ckpt = load_checkpoint(path)
    x = torch.randn(3, 6)
    torch.testing.assert_close(ckpt.model(x), model.eval()(x))
    assert ckpt.task == "digits" and ckpt.metrics["test_accuracy"] == 0.5
    assert ckpt.model.config == model.config


def test_checkpoint_with_pickled_objects_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "codesign-checkpoint", "x": Payload()}, path)
    with pytest.raises(CheckpointError, match="weights_only=True"):
        load_checkpoint(path)
    assert "unpickled arbitrary code" not in capsys.readouterr().out


def test_foreign_and_corrupt_files_are_refused(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save({"weight": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a codesign checkpoint"):
        load_checkpoint(foreign)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable"):
        load_checkpoint(corrupt)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_npz_core_round_trip_and_default_activation(tmp_path, rng):
    core = random_core(5, 3, 0.5, rng, activation="hardclip")
    loaded = load_npz_core(save_npz_core(tmp_path / "c.npz", core))
    assert loaded.activation == "hardclip" and loaded.sha256() == core.sha256()
    np.savez(tmp_path / "plain.npz", W=core.W, U=core.U, b=core.b)
    assert load_npz_core(tmp_path / "plain.npz").activation == "tanh"


def test_npz_problems_are_named(tmp_path, rng):
    core = random_core(4, 2, 0.5, rng)
    np.savez(tmp_path / "missing.npz", W=core.W, b=core.b)
    with pytest.raises(InputError, match=r"lacks arrays \['U'\]"):
        load_npz_core(tmp_path / "missing.npz")
    np.savez(tmp_path / "objects.npz", W=np.array([object()]), U=core.U, b=core.b)
    with pytest.raises(InputError, match="plain-array"):
        load_npz_core(tmp_path / "objects.npz")
    np.savez(tmp_path / "act.npz", W=core.W, U=core.U, b=core.b, activation=np.array("relu"))
    with pytest.raises(InputError, match="unknown activation 'relu'"):
        load_npz_core(tmp_path / "act.npz")


def test_core_weights_validation(rng):
    core = random_core(4, 2, 0.5, rng)
    bad = core.W.copy()
    bad[0, 1] = np.nan
    with pytest.raises(InputError, match="W has 1 NaN/inf"):
        CoreWeights(bad, core.U, core.b)
    with pytest.raises(InputError, match="U must be n x m with n=4"):
        CoreWeights(core.W, core.U[:3], core.b)
    with pytest.raises(InputError, match=r"b must have shape \(4,\)"):
        CoreWeights(core.W, core.U, core.b[:2])
    with pytest.raises(InputError, match=r"shape \(samples, 2\)"):
        core.check_inputs(np.zeros((3, 5)))


def test_non_contractive_core_needs_an_explicit_override(rng):
    core = random_core(6, 2, 1.2, rng, allow_unstable=True)
    with pytest.raises(UnstableCoreError, match="--allow-unstable"):
        core.check_contraction()
    core.check_contraction(allow_unstable=True)


def test_load_source_reads_checkpoints_and_npz(tmp_path, rng):
    model = small_model()
    path = save_checkpoint(tmp_path / "m.pt", model, "digits", {}, {})
    core, ckpt = load_source(path)
    assert ckpt is not None and core.n == 4 and core.m == 3
    assert core.spectral_norm <= model.config.gamma + 1e-9
    npz = save_npz_core(tmp_path / "c.npz", random_core(3, 2, 0.5, rng))
    core, ckpt = load_source(npz)
    assert ckpt is None and core.n == 3
