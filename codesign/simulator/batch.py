"""Many independent SPICE runs, each one ngspice process, fanned out by an executor
(codesign.jobs: a local process pool by default, or a Dask cluster) into the result store.

A :class:`SpiceJob` is a deck, its samples and the analysis. Samples already in the store are
not run again (a job whose samples are all stored is skipped); each finished job's samples are
stored as it arrives; a job whose simulation fails or returns anything but complete, finite
results is recorded with its error (and its deck) under its key while the rest go on, and the
next run retries it. Pool workers and their ngspice processes die with the run, even when it is
killed with SIGKILL.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from codesign.circuit.dynamics import SETTLE_TOL_FS
from codesign.errors import CodesignError, SimulationError
from codesign.jobs import Executor, LocalExecutor, Pool
from codesign.netlist.deck import Analysis, Deck, SampleJob
from codesign.netlist.spice import batch_deck
from codesign.simulator.ngspice import NgspiceProcess
from codesign.simulator.store import (
    ResultStore,
    check_finite,
    deck_sha256,
    run_key,
    sample_key,
    state_arrays,
)
from codesign.simulator.traces import run_states

JOB_TIMEOUT_S = 300.0
"""Default wall-clock limit of one SPICE job [s] (``--timeout``)."""


@dataclass(frozen=True)
class SpiceJob:
    """One ngspice run: a deck, its samples and the analysis (with ``trace_points``, each
    transient's trace is stored resampled)."""

    deck: Deck
    jobs: tuple[SampleJob, ...]
    analysis: Analysis
    trace_points: int = 0
    tol_fs: float = SETTLE_TOL_FS

    @cached_property
    def sample_keys(self) -> tuple[str, ...]:
        digest, noisy = deck_sha256(self.deck), self.deck.noise is not None
        return tuple(sample_key(digest, self.analysis, job, self.tol_fs, noisy)
                     for job in self.jobs)

    @property
    def key(self) -> str:
        """The run's key: its error record's name."""
        return run_key(self.sample_keys)

    @property
    def text(self) -> str:
        """The deck as ngspice runs it (for the error record)."""
        return batch_deck(self.deck, list(self.jobs), self.analysis)


@dataclass
class BatchStats:
    """What one run of many jobs did."""

    total: int = 0
    skipped: int = 0
    ran: int = 0
    failed: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    workers: int = 0
    scheduler: str = "pool"

    @property
    def runs_per_s(self) -> float:
        return self.ran / self.wall_s if self.wall_s > 0 else math.nan


def run_job(job: SpiceJob, timeout_s: float = JOB_TIMEOUT_S,
            executable: str | None = None) -> list[dict[str, np.ndarray]]:
    """Simulate one job in one ngspice process (in a worker): each sample's arrays (in the
    job's order), checked finite. A job still running after ``timeout_s`` is killed and fails."""
    sim = NgspiceProcess(executable, timeout_s=timeout_s, pool_worker=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"codesign-{job.key}-"))
    try:
        states = {s.index: s for s in run_states(sim, job.deck, list(job.jobs), job.analysis,
                                                  run_dir, job.tol_fs,
                                                  keep=job.trace_points > 0)}
        out = [state_arrays(states[j.index], job.deck, job.trace_points) for j in job.jobs]
        for arrays in out:
            check_finite(arrays)
        return out
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _record(exc: BaseException) -> dict:
    record = {"error": f"{type(exc).__name__}: {exc}"}
    if isinstance(exc, SimulationError):
        record.update(stdout=exc.stdout[-4000:], stderr=exc.stderr[-4000:],
                      command=exc.command)
    return record


class _Job:
    """A picklable ``run_job`` with the time-out bound (what the executor calls)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def __call__(self, job: SpiceJob) -> list[dict[str, np.ndarray]]:
        return run_job(job, self.timeout_s)


def run_jobs(jobs: list[SpiceJob], store: ResultStore, executor: Executor | None = None,
             progress: Callable[[int], None] | None = None,
             timeout_s: float = JOB_TIMEOUT_S) -> BatchStats:
    """Run every job whose samples are not all in ``store`` on ``executor`` (default: a local
    process pool on all cores); store each job's samples (or its error) as it finishes."""
    start = time.perf_counter()
    executor = executor or LocalExecutor(pool=Pool.FORK)
    unique = list({j.key: j for j in jobs}.values())
    todo = [j for j in unique if not all(store.has(k) for k in j.sample_keys)]
    stats = BatchStats(total=len(unique), skipped=len(unique) - len(todo),
                       workers=executor.workers, scheduler=executor.label)
    if progress and stats.skipped:
        progress(stats.skipped)
    for outcome in executor.map(_Job(timeout_s), todo, progress=progress):
        job = outcome.item
        error = outcome.error
        if error is None:
            try:
                for key, arrays in zip(job.sample_keys, outcome.value, strict=True):
                    if not store.has(key):  # a sample stored before is never rewritten
                        store.save(key, arrays)
            except SimulationError as exc:
                error = exc
        if error is not None:
            if not isinstance(error, CodesignError | OSError | ValueError | KeyError):
                raise error
            store.save_error(job.key, _record(error), job.text)
            stats.failed.append(job.key)
        else:
            store.clear_error(job.key)
            stats.ran += 1
    stats.wall_s = time.perf_counter() - start
    return stats


def job_arrays(job: SpiceJob, store: ResultStore) -> dict[str, np.ndarray] | None:
    """The job's stored samples stacked (z (K, n), x, and per transient its metrics and trace:
    t (K, P), zt (K, P, n)), or None while any sample is missing."""
    samples = [store.get(key) for key in job.sample_keys]
    if any(s is None for s in samples):
        return None
    return {name: np.stack([s[name] for s in samples]) for name in samples[0]}
