"""The CLI through click's CliRunner: the train -> export -> verify path, and bad input
(one-line errors, exit status 2, no traceback)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from codesign.cli import main
from codesign.deq import random_core
from codesign.deq.checkpoint import save_npz_core


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    run("train", "--task", "digits", "--epochs", "2", "--core-size", "8", "--core-inputs", "6",
        "--out", path)
    return path


def test_help_has_examples():
    for command in ("train", "export", "verify", "calibrate", "loop", "report"):
        assert "Example" in run(command, "--help").output


def test_train_export_verify(checkpoint, tmp_path):
    out = run("export", checkpoint, "--neuron", "opamp", "--out", tmp_path / "net").output
    assert "crossbar.cir" in out
    manifest = json.loads((tmp_path / "net" / "manifest.json").read_text())
    assert manifest["n"] == 8 and manifest["m"] == 6
    assert manifest["ngspice_version"] and len(manifest["weights_sha256"]) == 64
    assert manifest["circuit"]["neuron"]["opamp"]["dc_gain"] == 1e5
    assert (tmp_path / "net" / "codesign_amplifiers.lib").is_file()

    out = run("verify", checkpoint, "--samples", "12", "--neuron", "opamp", "--analysis", "tran",
              "--out", tmp_path / "v").output
    assert "accuracy on these samples" in out and "energy per inference" in out
    summary = json.loads((tmp_path / "v" / "summary.json").read_text())
    assert summary["samples"] == 12 and summary["model_error_fs"]["max"] < 1e-6
    assert summary["settling"]["within_bound"] is True
    table = pd.read_parquet(tmp_path / "v" / "equilibria.parquet")
    assert len(table) == 12 * 8
    assert {"sample", "neuron", "z_torch", "z_spice", "z_proxy", "error"} <= set(table.columns)
    assert (tmp_path / "v" / "transients.csv").is_file()
    # the shipped calibrated opamp parameters predict this (never fitted) core closely
    assert summary["proxy"]["matches_circuit"] and summary["proxy"]["library_current"]
    assert summary["proxy_error_fs"]["rms"] < 1e-3


def test_a_regression_checkpoint_is_verified_on_its_task_metric(tmp_path):
    ckpt = tmp_path / "physics.pt"
    out = run("train", "--task", "physics", "--epochs", "1", "--core-size", "6",
              "--core-inputs", "4", "--out", ckpt).output
    assert "relative L2 error" in out
    out = run("verify", ckpt, "--samples", "5", "--neuron", "opamp", "--out",
              tmp_path / "v").output
    assert "relative L2 error on these samples: digital" in out
    summary = json.loads((tmp_path / "v" / "summary.json").read_text())
    metric = summary["task_metric"]
    assert metric["name"] == "relative L2 error" and "accuracy" not in summary
    # the opamp circuit sits within 1e-4 FS of PyTorch, so the metrics agree closely
    assert metric["circuit"] == pytest.approx(metric["digital"], rel=1e-2)


def test_verify_transistor_neuron_with_mismatch_reports_the_proxy(checkpoint, tmp_path):
    out = run("verify", checkpoint, "--samples", "6", "--neuron", "transistor", "--mismatch",
              "0.05", "--levels", "32", "--line-ohm", "2", "--seed", "3",
              "--out", tmp_path / "v").output
    assert "calibrated proxy (transistor" in out
    summary = json.loads((tmp_path / "v" / "summary.json").read_text())
    array = summary["circuit"]["array"]
    assert {k: array[k] for k in ("levels", "mismatch_sigma", "line_ohm")} == {
        "levels": 32, "mismatch_sigma": 0.05, "line_ohm": 2.0}
    assert array["column_ohm"] == 0.0 and array["tile_rows"] == 0
    assert summary["proxy_error_fs"]["rms"] < 0.3 * summary["equilibrium_error_fs"]["rms"]


def test_verify_a_bare_core_with_given_inputs_on_the_shared_backend(tmp_path, rng):
    core_path = save_npz_core(tmp_path / "core.npz", random_core(6, 3, 0.6, rng))
    np.save(tmp_path / "e.npy", rng.uniform(-1, 1, (4, 3)))
    run("verify", core_path, "--inputs", tmp_path / "e.npy", "--neuron", "ideal",
        "--backend", "shared", "--table-format", "csv", "--out", tmp_path / "v")
    summary = json.loads((tmp_path / "v" / "summary.json").read_text())
    assert summary["samples"] == 4 and summary["equilibrium_error_fs"]["max"] < 1e-6
    assert len(pd.read_csv(tmp_path / "v" / "equilibria.csv")) == 24


def assert_one_line_error(result, *fragments: str):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


class Payload:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickled_objects_are_refused(tmp_path):
    torch.save({"format": "codesign-checkpoint", "x": Payload()}, tmp_path / "evil.pt")
    result = run("verify", tmp_path / "evil.pt", "--out", tmp_path / "v", ok=False)
    assert_one_line_error(result, "weights_only=True")
    assert "pwned" not in result.output


def test_nan_weights_shape_mismatch_and_bad_inputs(tmp_path, rng):
    core = random_core(4, 2, 0.5, rng)
    W = core.W.copy()
    W[1, 1] = np.inf
    np.savez(tmp_path / "nan.npz", W=W, U=core.U, b=core.b)
    assert_one_line_error(run("export", tmp_path / "nan.npz", "--out", tmp_path / "o", ok=False),
                          "NaN/inf", "W")
    np.savez(tmp_path / "shape.npz", W=core.W, U=core.U[:3], b=core.b)
    assert_one_line_error(run("export", tmp_path / "shape.npz", "--out", tmp_path / "o",
                              ok=False), "U must be n x m")
    good = save_npz_core(tmp_path / "good.npz", core)
    np.save(tmp_path / "e.npy", np.zeros((3, 5)))
    assert_one_line_error(run("verify", good, "--inputs", tmp_path / "e.npy", "--out",
                              tmp_path / "o", ok=False), "(samples, 2)")


def test_non_contractive_core_needs_allow_unstable(tmp_path, rng):
    path = save_npz_core(tmp_path / "big.npz", random_core(5, 2, 1.3, rng, allow_unstable=True))
    assert_one_line_error(run("verify", path, "--out", tmp_path / "v", ok=False),
                          "spectral norm", "--allow-unstable")
    run("export", path, "--allow-unstable", "--neuron", "ideal", "--out", tmp_path / "o")
    run("verify", path, "--allow-unstable", "--analysis", "tran", "--samples", "2", "--out",
        tmp_path / "v")
    summary = json.loads((tmp_path / "v" / "summary.json").read_text())
    assert summary["spectral_norm"] > 1 and summary["settling"]["within_bound"] is None


def test_bad_calibration_input(tmp_path, checkpoint):
    spec = tmp_path / "s.toml"
    spec.write_text("[circuit]\nneuron = 'opamp'\nwidth = 3\n")
    result = run("calibrate", "--spec", spec, "--out", tmp_path / "p.json", ok=False)
    assert_one_line_error(result, "unknown [circuit] setting 'width'", "dc_gain")
    (tmp_path / "p.json").write_text("{}")
    result = run("verify", checkpoint, "--samples", "2", "--proxy", tmp_path / "p.json",
                 "--out", tmp_path / "v", ok=False)
    assert_one_line_error(result, "not a codesign proxy parameter file")


def test_missing_ngspice_says_how_to_install(tmp_path, rng, monkeypatch):
    monkeypatch.setenv("CODESIGN_NGSPICE", str(tmp_path / "no-ngspice"))
    path = save_npz_core(tmp_path / "c.npz", random_core(3, 2, 0.5, rng))
    assert_one_line_error(run("verify", path, "--out", tmp_path / "v", ok=False),
                          "apt-get install ngspice")
