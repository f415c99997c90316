"""Running many SPICE jobs: a local process pool by default, or a Dask cluster.

A task is (key, deck, sample jobs, analysis). Finished tasks are skipped (their key is in the
store), results are stored as each task finishes, and a task whose simulation fails is recorded
with its error while the rest go on. Each task is one ``ngspice -b`` process, so the pool's
workers are the unit of parallelism (toolchain.md: 2 processes on 2 cores, x1.95).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesign.calibration.store import ResultStore
from codesign.errors import CodesignError, InputError, SimulationError
from codesign.netlist.deck import Deck, SampleJob
from codesign.simulator.ngspice import NgspiceProcess
from codesign.traces import op_state, transient_metrics

TRACE_POINTS = 160
"""Transients are stored resampled onto this many uniform time points from the reset."""
LOCAL_DASK = "local-dask"
TASK_TIMEOUT_S = 300.0
"""Wall-clock limit of one SPICE task [s]."""


@dataclass(frozen=True)
class Task:
    key: str
    deck: Deck
    jobs: tuple[SampleJob, ...]
    analysis: str


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


def _arrays(deck: Deck, results: dict, jobs: tuple[SampleJob, ...], analysis: str) -> dict:
    ordered = [results[j.index] for j in jobs]
    z, x = (np.stack(parts) for parts in zip(*(op_state(r, deck) for r in ordered), strict=True))
    out = {"z": z, "x": x}
    if analysis == "tran":
        times, traces, settle = [], [], []
        for r, z_op in zip(ordered, z, strict=True):
            t = r.tran.time[1:]
            grid = np.linspace(0.0, t[-1], TRACE_POINTS)
            zt = np.stack([np.interp(grid, t, r.tran.vectors[v][1:]) for v in deck.z_vectors])
            times.append(grid)
            traces.append(zt.T / deck.v_fs)
            settle.append(transient_metrics(r, deck, z_op, 1e-4).settling_time_s)
        out.update(t=np.stack(times), zt=np.stack(traces), settling_s=np.array(settle))
    return out


def run_task(task: Task, timeout_s: float = TASK_TIMEOUT_S,
             executable: str | None = None) -> dict[str, np.ndarray]:
    """Simulate one task in one ngspice process (in a worker); arrays of its results. A task
    still running after ``timeout_s`` fails (and is recorded as failed by the sweep)."""
    sim = NgspiceProcess(executable, workers=1, timeout_s=timeout_s)
    run_dir = Path(tempfile.mkdtemp(prefix=f"codesign-{task.key}-"))
    results = {r.index: r for r in sim.run_chunk(task.deck, list(task.jobs), task.analysis,
                                                 run_dir)}
    arrays = _arrays(task.deck, results, task.jobs, task.analysis)
    for path in sorted(run_dir.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    run_dir.rmdir()
    return arrays


def _record(exc: BaseException) -> dict:
    record = {"error": f"{type(exc).__name__}: {exc}"}
    if isinstance(exc, SimulationError):
        record.update(stdout=exc.stdout[-4000:], stderr=exc.stderr[-4000:],
                      run_dir=str(exc.run_dir), command=exc.command)
    return record


def _pool_results(tasks: list[Task], workers: int) -> Iterator[tuple[Task, dict | BaseException]]:
    # fork: workers only run ngspice and numpy (never torch), and need no importable __main__
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(run_task, t): t for t in tasks}
        for fut in as_completed(futures):
            exc = fut.exception()
            yield futures[fut], exc if exc is not None else fut.result()


def _dask_results(tasks: list[Task], scheduler: str,
                  workers: int) -> Iterator[tuple[Task, dict | BaseException]]:
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
        try:
            client = Client(scheduler, timeout=30)
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); start one "
                             f"with `dask scheduler` or use --scheduler {LOCAL_DASK}") from None
    try:
        futures = {client.submit(run_task, t, key=f"codesign-{t.key}", pure=False): t
                   for t in tasks}
        for fut in dask_completed(list(futures)):
            exc = fut.exception()
            yield futures[fut], exc if exc is not None else fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(tasks: list[Task], store: ResultStore, scheduler: str | None = None,
              workers: int | None = None,
              progress: Callable[[int], None] | None = None) -> SweepStats:
    """Run every task not in ``store`` yet; store each result (or error) as it finishes."""
    start = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    unique = list({t.key: t for t in tasks}.values())
    todo = [t for t in unique if not store.has(t.key)]
    stats = SweepStats(total=len(unique), skipped=len(unique) - len(todo), workers=workers,
                       scheduler=scheduler or "pool")
    if progress and stats.skipped:
        progress(stats.skipped)
    if todo:
        results = (_dask_results(todo, scheduler, workers) if scheduler
                   else _pool_results(todo, workers))
        for task, outcome in results:
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, CodesignError | OSError | ValueError):
                    raise outcome
                store.save_error(task.key, _record(outcome))
                stats.failed.append(task.key)
            else:
                store.save(task.key, outcome)
                stats.ran += 1
            if progress:
                progress(1)
    stats.wall_s = time.perf_counter() - start
    return stats
