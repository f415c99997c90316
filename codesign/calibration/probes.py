"""Probe stimuli: the random cores, inputs and chip instances simulated at each grid point, each
as a SPICE job whose samples the result store keys by the content hash of the deck and their
settings (codesign.simulator.store)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from codesign.calibration.spec import CalibrationSpec, build_point, has_mismatch
from codesign.chip.chip import Chip
from codesign.circuit.config import CircuitConfig
from codesign.circuit.dynamics import SETTLE_TOL_FS, transient_stops_s
from codesign.deq.weights import CoreWeights, random_core
from codesign.netlist.deck import Analysis, SampleJob, make_jobs
from codesign.results.calibration import Role
from codesign.simulator.batch import SpiceJob
from codesign.simulator.store import TRACE_POINTS


@dataclass(frozen=True)
class Probe:
    """One SPICE job: a random core (n, rho, index) at grid point ``point``, one chip instance,
    ``samples`` seeded inputs; analysis op, or tran for the first ``transients`` of them."""

    point: int
    settings: tuple[tuple[str, object], ...]
    n: int
    rho: float
    core_index: int
    role: Role
    instance: int
    samples: int
    analysis: Analysis
    seed: int
    klu: bool = False
    """Whether the deck asks for KLU (the ngspice that runs it has it)."""

    @property
    def m(self) -> int:
        return max(1, self.n // 2)

    def _seed(self, *extra: int) -> list[int]:
        return [self.seed, self.n, int(self.rho * 1000), self.core_index, *extra]

    @cached_property
    def config(self) -> CircuitConfig:
        return build_point(dict(self.settings))

    @cached_property
    def core(self) -> CoreWeights:
        return random_core(self.n, self.m, self.rho, np.random.default_rng(self._seed()))

    @cached_property
    def inputs(self) -> np.ndarray:
        return np.random.default_rng(self._seed(1)).uniform(-1.0, 1.0, (self.samples, self.m))

    @cached_property
    def chip(self) -> Chip:
        """This probe's chip instance (its mismatch seeded by the core and the instance)."""
        return Chip(self.core, self.config, self._seed(2, self.instance), klu=self.klu,
                    title=f"codesign calibration probe {self.role}")

    def jobs(self) -> list[SampleJob]:
        if self.analysis == Analysis.OP:
            return make_jobs(self.inputs)
        first, _ = transient_stops_s(self.chip.circuit, self.chip.prediction(self.inputs),
                                     SETTLE_TOL_FS)
        # one length for all: the rigorous bound's fallback is long; 2x the estimate is ample
        return make_jobs(self.inputs, 2.0 * first)

    def spice_job(self) -> SpiceJob:
        """This probe's samples as one ngspice run (transients with their traces)."""
        points = TRACE_POINTS if self.analysis == Analysis.TRAN else 0
        return SpiceJob(self.chip.deck, tuple(self.jobs()), self.analysis, points)


def _point_probes(spec: CalibrationSpec, point: int, settings: dict, klu: bool) -> list[Probe]:
    ps = spec.probes
    frozen = tuple(sorted(settings.items()))
    sizes = (int(settings["n"]),) if "n" in settings else ps.sizes
    mismatch = has_mismatch(build_point(settings))
    out = []
    for n in sizes:
        for rho in ps.rho:
            for c in range(ps.cores + ps.holdout_cores):
                role = Role.FIT if c < ps.cores else Role.HOLDOUT
                common = dict(point=point, settings=frozen, n=n, rho=rho, core_index=c,
                              role=role, instance=0, seed=ps.seed, klu=klu)
                out.append(Probe(**common, samples=ps.samples, analysis=Analysis.OP))
                if ps.transients:
                    out.append(Probe(**common, samples=ps.transients, analysis=Analysis.TRAN))
                if role == Role.HOLDOUT and mismatch and ps.instances > 1:
                    out += [Probe(**{**common, "role": Role.MC, "instance": k},
                                  samples=min(ps.mc_samples, ps.samples), analysis=Analysis.OP)
                            for k in range(1, ps.instances + 1)]
    return out


def spec_probes(spec: CalibrationSpec, klu: bool = False) -> list[Probe]:
    """Every probe of every grid point of ``spec``."""
    return [p for i, point in enumerate(spec.points())
            for p in _point_probes(spec, i, point, klu)]
