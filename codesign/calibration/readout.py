"""A chip instance's digital readout fitted to its own SPICE states: the decoder re-trained on
the ADC codes the fabricated chip gives for some training inputs, the way a measured analog
chip's last layer is calibrated once after fabrication (chip-in-the-loop readout training).

The process's device mismatch moves every neuron's equilibrium its own way (the OTAs' and
pairs' offsets, the drivers', the cells' conductances); the decoder, digital and exact, can
absorb what of it is affine per neuron. Only the decoder changes: the analog core, its
conductances and its encoder are the chip as it was built, so nothing is re-programmed.

The fit minimises the task's own training loss on the chip's states (ADC codes, with one draw
of the circuit noise per state) plus a ridge pulling the weights towards the trained decoder;
the ridge's strength is chosen on a quarter of the inputs held back, then the decoder is fitted
on all of them. A fit that does not lower the held-back loss keeps the trained decoder.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from codesign.calibration.noise import noisy_states
from codesign.chip.chip import Chip
from codesign.deq.model import HybridDEQ
from codesign.errors import InputError
from codesign.proxy.params import ProxyParams
from codesign.training.train import encode

RIDGES = (0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
"""Candidate ridge strengths (per weight, relative to the task loss)."""

MIN_SAMPLES = 8


@dataclass(frozen=True)
class ReadoutFit:
    """The decoder fitted to a chip instance's states, and how the fit did."""

    weight: tuple
    """The decoder's weights: (out_features, n) rows, or (n,) gains of a per-neuron one."""
    bias: tuple[float, ...]
    samples: int
    """Training inputs whose SPICE states the decoder was fitted on."""
    ridge: float
    """The chosen ridge strength (inf: the trained decoder kept)."""
    loss_trained: float
    """Task loss of the trained decoder on the held-back quarter."""
    loss_fitted: float
    """Task loss of the decoder fitted on the other three quarters, on the held-back quarter."""

    @property
    def kept(self) -> bool:
        """True when the fit did not beat the trained decoder (its weights are the trained)."""
        return not np.isfinite(self.ridge)

    def apply(self, model: HybridDEQ) -> HybridDEQ:
        """A copy of ``model`` with this decoder (the encoder and core unchanged)."""
        out = copy.deepcopy(model)
        with torch.no_grad():
            out.decoder.weight.copy_(torch.tensor(self.weight, dtype=out.decoder.weight.dtype))
            out.decoder.bias.copy_(torch.tensor(self.bias, dtype=out.decoder.bias.dtype))
        return out

    def summary(self) -> dict:
        return {"samples": self.samples, "ridge": self.ridge if not self.kept else "kept",
                "loss_trained": self.loss_trained, "loss_fitted": self.loss_fitted}


def chip_states(model: HybridDEQ, chip: Chip, params: ProxyParams, x: np.ndarray,
                run_dir: Path, rng: np.random.Generator) -> np.ndarray:
    """The ADC codes [FS] of ``chip`` for task inputs ``x``: SPICE operating points through the
    DACs, one draw of the circuit noise around each (seeded), the ADCs."""
    e = chip.dac(encode(model, x))
    z = chip.operating_points(e, run_dir).z
    return chip.adc(noisy_states(chip, params, e, z, rng)[0])


def _outputs(decoder, w: torch.Tensor, b: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The decoder's outputs for states z with weight w and bias b (any decoder of HybridDEQ:
    a linear layer or one gain and offset per neuron)."""
    return torch.func.functional_call(decoder, {"weight": w, "bias": b}, (z,))


def _fit(loss, decoder, z: torch.Tensor, y: torch.Tensor, w0: torch.Tensor, b0: torch.Tensor,
         ridge: float, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    w, b = w0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([w, b], lr=1.0, max_iter=steps,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = loss(_outputs(decoder, w, b, z), y) + ridge * torch.mean((w - w0) ** 2)
        value.backward()
        return value

    optimizer.step(closure)
    return w.detach(), b.detach()


def fit_decoder(task, model: HybridDEQ, z: np.ndarray, y: np.ndarray,
                steps: int = 200) -> tuple[tuple, tuple, float, float, float]:
    """(weight, bias, ridge, held-back loss of the trained decoder, of the fitted one) of the
    decoder fitted to states ``z`` (K, n) [FS] with targets ``y``: the ridge chosen on the last
    quarter, the weights then fitted on all K. ridge is inf where the trained decoder is kept."""
    k = len(z)
    if k < MIN_SAMPLES:
        raise InputError(f"a readout fit needs at least {MIN_SAMPLES} inputs, got {k}: "
                         "pass more --readout samples")
    loss = task.loss(task.profile.train)
    zt = torch.as_tensor(np.asarray(z), dtype=torch.float64)
    yt = torch.as_tensor(np.asarray(y))
    yt = yt.double() if yt.is_floating_point() else yt.long()
    w0 = model.decoder.weight.detach().double()
    b0 = model.decoder.bias.detach().double()
    cut = k - max(k // 4, 1)

    decoder = model.decoder

    def held_back(w: torch.Tensor, b: torch.Tensor) -> float:
        with torch.no_grad():
            return float(loss(_outputs(decoder, w, b, zt[cut:]), yt[cut:]))

    trained = held_back(w0, b0)
    scores = {r: held_back(*_fit(loss, decoder, zt[:cut], yt[:cut], w0, b0, r, steps))
              for r in RIDGES}
    finite = {r: v for r, v in scores.items() if np.isfinite(v)}
    ridge = min(finite, key=lambda r: (finite[r], -r)) if finite else None
    if ridge is None or finite[ridge] >= trained:
        return _nested(w0), tuple(b0.tolist()), float("inf"), trained, trained
    w, b = _fit(loss, decoder, zt, yt, w0, b0, ridge, steps)
    return _nested(w), tuple(b.tolist()), ridge, trained, scores[ridge]


def _nested(w: torch.Tensor) -> tuple:
    """A weight tensor as nested tuples (a matrix's rows, or a vector)."""
    return tuple(map(tuple, w.tolist())) if w.dim() == 2 else tuple(w.tolist())


def fit_readout(task, model: HybridDEQ, chip: Chip, params: ProxyParams, samples: int,
                run_dir: Path, seed: int, steps: int = 200) -> ReadoutFit:
    """The decoder of ``model`` fitted to ``chip``'s SPICE states of ``samples`` training
    inputs (chosen with ``seed``; the test set is never seen)."""
    if samples < MIN_SAMPLES:
        raise InputError(f"a readout fit needs at least {MIN_SAMPLES} inputs, got {samples}")
    rng = np.random.default_rng([seed, 31])
    count = min(samples, len(task.x_train))
    pick = np.sort(rng.choice(len(task.x_train), count, replace=False))
    order = rng.permutation(count)  # the held-back quarter is a random one
    z = chip_states(model, chip, params, task.x_train[pick], Path(run_dir), rng)
    w, b, ridge, trained, fitted = fit_decoder(task, model, z[order], task.y_train[pick][order],
                                               steps)
    return ReadoutFit(w, b, count, ridge, trained, fitted)
