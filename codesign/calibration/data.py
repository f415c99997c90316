"""Traces of finished probe jobs, as the tensors the fit and the evaluation use."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from codesign.calibration.probes import Probe
from codesign.netlist.deck import Analysis
from codesign.proxy.crossbar import EffectiveCore
from codesign.results.calibration import Role


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


def load_probe(probe: Probe, arrays: dict[str, np.ndarray]) -> ProbeData:
    """A probe's stored samples (stacked: codesign.simulator.batch.job_arrays) as tensors
    beside its chip instance."""
    tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
    settling = tensors["transient"][:, 0] if "transient" in tensors else None
    return ProbeData(probe, probe.chip.effective, torch.from_numpy(probe.inputs), tensors["z"],
                     tensors["x"], tensors.get("t"), tensors.get("zt"), settling)


@dataclass
class ProbeSets:
    """A grid point's finished probes by use: fitted or held out, operating points or
    transients, and the Monte Carlo instances."""

    fit: list[ProbeData] = field(default_factory=list)
    fit_tran: list[ProbeData] = field(default_factory=list)
    holdout: list[ProbeData] = field(default_factory=list)
    holdout_tran: list[ProbeData] = field(default_factory=list)
    mc: list[ProbeData] = field(default_factory=list)

    def add(self, data: ProbeData) -> None:
        probe = data.probe
        if probe.role == Role.MC:
            self.mc.append(data)
        elif probe.role == Role.FIT:
            (self.fit_tran if probe.analysis == Analysis.TRAN else self.fit).append(data)
        else:
            (self.holdout_tran if probe.analysis == Analysis.TRAN else self.holdout).append(data)
