"""ngspice on a Dask cluster (``--scheduler tcp://HOST:PORT``): the process backend's chunks
(ngspice.plan_chunks: the same chunks whatever the cluster's size, so the same bits as the local
pool), each run by a worker as one ``ngspice -b`` process with the time-out, in a folder of its
own on the worker. A chunk whose worker dies is run again by Dask on another worker; results
are yielded as chunks finish; on the first failure the rest are cancelled and the failing
chunk's deck, stdout and stderr are written under the local run directory."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from codesign.errors import InputError, SimulationError
from codesign.netlist.deck import Deck, SampleJob
from codesign.netlist.spice import batch_deck, check_jobs
from codesign.simulator.base import SampleResult, SimulatorInfo
from codesign.simulator.ngspice import DEFAULT_TIMEOUT_S, check_timeout, plan_chunks

CONNECT_TIMEOUT_S = 30.0


def run_remote_chunk(deck: Deck, jobs: list[SampleJob], analysis: str, timeout_s: float,
                     executable: str | None, sweep: bool) -> list[SampleResult]:
    """One chunk on a worker (in a temporary folder, removed after)."""
    from codesign.simulator.ngspice import NgspiceProcess

    sim = NgspiceProcess(executable, workers=1, timeout_s=timeout_s, sweep=sweep)
    run_dir = Path(tempfile.mkdtemp(prefix="codesign-chunk-"))
    try:
        return sim.run_chunk(deck, jobs, analysis, run_dir)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def probe_remote(executable: str | None, timeout_s: float) -> tuple[str, bool]:
    """(ngspice version, KLU) on a worker."""
    from codesign.simulator.ngspice import find_ngspice

    install = find_ngspice(executable, timeout_s)
    return install.version, install.klu


def connect(scheduler: str):
    """A dask.distributed Client of ``scheduler``; InputError naming the fix otherwise."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") \
            from None
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); start one "
                         "with `dask scheduler` and workers with `dask worker ADDRESS`") \
            from None


class DaskSimulator:
    """The Simulator protocol over a Dask cluster's workers (ngspice installed on each)."""

    def __init__(self, scheduler: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                 executable: str | None = None, sweep: bool = True) -> None:
        self.scheduler, self.executable, self.sweep = scheduler, executable, sweep
        self.timeout_s = check_timeout(timeout_s)
        self.client = connect(scheduler)
        version, klu = self.client.submit(probe_remote, executable, 30.0, pure=False).result()
        self.info = SimulatorInfo("dask", version, klu)

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def run(self, deck: Deck, jobs: list[SampleJob], analysis: str,
            run_dir: Path) -> Iterator[SampleResult]:
        """Simulate every job on the cluster; yields results as chunks finish."""
        from distributed import as_completed

        check_jobs(analysis, jobs)
        chunks = plan_chunks(deck, jobs, analysis, self.workers, self.sweep)
        stamp = time.time_ns()
        futures = {self.client.submit(run_remote_chunk, chunk_deck, chunk, analysis,
                                      self.timeout_s, self.executable, self.sweep,
                                      key=f"codesign-chunk-{stamp}-{c}", pure=False): c
                   for c, (chunk_deck, chunk) in enumerate(chunks)}
        try:
            for fut in as_completed(list(futures)):
                exc = fut.exception()
                if exc is not None:
                    c = futures[fut]
                    text = batch_deck(chunks[c][0], chunks[c][1], analysis)
                    raise _kept(exc, Path(run_dir) / f"chunk-{c:04d}", text) from None
                yield from fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _kept(exc: BaseException, folder: Path, deck_text: str) -> BaseException:
    """``exc``, with the chunk's deck (as a per-sample batch deck) and ngspice's output written
    to ``folder`` when it is a SimulationError."""
    if not isinstance(exc, SimulationError):
        return exc
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("deck.cir", deck_text), ("stdout.txt", exc.stdout),
                       ("stderr.txt", exc.stderr)):
        (folder / name).write_text(text)
    return SimulationError(f"{exc.reason} (on a Dask worker)", command=exc.command,
                           stdout=exc.stdout, stderr=exc.stderr, run_dir=folder)
