"""The proxy's circuit noise: the spread of a chip's equilibrium under its noise sources.

Around an equilibrium x* the neuron dynamics are linear: tau dx/dt = -x + c (W z + xi),
tau_out dz/dt = -z + D x, with D the activation's slope at x*, c each row's closed-loop gain
(1 / (1 + NG / A), 0 on a rail) and xi each row's noise current (codesign.circuit.noise) in FS,
xi = i_n / (G_f v_fs). White xi of one-sided PSD S makes z a stationary Gaussian whose
covariance P solves the Lyapunov equation A P + P A^T + B diag(S / 2) B^T = 0. The proxy's
``noise_excess`` scales S (fitted to SPICE: codesign.calibration.noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import solve_continuous_lyapunov

from codesign.circuit.config import CircuitConfig
from codesign.circuit.noise import row_noise_psd
from codesign.errors import InputError
from codesign.proxy.crossbar import EffectiveCore
from codesign.proxy.model import CircuitProxy, NeuronSpread


@dataclass(frozen=True)
class NoiseSources:
    """What sets a chip's noise besides its conductances."""

    amp_noise_v_rthz: float
    """Each summing amplifier's input noise density [V/sqrt(Hz)]."""
    temperature_k: float

    @staticmethod
    def of(config: CircuitConfig) -> NoiseSources:
        """The noise of circuits compiled with ``config`` (its noise must be enabled)."""
        noise = config.noise
        if not noise.enabled:
            raise InputError("the circuit config has no noise (CircuitConfig.noise.enabled)")
        return NoiseSources(noise.amp_density(config.neuron), noise.temperature_k)


def forcing_psd_fs(proxy: CircuitProxy, core: EffectiveCore, sources: NoiseSources
                   ) -> torch.Tensor:
    """(n,) one-sided PSD of each row's noise in FS units [FS^2/Hz], with the excess factor."""
    psd = row_noise_psd(core.g_total, sources.amp_noise_v_rthz, sources.temperature_k)
    return proxy.t["noise_excess"] * psd / (core.g_feedback * proxy.v_fs) ** 2


def _linearisation(proxy: CircuitProxy, core: EffectiveCore, e: torch.Tensor,
                   spread: NeuronSpread | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(K, n) activation slopes D at the equilibria and (K, n) closed-loop row gains c."""
    x, _ = proxy.equilibrium(core, e, spread)
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (slope,) = torch.autograd.grad(proxy.activation(x, spread).sum(), x)
    t = proxy.t
    inside = (x > t["rail_low_fs"]) & (x < t["rail_high_fs"])
    gain = 1.0 / (1.0 + core.noise_gain / t["dc_gain"])
    return slope.detach(), torch.where(inside, gain, torch.zeros_like(gain)).detach()


OUTPUT_POLE_MIN = 1e-6
"""An output pole faster than this fraction of tau filters nothing the neuron's own pole does
not: it is left out (the two-pole Lyapunov equation of such a pole is ill-conditioned, and a
fit can drive output_tau_s towards 0)."""


def _covariance(w: np.ndarray, slope: np.ndarray, gain: np.ndarray, psd: np.ndarray,
                tau_s: float, tau_out_s: float) -> np.ndarray:
    """(n, n) covariance of z for one input."""
    n = len(slope)
    feedback = gain[:, None] * w
    if tau_out_s <= OUTPUT_POLE_MIN * tau_s:
        a = (feedback * slope[None, :] - np.eye(n)) / tau_s
        b = np.diag(gain / tau_s)
        out = np.diag(slope)
    else:
        a = np.block([[-np.eye(n) / tau_s, feedback / tau_s],
                      [np.diag(slope) / tau_out_s, -np.eye(n) / tau_out_s]])
        b = np.vstack([np.diag(gain / tau_s), np.zeros((n, n))])
        out = np.hstack([np.zeros((n, n)), np.eye(n)])
    state = solve_continuous_lyapunov(a, -(b * (psd / 2)) @ b.T)
    return out @ state @ out.T


def equilibrium_covariance(proxy: CircuitProxy, core: EffectiveCore, e: torch.Tensor | np.ndarray,
                           sources: NoiseSources, spread: NeuronSpread | None = None
                           ) -> np.ndarray:
    """(K, n, n) covariance [FS^2] of the activations z around each input's equilibrium."""
    if core.W.dim() != 2:
        raise InputError("equilibrium_covariance takes one core, not a stack")
    e = torch.as_tensor(e, dtype=core.W.dtype)
    with torch.no_grad():
        slope, gain = _linearisation(proxy, core, e, spread)
        psd = forcing_psd_fs(proxy, core, sources).numpy()
    tau, tau_out = float(proxy.t["tau_s"]), float(proxy.t["output_tau_s"])
    w = core.W.detach().numpy()
    return np.stack([_covariance(w, s, g, psd, tau, tau_out)
                     for s, g in zip(slope.numpy(), gain.numpy(), strict=True)])


def equilibrium_std(proxy: CircuitProxy, core: EffectiveCore, e: torch.Tensor | np.ndarray,
                    sources: NoiseSources, spread: NeuronSpread | None = None) -> np.ndarray:
    """(K, n) standard deviation [FS] of each activation around each input's equilibrium."""
    cov = equilibrium_covariance(proxy, core, e, sources, spread)
    return np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))


def sample_noise(cov: np.ndarray, generator: np.random.Generator,
                 draws: int | None = None) -> np.ndarray:
    """(K, n) one draw of the activations' noise from covariances (K, n, n); or, from one
    covariance (1, n, n), ``draws`` independent draws."""
    k, n = cov.shape[:2]
    chol = np.linalg.cholesky(cov + 1e-30 * np.eye(n))
    if draws is not None and k == 1:
        return generator.standard_normal((draws, n)) @ chol[0].T
    return np.einsum("kij,kj->ki", chol, generator.standard_normal((k, n)))
