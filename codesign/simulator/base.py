"""The simulator interface: a deck, jobs and an analysis in; one SampleResult per job out.

Backends yield results as they finish (in any order, each carrying its job index), so callers
can reduce transient traces sample by sample without holding them all. A result counts only
when it is complete and finite (``plot_problem``): every vector the deck saves, finite values,
an operating point of one point, a transient that reached its stop time, and the deck's check
vectors (the bias reference at +v_fs, the DACs at the sample's inputs) where they should be.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from codesign.netlist.deck import Analysis, Deck, SampleJob


@dataclass(frozen=True, eq=False)
class Trace:
    """A transient: time [s] and vectors sampled at those times."""

    time: np.ndarray
    vectors: dict[str, np.ndarray]


@dataclass(frozen=True, eq=False)
class SampleResult:
    """The outcome of one job: operating point (vector -> value) and, for tran, the trace."""

    index: int
    op: dict[str, float]
    tran: Trace | None = None


@dataclass(frozen=True)
class SimulatorInfo:
    """What a backend runs: its name, the ngspice version, whether KLU is available."""

    backend: str
    ngspice_version: str
    klu: bool


class Simulator(Protocol):
    """A SPICE backend. ``run`` writes everything it does under ``run_dir``; ``timeout_s``
    bounds each ngspice run; ``close`` releases what it holds (a cluster's client)."""

    info: SimulatorInfo
    timeout_s: float

    def run(
        self, deck: Deck, jobs: list[SampleJob], analysis: str, run_dir: Path
    ) -> Iterator[SampleResult]: ...

    def close(self) -> None: ...


class Closing:
    """``close`` (nothing to release by default) and its context manager, for backends."""

    def close(self) -> None:
        """Release what the backend holds."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def op_values(vectors: dict[str, np.ndarray]) -> dict[str, float]:
    """Scalars of an operating-point plot."""
    return {name: float(values[0]) for name, values in vectors.items() if len(values)}


def trace_from(vectors: dict[str, np.ndarray]) -> Trace:
    """A Trace from a transient plot's vectors (the 'time' vector is the scale)."""
    rest = {k: v for k, v in vectors.items() if k != "time"}
    return Trace(vectors["time"], rest)


def wanted_vectors(deck: Deck) -> frozenset[str] | None:
    """The vectors to keep from a raw file of ``deck``: those a listing deck saves (its states,
    supply currents, checks, the scale), or None (all) for one that lists its own saves."""
    if not deck.save_all:
        return None
    supplies = tuple(f"i({name})" for name in (*deck.core_supplies, *deck.input_supplies))
    return frozenset(("time", "v(v-sweep)", *deck.z_vectors, *deck.x_vectors, *supplies,
                      *deck.check_vectors))


def _required(deck: Deck, kind: Analysis) -> tuple[str, ...]:
    if kind == Analysis.OP:
        return deck.z_vectors + deck.x_vectors + deck.check_vectors
    supplies = tuple(f"i({name})" for name in (*deck.core_supplies, *deck.input_supplies))
    return ("time", *deck.z_vectors, *deck.x_vectors, *supplies)


def _check_values(deck: Deck, job: SampleJob, vectors: dict[str, np.ndarray]) -> str:
    """Where an operating point disagrees with its deck and job: '' when it does not."""
    if deck.reference_vector:
        ref = float(vectors[deck.reference_vector][0])
        if abs(ref - deck.v_fs) > 1e-6 * deck.v_fs + 1e-9:
            return (f"the bias reference reads {ref:.6g} V, not the deck's {deck.v_fs:g} V: the "
                    "values were not computed from this deck")
    for name, value in zip(deck.input_vectors, job.inputs, strict=False):
        got, want = float(vectors[name][0]), value * deck.v_fs
        if abs(got - want) > 1e-9 + 1e-9 * abs(want):
            return f"{name} reads {got:.6g} V, not the sample's input {want:.6g} V"
    return ""


def plot_problem(deck: Deck, job: SampleJob, kind: Analysis,
                 vectors: dict[str, np.ndarray]) -> str:
    """Why the ``kind`` plot ``vectors`` of ``job`` is not a usable result ('' if it is)."""
    need = _required(deck, kind)
    missing = [name for name in need if name not in vectors]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        return f"no vector {', '.join(missing[:3])}{more}"
    points = {len(vectors[name]) for name in need}
    if len(points) != 1:
        return "vectors of different lengths (a truncated raw file)"
    count = points.pop()
    if count == 0:
        return "no values (a truncated raw file)"
    bad = [name for name in need if not np.isfinite(vectors[name]).all()]
    if bad:
        return f"non-finite values in {bad[0]}"
    if kind == Analysis.OP:
        return _check_values(deck, job, vectors) if count == 1 else (
            f"{count} points in an operating point")
    end = float(vectors["time"][-1]) if count else 0.0
    if count < 3 or end < job.t_stop_s * (1 - 1e-6):
        return f"the transient stopped at {end:.3g} s of {job.t_stop_s:.3g} s"
    return ""


def sweep_results(deck: Deck, jobs: list[SampleJob],
                  vectors: dict[str, np.ndarray]) -> list[SampleResult] | str:
    """Each job's operating point from an operating-point sweep's vectors (point k x
    deck.sweep_substeps: job k), or why they are not usable: every point must be there, finite
    and the job's own."""
    counts = {len(values) for values in vectors.values()}
    if counts != {deck.sweep_points(len(jobs))}:
        return (f"{sorted(counts)} points for {len(jobs)} samples of "
                f"{deck.sweep_points(len(jobs))} points (a sweep that stopped early)")
    results = []
    step = deck.sweep_substeps
    for k, job in enumerate(jobs):
        point = {name: values[k * step:k * step + 1] for name, values in vectors.items()}
        problem = plot_problem(deck, job, Analysis.OP, point)
        if problem:
            return f"sample {job.index}: {problem}"
        results.append(SampleResult(job.index, op_values(point), None))
    return results

