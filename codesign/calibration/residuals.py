"""How well a parameter set predicts SPICE: equilibrium residuals, settling times, and the
spread of the equilibrium over Monte Carlo chip instances."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import torch

from codesign.calibration.data import ProbeData
from codesign.circuit.dynamics import SETTLE_TOL_FS
from codesign.proxy.crossbar import from_weights
from codesign.proxy.model import CircuitProxy
from codesign.proxy.params import ProxyParams
from codesign.results.calibration import MismatchCheck, Residuals, SettlingCheck
from codesign.simulator.traces import settling_time


def predict(params: ProxyParams, data: ProbeData, v_fs: float) -> np.ndarray:
    """The proxy's z* (K, n) for one probe."""
    return CircuitProxy(params, v_fs).predict(data.core, data.e)


def residual_stats(params: ProxyParams, data: list[ProbeData], v_fs: float) -> Residuals:
    """RMS and max |z_proxy - z_spice| [FS] over ``data``."""
    if not data:
        return Residuals(None, None, 0)
    diff = np.concatenate([(predict(params, d, v_fs) - d.z.numpy()).ravel() for d in data])
    return Residuals(float(np.sqrt(np.mean(diff**2))), float(np.abs(diff).max()), int(diff.size))


def proxy_settling_s(params: ProxyParams, data: ProbeData, v_fs: float,
                     tol_fs: float = SETTLE_TOL_FS,
                     points: int = 4000) -> np.ndarray:
    """(K,) the proxy's settling time to ``tol_fs`` from reset (max-norm, as SPICE's)."""
    proxy = CircuitProxy(params, v_fs)
    with torch.no_grad():
        _, z_eq = proxy.equilibrium(data.core, data.e)
        t_max = float(data.t.max()) * 2
        times = torch.linspace(0.0, t_max, points, dtype=torch.float64)
        z_t = proxy.trajectory(data.core, data.e, times.expand(len(data.e), -1))
        deviation = (z_t - z_eq[:, None]).abs().amax(-1).numpy()
    return np.array([settling_time(times.numpy(), dev, tol_fs) for dev in deviation])


def settling_stats(params: ProxyParams, data: list[ProbeData], v_fs: float) -> SettlingCheck:
    """Relative error of the proxy's settling time against SPICE's, over the tran probes."""
    if not data:
        return SettlingCheck(0)
    spice = np.concatenate([d.settling_s.numpy() for d in data])
    proxy = np.concatenate([proxy_settling_s(params, d, v_fs) for d in data])
    settled = np.isfinite(spice) & np.isfinite(proxy)
    rel = (proxy[settled] - spice[settled]) / spice[settled]
    if not settled.any():
        return SettlingCheck(0, int(len(spice)))
    return SettlingCheck(
        samples=int(len(rel)), unsettled=int((~settled).sum()),
        median_abs_rel_error=float(np.median(np.abs(rel))),
        max_abs_rel_error=float(np.abs(rel).max()),
        within_10pct=float(np.mean(np.abs(rel) <= 0.10)),
        spice_median_s=float(np.median(spice[settled])),
        proxy_median_s=float(np.median(proxy[settled])))


def mismatch_spread(params: ProxyParams, data: list[ProbeData], v_fs: float,
                    draws: int = 200, seed: int = 0
                    ) -> tuple[MismatchCheck | None, dict[str, np.ndarray]]:
    """Per-neuron standard deviation of z* across chip instances: SPICE (the Monte Carlo probes,
    grouped by core) against the proxy's own draws of the same mismatch (``draws`` chips from a
    seeded generator); and the per-neuron values {"spice_sd", "proxy_sd"} (None and {} without
    two instances of a core)."""
    by_core = defaultdict(list)
    for d in data:
        by_core[(d.probe.point, d.probe.n, d.probe.rho, d.probe.core_index)].append(d)
    spice_sd, proxy_sd = [], []
    generator = torch.Generator().manual_seed(seed)
    proxy = CircuitProxy(params, v_fs)
    for group in by_core.values():
        if len(group) < 2:
            continue
        k = min(len(d.z) for d in group)  # the held-out instance has more samples
        spice_sd.append(torch.stack([d.z[:k] for d in group]).std(0).numpy())
        probe = group[0].probe
        core, cfg = probe.core, probe.config
        W, U, b = (torch.from_numpy(a) for a in (core.W, core.U, core.b))
        with torch.no_grad():
            z = [proxy.equilibrium(from_weights(W, U, b, cfg.mapping, cfg.array, generator),
                                   group[0].e[:k])[1] for _ in range(draws)]
        proxy_sd.append(torch.stack(z).std(0).numpy())
    if not spice_sd:
        return None, {}
    s, p = np.concatenate([a.ravel() for a in spice_sd]), np.concatenate(
        [a.ravel() for a in proxy_sd])
    ratio = p / np.where(s > 0, s, math.nan)
    instances = len(next(iter(by_core.values())))
    # a standard deviation from I instances scatters by ~1/sqrt(2 (I - 1)) relative: even an
    # exact proxy matches that many neurons within 20 % only (normal approximation)
    sampling = 1.0 / math.sqrt(2 * (instances - 1))
    check = MismatchCheck(
        instances=instances, proxy_draws=draws, cores=len(spice_sd), neurons=int(s.size),
        spice_rms_sd_fs=float(np.sqrt(np.mean(s**2))),
        proxy_rms_sd_fs=float(np.sqrt(np.mean(p**2))),
        rms_sd_ratio=float(np.sqrt(np.mean(p**2) / np.mean(s**2))),
        median_ratio=float(np.nanmedian(ratio)),
        within_20pct=float(np.nanmean(np.abs(ratio - 1) <= 0.2)),
        within_20pct_if_exact=math.erf(0.2 / (sampling * math.sqrt(2))))
    return check, {"spice_sd": s, "proxy_sd": p}
