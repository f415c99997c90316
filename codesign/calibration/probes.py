"""Probe stimuli: the random cores, inputs and chip instances simulated at each grid point, each
as a SPICE job keyed by the content hash of its deck and settings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from codesign.calibration.spec import CalibrationSpec, build_circuit
from codesign.circuit.compile import compile_core
from codesign.circuit.config import CircuitConfig
from codesign.circuit.description import CrossbarCircuit
from codesign.circuit.dynamics import transient_stops_s
from codesign.circuit.predict import predict_equilibrium
from codesign.deq.weights import CoreWeights, random_core
from codesign.netlist.deck import Deck, SampleJob, make_jobs
from codesign.netlist.spice import batch_deck, write_deck

SETTLE_TOL_FS = 1e-4
"""Settling tolerance of the probe transients [FS]."""


@dataclass(frozen=True)
class Probe:
    """One SPICE job: a random core (n, rho, index) at grid point ``point``, one chip instance,
    ``samples`` seeded inputs; analysis op, or tran for the first ``transients`` of them."""

    point: int
    settings: tuple[tuple[str, object], ...]
    n: int
    rho: float
    core_index: int
    role: str
    """fit, holdout or mc (a Monte Carlo instance of a held-out core)."""
    instance: int
    samples: int
    analysis: str
    seed: int

    @property
    def m(self) -> int:
        return max(1, self.n // 2)

    @cached_property
    def config(self) -> CircuitConfig:
        return build_circuit(dict(self.settings))

    @cached_property
    def core(self) -> CoreWeights:
        rng = np.random.default_rng([self.seed, self.n, int(self.rho * 1000), self.core_index])
        return random_core(self.n, self.m, self.rho, rng)

    @cached_property
    def inputs(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.n, int(self.rho * 1000), self.core_index, 1])
        return rng.uniform(-1.0, 1.0, (self.samples, self.m))

    @cached_property
    def circuit(self) -> CrossbarCircuit:
        rng = np.random.default_rng([self.seed, self.n, int(self.rho * 1000), self.core_index,
                                     2, self.instance])
        return compile_core(self.core, self.config, rng)

    def jobs(self) -> list[SampleJob]:
        if self.analysis == "op":
            return make_jobs(self.inputs)
        prediction = predict_equilibrium(self.circuit, self.inputs)
        first, fallback = transient_stops_s(self.circuit, prediction, SETTLE_TOL_FS)
        # one length for all: the rigorous bound's fallback is long; 2x the estimate is ample
        return make_jobs(self.inputs, 2.0 * first)

    def deck(self, klu: bool) -> Deck:
        return write_deck(self.circuit, klu=klu, title=f"codesign calibration probe {self.role}")


def task_key(deck: Deck, jobs: list[SampleJob], analysis: str) -> str:
    """Content hash of a deck and every setting of its run (analyses, inputs, lengths)."""
    return hashlib.sha256(batch_deck(deck, jobs, analysis).encode()).hexdigest()[:24]


def _point_probes(spec: CalibrationSpec, point: int, settings: dict) -> list[Probe]:
    ps = spec.probes
    frozen = tuple(sorted(settings.items()))
    sizes = (int(settings["n"]),) if "n" in settings else ps.sizes
    mismatch = float(settings.get("mismatch_sigma", 0)) > 0 or float(
        settings.get("pair_mismatch_sigma", 0)) > 0
    out = []
    for n in sizes:
        for rho in ps.rho:
            for c in range(ps.cores + ps.holdout_cores):
                role = "fit" if c < ps.cores else "holdout"
                common = dict(point=point, settings=frozen, n=n, rho=rho, core_index=c,
                              role=role, instance=0, seed=ps.seed)
                out.append(Probe(**common, samples=ps.samples, analysis="op"))
                if ps.transients:
                    out.append(Probe(**common, samples=ps.transients, analysis="tran"))
                if role == "holdout" and mismatch and ps.instances > 1:
                    out += [Probe(**{**common, "role": "mc", "instance": k},
                                  samples=min(ps.mc_samples, ps.samples), analysis="op")
                            for k in range(1, ps.instances + 1)]
    return out


def spec_probes(spec: CalibrationSpec) -> list[Probe]:
    """Every probe of every grid point of ``spec``."""
    return [p for i, point in enumerate(spec.points()) for p in _point_probes(spec, i, point)]
