"""Fitting the proxy's parameters to SPICE by gradient descent.

Static fit: the equilibria (z and x of every fit probe) by Adam, then L-BFGS, through the
proxy's implicit-differentiated fixed point. Dynamic fit: tau and the dead time, by Adam, to
the transients from reset, compared as log-distance to equilibrium over time.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

import torch

from codesign.calibration.data import ProbeData
from codesign.calibration.spec import FitSpec
from codesign.proxy.crossbar import stack
from codesign.proxy.model import CircuitProxy
from codesign.proxy.params import ProxyParams

STEPS_PER_TAU = 8
POSITIVE = ("amplitude", "slope", "dc_gain", "tau_s", "output_tau_s")


def static_names(params: ProxyParams) -> list[str]:
    """The parameters the equilibrium fit moves."""
    names = ["amplitude", "slope", "input_offset_fs", "output_offset_fs", "dc_gain"]
    if params.activation == "tanh":
        names.append("softness")
    if math.isfinite(params.rail_high_fs):
        names += ["rail_high_fs", "rail_low_fs"]
    return names


class Reparam:
    """Tensors theta <-> parameter values: positive ones as nominal * exp(theta), softness
    clipped to [0, 1] (it starts at the nominal 0 and can stay there exactly), the delay as
    1 ns * exp(theta), the rest as themselves."""

    def __init__(self, params: ProxyParams, names: list[str]) -> None:
        self.nominal = params
        self.theta = {name: torch.tensor(self._inverse(name, getattr(params, name)),
                                         dtype=torch.float64, requires_grad=True)
                      for name in names}

    def _inverse(self, name: str, value: float) -> float:
        if name in POSITIVE:
            return 0.0
        if name == "delay_s":
            return math.log(max(value, 1e-12) / 1e-9)
        return value

    def value(self, name: str) -> torch.Tensor:
        theta = self.theta[name]
        if name in POSITIVE:
            return getattr(self.nominal, name) * torch.exp(theta)
        if name == "softness":
            return theta.clamp(0.0, 1.0)
        if name == "delay_s":
            return 1e-9 * torch.exp(theta)
        return theta

    def apply(self, proxy: CircuitProxy) -> None:
        for name in self.theta:
            proxy.t[name] = self.value(name)


def _groups(data: list[ProbeData], names: tuple[str, ...]) -> list[tuple]:
    """Probes whose arrays ``names`` have the same shapes, stacked: (core, e, *arrays)."""
    by_shape: dict[tuple, list[ProbeData]] = defaultdict(list)
    for d in data:
        by_shape[tuple(getattr(d, names[0]).shape)].append(d)
    return [(stack([d.core for d in ds]), torch.stack([d.e for d in ds]),
             *(torch.stack([getattr(d, name) for d in ds]) for name in names))
            for ds in by_shape.values()]


def _optimise(theta: list[torch.Tensor], loss_fn: Callable[[], torch.Tensor], spec: FitSpec,
              adam_steps: int) -> list[float]:
    with torch.no_grad():
        history = [float(loss_fn())]
    adam = torch.optim.Adam(theta, lr=spec.lr)
    for _ in range(adam_steps):
        adam.zero_grad()
        loss = loss_fn()
        loss.backward()
        adam.step()
        history.append(float(loss.detach()))
    if spec.lbfgs_steps:
        lbfgs = torch.optim.LBFGS(theta, lr=1.0, max_iter=spec.lbfgs_steps,
                                  line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            lbfgs.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        lbfgs.step(closure)
        history.append(float(loss_fn().detach()))
    return history


def fit_static(start: ProxyParams, data: list[ProbeData], v_fs: float,
               spec: FitSpec) -> tuple[ProxyParams, list[float]]:
    """Fit the equilibrium parameters to the op probes ``data``; (params, loss history)."""
    proxy = CircuitProxy(start, v_fs)
    reparam = Reparam(start, static_names(start))
    groups = _groups(data, ("z", "x"))

    def loss_fn() -> torch.Tensor:
        reparam.apply(proxy)
        total = 0.0
        for core, e, z, x in groups:
            x_p, z_p = proxy.equilibrium(core, e)
            total = total + ((z_p - z) ** 2).mean() + ((x_p - x) ** 2).mean()
        return total / len(groups)

    history = _optimise(list(reparam.theta.values()), loss_fn, spec, spec.adam_steps)
    reparam.apply(proxy)
    return proxy.to_params(), history


def _log_distance(z: torch.Tensor, z_final: torch.Tensor, floor: float) -> torch.Tensor:
    return torch.log(((z - z_final[..., None, :]) ** 2).mean(-1).sqrt() + floor)


def fit_dynamics(start: ProxyParams, data: list[ProbeData], v_fs: float, spec: FitSpec,
                 floor: float = 1e-5) -> tuple[ProxyParams, list[float]]:
    """Fit tau, the output pole and the dead time to the transients of the tran probes: the
    log-distance to equilibrium over time, proxy against SPICE."""
    start = start.replace(delay_s=max(start.delay_s, 1e-9),
                          output_tau_s=max(start.output_tau_s, 0.5 * start.tau_s))
    proxy = CircuitProxy(start, v_fs)
    reparam = Reparam(start, ["tau_s", "output_tau_s", "delay_s"])
    dt = proxy.time_step_s(STEPS_PER_TAU)
    groups = []
    with torch.no_grad():
        for core, e, zt, t in _groups(data, ("zt", "t")):
            _, z_eq = proxy.equilibrium(core, e)
            target = _log_distance(zt, zt[..., -1, :], floor)
            mask = (target > math.log(2 * floor)) & (t > 0)
            t_end = float(t[mask].max()) if mask.any() else float(t.max())
            groups.append((core, e, t, z_eq, target, mask, t_end))

    def loss_fn() -> torch.Tensor:
        reparam.apply(proxy)
        total = 0.0
        for core, e, t, z_eq, target, mask, t_end in groups:
            grid = proxy.grid_trajectory(core, e, t_end, dt)
            z_t = proxy.at_times(grid, t, dt)
            total = total + ((_log_distance(z_t, z_eq, floor) - target)[mask] ** 2).mean()
        return total / len(groups)

    fit = FitSpec(adam_steps=spec.tran_steps, lr=0.05, lbfgs_steps=spec.tran_lbfgs_steps)
    history = _optimise(list(reparam.theta.values()), loss_fn, fit, spec.tran_steps)
    reparam.apply(proxy)
    return proxy.to_params(), history
