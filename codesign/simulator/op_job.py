"""One deck's operating points in one ngspice process, as an executor's job (a local pool's
worker or a Dask worker: codesign.jobs), with the process's peak memory; the module imports
neither torch nor the circuit stages, so a cluster worker that runs it starts fast.

What comes back is complete and finite or the job raises (SimulationError): every sample's
operating point, each checked against its deck and job by the simulator (simulator.base).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from codesign.errors import SimulationError
from codesign.netlist.deck import Analysis, Deck, SampleJob
from codesign.simulator.ngspice import NgspiceProcess


class PeakMemory:
    """The largest VmHWM (peak resident memory) of this process's ngspice child processes (by
    name) while the block runs [MB], polled from /proc every ``interval_s`` (NaN where there is
    no /proc or no ngspice child was seen). A process that ran several at once (a thread pool)
    reports the largest of them."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s, self.peak_mb = interval_s, math.nan
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self, tasks: Path) -> None:
        children = []
        for task in tasks.glob("*/children"):
            with contextlib.suppress(OSError):
                children += task.read_text().split()
        for pid in children:
            with contextlib.suppress(OSError, ValueError, IndexError, KeyError):  # gone
                status = dict(line.split(":", 1) for line in
                              Path(f"/proc/{pid}/status").read_text().splitlines())
                if "ngspice" in status["Name"]:  # not a fork before its exec, nor a worker
                    hwm_mb = int(status["VmHWM"].split()[0]) / 1024
                    self.peak_mb = float(np.fmax(self.peak_mb, hwm_mb))

    def _poll(self) -> None:
        with contextlib.suppress(OSError):
            tasks = Path(f"/proc/{os.getpid()}/task")
            while not self._stop.wait(self.interval_s):
                self._sample(tasks)


class OperatingPointJob:
    """What an executor calls on (deck, jobs): (z (K, n), x (K, n) in units of v_fs, the
    ngspice process's peak memory [MB]), the samples in the jobs' order, from one ngspice
    process (``executable``; default the worker's own) with the time-out ``timeout_s``.
    ``pool_worker``: the caller is a single-threaded process-pool worker (its ngspice dies with
    it); False in a thread or on a Dask worker."""

    def __init__(self, executable: str | None, timeout_s: float, pool_worker: bool) -> None:
        self.executable, self.timeout_s = executable, timeout_s
        self.pool_worker = pool_worker

    def __call__(self, item: tuple[Deck, list[SampleJob]]):
        deck, jobs = item
        sim = NgspiceProcess(self.executable, workers=1, timeout_s=self.timeout_s,
                             pool_worker=self.pool_worker)
        run_dir = Path(tempfile.mkdtemp(prefix="codesign-op-"))
        try:
            with PeakMemory() as memory:
                results = {r.index: r for r in sim.run(deck, jobs, Analysis.OP, run_dir)}
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        if sorted(results) != sorted(job.index for job in jobs):
            raise SimulationError(f"ngspice returned samples {sorted(results)} for "
                                  f"{len(jobs)} jobs")
        z, x = (np.array([[results[job.index].op[name] for name in names] for job in jobs])
                / deck.v_fs for names in (deck.z_vectors, deck.x_vectors))
        if not (np.isfinite(z).all() and np.isfinite(x).all()):
            raise SimulationError("ngspice returned non-finite operating points")
        return z, x, memory.peak_mb
