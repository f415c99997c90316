"""Traces of finished probe jobs, as the tensors the fit and the evaluation use."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from codesign.calibration.probes import Probe
from codesign.proxy.crossbar import EffectiveCore


@dataclass(frozen=True, eq=False)
class ProbeData:
    """One probe's circuit (as an EffectiveCore), inputs and SPICE results, in FS units."""

    probe: Probe
    core: EffectiveCore
    e: torch.Tensor
    """(K, m) core inputs."""
    z: torch.Tensor
    """(K, n) SPICE equilibrium activations."""
    x: torch.Tensor
    """(K, n) SPICE equilibrium pre-activations (op-amp outputs)."""
    t: torch.Tensor | None = None
    """(K, P) transient time points [s] (tran probes)."""
    zt: torch.Tensor | None = None
    """(K, P, n) activations along the transient from reset."""
    settling_s: torch.Tensor | None = None
    """(K,) SPICE settling time to SETTLE_TOL_FS [s]."""


def load_probe(probe: Probe, arrays: dict) -> ProbeData:
    """A probe's stored arrays as tensors beside its chip instance."""
    arrays = {k: torch.from_numpy(v) for k, v in arrays.items()}
    e = torch.from_numpy(probe.inputs)
    return ProbeData(probe, probe.chip.effective, e, arrays["z"], arrays["x"],
                     arrays.get("t"), arrays.get("zt"), arrays.get("settling_s"))
