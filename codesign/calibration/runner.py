"""Running many SPICE jobs: a local process pool by default, or a Dask cluster.

A SpiceJob is (key, deck, sample jobs, analysis). Finished jobs are skipped (their key is in
the store), results are stored as each job finishes, and a job whose simulation fails or
returns anything but complete, finite results is recorded with its error (and its deck) while
the rest go on. Each job is one ``ngspice -b`` process with a time-out, so the pool's workers
are the unit of parallelism (2 processes on 2 cores: x1.95). Pool workers and their ngspice
processes die with the sweep, even when it is killed with SIGKILL.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesign.errors import CodesignError, InputError, SimulationError
from codesign.netlist.deck import Deck, SampleJob
from codesign.netlist.spice import batch_deck
from codesign.simulator.ngspice import NgspiceProcess, die_with_parent
from codesign.simulator.store import ResultStore, check_finite
from codesign.simulator.traces import run_states

TRACE_POINTS = 160
"""Transients are stored resampled onto this many uniform time points from the reset."""
LOCAL_DASK = "local-dask"
JOB_TIMEOUT_S = 300.0
"""Default wall-clock limit of one SPICE job [s] (``--timeout``)."""
NAN_OK = ("settling_s",)
"""Stored arrays that may hold NaN: the settling time of a transient that did not settle."""


@dataclass(frozen=True)
class SpiceJob:
    """One ngspice run: a deck, its samples and the analysis, keyed by their content hash."""

    key: str
    deck: Deck
    jobs: tuple[SampleJob, ...]
    analysis: str

    @property
    def text(self) -> str:
        """The deck as ngspice runs it (for the error record)."""
        return batch_deck(self.deck, list(self.jobs), self.analysis)


@dataclass
class SweepStats:
    """What one sweep run did."""

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


def _arrays(deck: Deck, states: dict, jobs: tuple[SampleJob, ...]) -> dict:
    ordered = [states[j.index] for j in jobs]
    out = {"z": np.stack([s.z for s in ordered]), "x": np.stack([s.x for s in ordered])}
    if ordered[0].transient is not None:
        times, traces = [], []
        for state in ordered:
            trace = state.result.tran
            t = trace.time[1:]  # the first row is not exactly the initial condition
            grid = np.linspace(0.0, t[-1], TRACE_POINTS)
            zt = np.stack([np.interp(grid, t, trace.vectors[v][1:]) for v in deck.z_vectors])
            times.append(grid)
            traces.append(zt.T / deck.v_fs)
        out.update(t=np.stack(times), zt=np.stack(traces),
                   settling_s=np.array([s.transient.settling_time_s for s in ordered]))
    return out


def run_job(job: SpiceJob, timeout_s: float = JOB_TIMEOUT_S,
            executable: str | None = None) -> dict[str, np.ndarray]:
    """Simulate one job in one ngspice process (in a worker); arrays of its results, checked
    finite. A job still running after ``timeout_s`` is killed and fails."""
    sim = NgspiceProcess(executable, timeout_s=timeout_s, pool_worker=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"codesign-{job.key}-"))
    try:
        states = {s.index: s for s in run_states(sim, job.deck, list(job.jobs), job.analysis,
                                                  run_dir, keep=True)}
        arrays = _arrays(job.deck, states, job.jobs)
        check_finite(arrays, NAN_OK)
        return arrays
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _record(exc: BaseException) -> dict:
    record = {"error": f"{type(exc).__name__}: {exc}"}
    if isinstance(exc, SimulationError):
        record.update(stdout=exc.stdout[-4000:], stderr=exc.stderr[-4000:],
                      command=exc.command)
    return record


def _pool_worker() -> None:
    """Pool worker start-up: die with the sweep, whatever kills it."""
    die_with_parent()


def _pool_results(jobs: list[SpiceJob], workers: int,
                  timeout_s: float) -> Iterator[tuple[SpiceJob, dict | BaseException]]:
    # fork: workers only run ngspice and numpy (never torch), and need no importable __main__
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_pool_worker) as pool:
        futures = {pool.submit(run_job, j, timeout_s): j for j in jobs}
        try:
            for fut in as_completed(futures):
                exc = fut.exception()
                yield futures[fut], exc if exc is not None else fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _dask_results(jobs: list[SpiceJob], scheduler: str, workers: int,
                  timeout_s: float) -> Iterator[tuple[SpiceJob, dict | BaseException]]:
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError:
        raise InputError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") \
            from None
    cluster = None
    if scheduler == LOCAL_DASK:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        from codesign.simulator.cluster import connect

        client = connect(scheduler)
    try:
        futures = {client.submit(run_job, j, timeout_s, key=f"codesign-{j.key}", pure=False): j
                   for j in jobs}
        for fut in dask_completed(list(futures)):
            exc = fut.exception()
            yield futures[fut], exc if exc is not None else fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(jobs: list[SpiceJob], store: ResultStore, scheduler: str | None = None,
              workers: int | None = None, progress: Callable[[int], None] | None = None,
              timeout_s: float = JOB_TIMEOUT_S) -> SweepStats:
    """Run every job not in ``store`` yet; store each result (or error) as it finishes."""
    start = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    unique = list({j.key: j for j in jobs}.values())
    todo = [j for j in unique if not store.has(j.key)]
    stats = SweepStats(total=len(unique), skipped=len(unique) - len(todo), workers=workers,
                       scheduler=scheduler or "pool")
    if progress and stats.skipped:
        progress(stats.skipped)
    if todo:
        results = (_dask_results(todo, scheduler, workers, timeout_s) if scheduler
                   else _pool_results(todo, workers, timeout_s))
        for job, outcome in results:
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, CodesignError | OSError | ValueError | KeyError):
                    raise outcome
                store.save_error(job.key, _record(outcome), job.text)
                stats.failed.append(job.key)
            else:
                store.save(job.key, outcome)
                stats.ran += 1
            if progress:
                progress(1)
    stats.wall_s = time.perf_counter() - start
    return stats
