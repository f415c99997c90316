"""Probe stimuli: the random cores, inputs and chip instances simulated at each grid point, each
as a SPICE job keyed by the content hash of its deck and settings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from codesign.calibration.runner import SpiceJob
from codesign.calibration.spec import CalibrationSpec, build_circuit
from codesign.chip.chip import Chip
from codesign.choices import Choice
from codesign.circuit.config import CircuitConfig
from codesign.circuit.dynamics import SETTLE_TOL_FS, transient_stops_s
from codesign.deq.weights import CoreWeights, random_core
from codesign.netlist.deck import Analysis, Deck, SampleJob, make_jobs
from codesign.netlist.spice import batch_deck


class Role(Choice):
    """What a probe's results are used for."""

    FIT = "fit"
    HOLDOUT = "holdout"
    """Never fitted: the reported errors."""
    MC = "mc"
    """A Monte Carlo instance of a held-out core (the mismatch spread)."""


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
        return build_circuit(dict(self.settings))

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
        deck, jobs = self.chip.deck, self.jobs()
        return SpiceJob(job_key(deck, jobs, self.analysis), deck, tuple(jobs), self.analysis)


def job_key(deck: Deck, jobs: list[SampleJob], analysis: str) -> str:
    """Content hash of a deck and every setting of its run (analyses, inputs, lengths)."""
    return hashlib.sha256(batch_deck(deck, jobs, analysis).encode()).hexdigest()[:24]


def probes_per_point(spec: CalibrationSpec, settings: dict) -> int:
    """How many probes (SPICE jobs) one grid point has, without building them."""
    ps = spec.probes
    sizes = 1 if "n" in settings else len(ps.sizes)
    mismatch = float(settings.get("mismatch_sigma", 0)) > 0 or float(
        settings.get("pair_mismatch_sigma", 0)) > 0
    per_core = 1 + (1 if ps.transients else 0)
    mc = ps.holdout_cores * ps.instances if mismatch and ps.instances > 1 else 0
    return sizes * len(ps.rho) * ((ps.cores + ps.holdout_cores) * per_core + mc)


def _point_probes(spec: CalibrationSpec, point: int, settings: dict, klu: bool) -> list[Probe]:
    ps = spec.probes
    frozen = tuple(sorted(settings.items()))
    sizes = (int(settings["n"]),) if "n" in settings else ps.sizes
    mismatch = float(settings.get("mismatch_sigma", 0)) > 0 or float(
        settings.get("pair_mismatch_sigma", 0)) > 0
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
