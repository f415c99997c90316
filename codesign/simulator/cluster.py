"""ngspice on a Dask cluster (``--scheduler tcp://HOST:PORT``): the process backend's chunks
(ngspice.plan_chunks: the same chunks whatever the cluster's size, so the same bits as the local
pool), each run by a worker as one ``ngspice -b`` process with the time-out, in a folder of its
own on the worker, through codesign.jobs.DaskExecutor. A chunk whose worker dies is run again on
another worker; results are yielded as chunks finish; on the first failure the rest are
cancelled and the failing chunk's deck, stdout and stderr are written under the local run
directory."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from codesign.errors import SimulationError
from codesign.jobs import DaskExecutor
from codesign.netlist.deck import Deck, SampleJob
from codesign.netlist.spice import batch_deck, check_jobs
from codesign.simulator.base import Closing, SampleResult, SimulatorInfo
from codesign.simulator.ngspice import (
    DEFAULT_TIMEOUT_S,
    PROBE_TIMEOUT_S,
    NgspiceProcess,
    check_timeout,
    find_ngspice,
    plan_chunks,
)


class _RemoteChunk:
    """One chunk on a worker (in a temporary folder, removed after): what the executor calls."""

    def __init__(self, analysis: str, timeout_s: float, executable: str | None,
                 sweep: bool) -> None:
        self.analysis, self.timeout_s = analysis, timeout_s
        self.executable, self.sweep = executable, sweep

    def __call__(self, chunk: tuple[Deck, list[SampleJob]]) -> list[SampleResult]:
        sim = NgspiceProcess(self.executable, workers=1, timeout_s=self.timeout_s,
                             sweep=self.sweep)
        run_dir = Path(tempfile.mkdtemp(prefix="codesign-chunk-"))
        try:
            return sim.run_chunk(chunk[0], chunk[1], self.analysis, run_dir)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)


def probe_remote(executable: str | None, timeout_s: float) -> tuple[str, bool]:
    """(ngspice version, KLU) on a worker."""
    install = find_ngspice(executable, timeout_s)
    return install.version, install.klu


class DaskSimulator(Closing):
    """The Simulator protocol over a Dask cluster's workers (ngspice installed on each)."""

    def __init__(self, scheduler: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                 executable: str | None = None, sweep: bool = True) -> None:
        self.scheduler, self.executable, self.sweep = scheduler, executable, sweep
        self.timeout_s = check_timeout(timeout_s)
        self.executor = DaskExecutor(scheduler)
        (outcome,) = self.executor.map(lambda _: probe_remote(executable, PROBE_TIMEOUT_S),
                                       [0])
        if outcome.error is not None:
            self.executor.close()
            raise outcome.error
        self.info = SimulatorInfo("dask", *outcome.value)

    @property
    def workers(self) -> int:
        return self.executor.workers

    def run(self, deck: Deck, jobs: list[SampleJob], analysis: str,
            run_dir: Path) -> Iterator[SampleResult]:
        """Simulate every job on the cluster; yields results as chunks finish."""
        check_jobs(analysis, jobs)
        chunks = plan_chunks(deck, jobs, analysis, self.workers, self.sweep)
        outcomes = self.executor.map(
            _RemoteChunk(analysis, self.timeout_s, self.executable, self.sweep), chunks,
            stop_on_error=True)
        with contextlib.closing(outcomes):
            for outcome in outcomes:
                if outcome.error is not None:
                    c = outcome.index
                    text = batch_deck(chunks[c][0], chunks[c][1], analysis)
                    raise _kept(outcome.error, Path(run_dir) / f"chunk-{c:04d}", text) from None
                yield from outcome.value

    def close(self) -> None:
        self.executor.close()


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
