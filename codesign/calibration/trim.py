"""A chip instance trimmed to its own SPICE equilibria: per-neuron activation gain g_i, input
offset o_i, output offset p_i and output scale h_i (a NeuronSpread) fitted on top of the proxy's
parameters, the way a measured chip is calibrated once after fabrication. The process's device
mismatch (the OTAs' and pairs' offsets, the drivers' offsets, the cells' conductances) moves each
neuron its own way; a parameter set shared by every neuron cannot follow it, four numbers per
neuron can. Fitted on some inputs' operating points, judged on others'."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from codesign.chip.chip import Chip
from codesign.proxy.model import CircuitProxy, NeuronSpread
from codesign.proxy.params import ProxyParams


@dataclass(frozen=True)
class Trim:
    """A chip instance's per-neuron terms [FS], and how the fit did (RMS [FS])."""

    gain: tuple[float, ...]
    offset: tuple[float, ...]
    output: tuple[float, ...]
    scale: tuple[float, ...]
    rms_before: float
    rms_after: float
    fitted: int
    judged: int

    def spread(self, dtype=torch.float64) -> NeuronSpread:
        return NeuronSpread(*(torch.tensor(v, dtype=dtype) for v in
                              (self.gain, self.offset, self.output, self.scale)))


def _rms(proxy: CircuitProxy, chip: Chip, e: np.ndarray, z: np.ndarray,
         spread: NeuronSpread | None) -> float:
    return float(np.sqrt(np.mean((proxy.predict(chip.effective, chip.inputs(e), spread)
                                  - z) ** 2)))


def fit_trim(params: ProxyParams, chip: Chip, e_fit: np.ndarray, z_fit: np.ndarray,
             e_test: np.ndarray, z_test: np.ndarray, steps: int = 60) -> Trim:
    """Per-neuron (g, o, p, h) minimising the squared error of the proxy's equilibria to the SPICE
    ones z_fit on inputs e_fit [FS] (L-BFGS through the implicit gradient); the RMS judged on
    (e_test, z_test). A fit that does not lower the held-out RMS keeps the nominal terms."""
    proxy = CircuitProxy(params, chip.v_fs)
    n = chip.n
    raw = torch.zeros(4, n, dtype=torch.float64, requires_grad=True)
    core = chip.effective
    e = torch.as_tensor(chip.inputs(e_fit), dtype=torch.float64)
    target = torch.as_tensor(z_fit, dtype=torch.float64)

    def spread_of(values: torch.Tensor) -> NeuronSpread:
        return NeuronSpread(1.0 + values[0], values[1], values[2], 1.0 + values[3])

    optimizer = torch.optim.LBFGS([raw], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.mean((proxy.equilibrium(core, e, spread_of(raw))[1] - target) ** 2)
        loss.backward()
        return loss

    optimizer.step(closure)
    nominal = NeuronSpread.nominal(n)
    before = _rms(proxy, chip, e_test, z_test, nominal)
    values = raw.detach()
    after = _rms(proxy, chip, e_test, z_test, spread_of(values))
    if not math.isfinite(after) or after > before:
        values, after = torch.zeros_like(values), before
    return Trim(tuple((1.0 + values[0]).tolist()), tuple(values[1].tolist()),
                tuple(values[2].tolist()), tuple((1.0 + values[3]).tolist()), before, after,
                len(e_fit), len(e_test))
