"""The simulator interface: a deck, jobs and an analysis in; one SampleResult per job out.

Backends yield results as they finish (in any order, each carrying its job index), so callers
can reduce transient traces sample by sample without holding them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from codesign.netlist.deck import Deck, SampleJob


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
    """A SPICE backend. ``run`` writes everything it does under ``run_dir``."""

    info: SimulatorInfo

    def run(
        self, deck: Deck, jobs: list[SampleJob], analysis: str, run_dir: Path
    ) -> Iterator[SampleResult]: ...


def op_values(vectors: dict[str, np.ndarray]) -> dict[str, float]:
    """Scalars of an operating-point plot."""
    return {name: float(values[0]) for name, values in vectors.items() if len(values)}


def trace_from(vectors: dict[str, np.ndarray]) -> Trace:
    """A Trace from a transient plot's vectors (the 'time' vector is the scale)."""
    rest = {k: v for k, v in vectors.items() if k != "time"}
    return Trace(vectors["time"], rest)
