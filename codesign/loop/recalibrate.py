"""Calibration on the loop's own traces: the proxy's static parameters re-fitted to the SPICE
equilibria of the trained model's circuit (which drives neurons into saturation and onto the
rails more than random probe cores do). Even samples are fitted, odd ones judge the fit."""

from __future__ import annotations

import math

import numpy as np
import torch

from codesign.calibration.data import ProbeData
from codesign.calibration.fit import fit_static
from codesign.calibration.spec import FitSpec
from codesign.errors import InputError
from codesign.proxy.crossbar import from_circuit
from codesign.proxy.model import CircuitProxy
from codesign.proxy.params import ProxyParams


def _data(core, e: np.ndarray, z: np.ndarray, x: np.ndarray) -> ProbeData:
    return ProbeData(None, core, torch.from_numpy(e), torch.from_numpy(z), torch.from_numpy(x))


def _rms(params: ProxyParams, core, v_fs: float, e: np.ndarray, z: np.ndarray) -> float:
    pred = CircuitProxy(params, v_fs).predict(core, e)
    return float(np.sqrt(np.mean((pred - z) ** 2)))


def recalibrate(params: ProxyParams, circuit, e: np.ndarray, z: np.ndarray, x: np.ndarray,
                fit: FitSpec | None = None,
                max_samples: int = 256) -> tuple[ProxyParams, dict]:
    """Re-fit ``params`` to the SPICE equilibria (z, x) of ``circuit`` on inputs ``e``;
    (new params, residuals [FS RMS] of old and new on the held-out odd samples)."""
    fit = fit or FitSpec(lbfgs_steps=60)
    core = from_circuit(circuit)
    fit_idx = np.arange(0, len(e), 2)[:max_samples]
    test_idx = np.arange(1, len(e), 2)[:max_samples]
    try:
        new, losses = fit_static(params, [_data(core, e[fit_idx], z[fit_idx], x[fit_idx])],
                                 circuit.v_fs, fit)
    except InputError:  # the fit left the valid range (a parameter driven to 0)
        new, losses = params, [math.nan]
    before = _rms(params, core, circuit.v_fs, e[test_idx], z[test_idx])
    after = _rms(new, core, circuit.v_fs, e[test_idx], z[test_idx])
    if not math.isfinite(after) or after > before:
        new, after = params, before  # a fit that does not generalise is not adopted
    return new, {"residual_before_fs": before, "residual_after_fs": after,
                 "fit_samples": int(len(fit_idx)), "test_samples": int(len(test_idx)),
                 "loss_first": losses[0], "loss_last": losses[-1]}
