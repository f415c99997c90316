"""CircuitProxy: a differentiable model of a compiled core's equilibrium and settling.

The proxy is a function of the state for the DEQ solvers (which know nothing about hardware):
``proxy.function(core, e)`` returns x -> T(x), whose fixed point is the circuit's pre-activation
equilibrium x*, and z* = act(x*). Parameters live in torch tensors (``ProxyTensors``) so a fit
can move them; ``ProxyParams`` is their frozen, serialisable form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch

from codesign.deq.activations import get_activation
from codesign.deq.implicit import implicit_equilibrium
from codesign.deq.solvers import anderson
from codesign.proxy.crossbar import EffectiveCore
from codesign.proxy.params import ProxyParams

FLOAT_FIELDS = tuple(f.name for f in fields(ProxyParams) if f.type in ("float", float))


@dataclass
class NeuronSpread:
    """Per-neuron activation gain g_i and offset o_i [FS] of one chip instance, and where a chip
    instance was trimmed to its own SPICE equilibria (codesign.calibration.trim), its per-neuron
    output offsets p_i [FS] and output scales h_i."""

    gain: torch.Tensor
    offset: torch.Tensor
    output: torch.Tensor | None = None
    scale: torch.Tensor | None = None

    @staticmethod
    def nominal(n: int, dtype=torch.float64) -> NeuronSpread:
        return NeuronSpread(torch.ones(n, dtype=dtype), torch.zeros(n, dtype=dtype))

    @staticmethod
    def sample(params: ProxyParams, n: int, generator: torch.Generator | None,
               dtype=torch.float64) -> NeuronSpread:
        """Draw one instance's g_i, o_i from the parameter set's sigmas."""
        g = torch.randn(n, generator=generator, dtype=dtype) * params.neuron_gain_sigma
        o = torch.randn(n, generator=generator, dtype=dtype) * params.neuron_offset_sigma_fs
        return NeuronSpread(1.0 + g, o)


def _tensor(value: float, dtype) -> torch.Tensor:
    return torch.tensor(value, dtype=dtype)


class CircuitProxy:
    """The proxy of one parameter set, with its float fields as tensors (``self.t``)."""

    def __init__(self, params: ProxyParams, v_fs: float, dtype=torch.float64) -> None:
        self.params = params
        self.v_fs = v_fs
        self.phi = get_activation(params.activation)
        self.t = {name: _tensor(getattr(params, name), dtype) for name in FLOAT_FIELDS}

    def activation(self, x: torch.Tensor, spread: NeuronSpread | None = None) -> torch.Tensor:
        """z = amplitude * s(slope * g (x - offsets)) + output offset."""
        t = self.t
        u = x - t["input_offset_fs"]
        if spread is not None:
            u = (u - spread.offset) * spread.gain
        u = t["slope"] * u
        shape = self.phi(u)
        if self.params.activation == "tanh":
            shape = (1 - t["softness"]) * shape + t["softness"] * u / torch.sqrt(1 + u * u)
        if spread is not None and spread.scale is not None:
            shape = spread.scale * shape
        z = t["amplitude"] * shape + t["output_offset_fs"]
        return z if spread is None or spread.output is None else z + spread.output

    def summing(self, core: EffectiveCore, z: torch.Tensor, drive: torch.Tensor,
                x: torch.Tensor | None = None) -> torch.Tensor:
        """The op-amp output x for activations z and input drive (U e + b), clipped at rails;
        with the rows' sneak coupling (resistive column lines) the previous ``x`` enters it."""
        t = self.t
        ng = core.noise_gain.unsqueeze(-2)
        total = z @ core.W.transpose(-1, -2) + drive + ng * t["opamp_offset_v"] / self.v_fs
        if core.coupling is not None and x is not None:
            coupled = t["opamp_offset_v"] / self.v_fs - x / t["dc_gain"]
            total = total + coupled @ core.coupling.transpose(-1, -2)
        x = total / (1.0 + ng / t["dc_gain"])
        return torch.minimum(torch.maximum(x, t["rail_low_fs"]), t["rail_high_fs"])

    def function(self, core: EffectiveCore, e: torch.Tensor,
                 spread: NeuronSpread | None = None):
        """x -> T(x) for a batch of core inputs ``e`` (K, m): the circuit's DC map. A stack of
        C cores (W: (C, n, n), ...) takes e of shape (C, K, m)."""
        drive = e @ core.U.transpose(-1, -2) + core.b.unsqueeze(-2)

        def step(x: torch.Tensor) -> torch.Tensor:
            return self.summing(core, self.activation(x, spread), drive, x)

        return step

    def equilibrium(self, core: EffectiveCore, e: torch.Tensor,
                    spread: NeuronSpread | None = None, tol: float = 1e-10,
                    max_iter: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
        """(x*, z*) (K, n), differentiable in the parameters and the core (implicit diff)."""
        func = self.function(core, e, spread)
        x0 = torch.zeros(e.shape[:-1] + core.W.shape[-1:], dtype=core.W.dtype)
        kw = {"max_iter": max_iter, "tol": tol}
        x, _ = implicit_equilibrium(func, x0, anderson, anderson, kw, kw)
        return x, self.activation(x, spread)

    def time_step_s(self, steps_per_tau: int = 10) -> float:
        """The integration step [s]: the shorter time constant / ``steps_per_tau``, where an
        output pole shorter than tau / 10 counts as tau / 10 (exponential Euler stays stable
        and exact in the limit of a fast pole; resolving it finer buys nothing)."""
        tau, tau_out = float(self.t["tau_s"].detach()), float(self.t["output_tau_s"].detach())
        return min(tau, max(tau_out, tau / 10)) / steps_per_tau

    def grid_trajectory(self, core: EffectiveCore, e: torch.Tensor, t_max_s: float, dt_s: float,
                        spread: NeuronSpread | None = None) -> torch.Tensor:
        """z at t = k dt_s after the dead time, k = 0..ceil(t_max_s / dt_s) (shape (..., T, n)),
        from the reset x = 0, both poles by exponential Euler."""
        drive = e @ core.U.transpose(-1, -2) + core.b.unsqueeze(-2)
        a_x = 1.0 - torch.exp(-dt_s / self.t["tau_s"])
        tau_out = self.t["output_tau_s"]
        a_z = 1.0 - torch.exp(-dt_s / tau_out) if float(tau_out.detach()) > 0 else 1.0
        x = torch.zeros(e.shape[:-1] + core.W.shape[-1:], dtype=core.W.dtype)
        z = self.activation(x, spread)
        states = [z]
        for _ in range(max(1, math.ceil(t_max_s / dt_s))):
            x = x + a_x * (self.summing(core, z, drive) - x)
            z = z + a_z * (self.activation(x, spread) - z)
            states.append(z)
        return torch.stack(states, -2)

    def at_times(self, grid: torch.Tensor, times: torch.Tensor, dt_s: float) -> torch.Tensor:
        """z at ``times`` (..., P) [s] from a grid_trajectory, linear in between; differentiable
        in the delay."""
        count = grid.shape[-2] - 1
        pos = torch.clamp((times - self.t["delay_s"]) / dt_s, min=0.0, max=float(count))
        lo = torch.clamp(pos.detach().floor().long(), max=count - 1)
        frac = (pos - lo.to(pos.dtype))[..., None]
        n = grid.shape[-1]
        flat = grid.reshape(-1, count + 1, n)
        lo_flat = lo.reshape(flat.shape[0], -1, 1).expand(-1, -1, n)
        below = torch.gather(flat, 1, lo_flat).reshape(times.shape + (n,))
        above = torch.gather(flat, 1, lo_flat + 1).reshape(times.shape + (n,))
        return below * (1 - frac) + above * frac

    def predict(self, core: EffectiveCore, e: torch.Tensor | np.ndarray,
                spread: NeuronSpread | None = None) -> np.ndarray:
        """z* (K, n) as numpy, without gradients (for reports and verification)."""
        e = torch.as_tensor(e, dtype=core.W.dtype)
        with torch.no_grad():
            return self.equilibrium(core, e, spread)[1].numpy()

    def trajectory(self, core: EffectiveCore, e: torch.Tensor, times: torch.Tensor,
                   spread: NeuronSpread | None = None, steps_per_tau: int = 10) -> torch.Tensor:
        """z(t) (..., P, n) at ``times`` (..., P) [s] from the reset."""
        dt = self.time_step_s(steps_per_tau)
        grid = self.grid_trajectory(core, e, float(times.max()), dt, spread)
        return self.at_times(grid, times, dt)

    def to_params(self) -> ProxyParams:
        """The current tensor values as a frozen ProxyParams."""
        return self.params.replace(**{k: float(v.detach()) for k, v in self.t.items()})
