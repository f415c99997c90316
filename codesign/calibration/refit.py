"""Calibration on a chip's own traces: the proxy's static parameters re-fitted to the SPICE
equilibria of a trained model's circuit (which drives neurons into saturation and onto the
rails more than random probe cores do). Even samples are fitted, odd ones judge the fit."""

from __future__ import annotations

import math

import numpy as np
import torch

from codesign.calibration.data import ProbeData
from codesign.calibration.fit import fit_static
from codesign.calibration.spec import FitSpec
from codesign.chip.chip import Chip
from codesign.errors import InputError
from codesign.proxy.params import ProxyParams
from codesign.results.calibration import RefitResult


def _rms(params: ProxyParams, chip: Chip, e: np.ndarray, z: np.ndarray) -> float:
    return float(np.sqrt(np.mean((chip.proxy_equilibrium(params, e) - z) ** 2)))


def refit(params: ProxyParams, chip: Chip, e: np.ndarray, z: np.ndarray, x: np.ndarray,
          fit: FitSpec | None = None,
          max_samples: int = 256) -> tuple[ProxyParams, RefitResult]:
    """Re-fit ``params`` to the SPICE equilibria (z, x) of ``chip`` on inputs ``e``; a fit that
    does not lower the held-out residual is not adopted."""
    fit = fit or FitSpec(lbfgs_steps=60)
    fit_idx = np.arange(0, len(e), 2)[:max_samples]
    test_idx = np.arange(1, len(e), 2)[:max_samples]
    data = ProbeData(None, chip.effective, torch.from_numpy(e[fit_idx]),
                     torch.from_numpy(z[fit_idx]), torch.from_numpy(x[fit_idx]))
    try:
        new, losses = fit_static(params, [data], chip.v_fs, fit)
    except InputError:  # the fit left the valid range (a parameter driven to 0)
        new, losses = params, [math.nan]
    before = _rms(params, chip, e[test_idx], z[test_idx])
    after = _rms(new, chip, e[test_idx], z[test_idx])
    if not math.isfinite(after) or after > before:
        new, after = params, before
    return new, RefitResult(before, after, int(len(fit_idx)), int(len(test_idx)), losses[0],
                            losses[-1])
