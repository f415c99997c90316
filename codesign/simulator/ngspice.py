"""ngspice as a child process in batch mode: crash-isolated, one process per chunk of samples,
as many processes at once as there are cores.

Each chunk gets its own folder in the run directory with ``deck.cir`` (the netlist and a
.control block that alters the DAC sources and runs op / tran per sample), ``stdout.txt``,
``stderr.txt`` and one binary raw file per sample and analysis.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from codesign.errors import NgspiceNotFoundError, SimulationError
from codesign.netlist.deck import Deck, SampleJob
from codesign.netlist.spice import analysis_commands, batch_deck, check_jobs, raw_name
from codesign.simulator.base import SampleResult, SimulatorInfo, op_values, trace_from
from codesign.simulator.rawfile import RawFileError, read_raw

INSTALL_HINT = (
    "install it with `sudo apt-get install ngspice` (Debian/Ubuntu; `make setup` takes ngspice 46 "
    "with KLU from Debian backports) or set CODESIGN_NGSPICE to the ngspice executable"
)
PLOTNAMES = {"op": "operating point", "tran": "transient analysis"}
ERROR_PATTERN = re.compile(
    r"^\s*(error|.*\baborted\b|.*timestep too small|.*singular matrix|.*no convergence)", re.I
)


@dataclass(frozen=True)
class NgspiceInstall:
    """An ngspice executable and what ``ngspice -v`` says about it."""

    executable: str
    version: str
    klu: bool


@lru_cache(maxsize=8)
def _probe(executable: str) -> NgspiceInstall:
    try:
        out = subprocess.run(
            [executable, "-v"], capture_output=True, text=True, timeout=30,
            env={**os.environ, "LC_ALL": "C"},
        )
    except OSError as exc:
        raise NgspiceNotFoundError(
            f"cannot run ngspice at {executable} ({exc.strerror}); {INSTALL_HINT}"
        ) from None
    text = out.stdout + out.stderr
    match = re.search(r"ngspice-(\S+)", text)
    if not match:
        raise NgspiceNotFoundError(f"{executable} -v does not look like ngspice; {INSTALL_HINT}")
    return NgspiceInstall(executable, match.group(1), "KLU" in text)


def find_ngspice(executable: str | None = None) -> NgspiceInstall:
    """The ngspice to use: ``executable``, else $CODESIGN_NGSPICE, else ``ngspice`` on PATH."""
    chosen = executable or os.environ.get("CODESIGN_NGSPICE") or shutil.which("ngspice")
    if not chosen:
        raise NgspiceNotFoundError(f"ngspice not found on PATH; {INSTALL_HINT}")
    return _probe(chosen)


def error_lines(text: str) -> list[str]:
    """Lines of ngspice output that report an error."""
    return [line.strip() for line in text.splitlines() if ERROR_PATTERN.match(line)]


def chunk_jobs(jobs: list[SampleJob], workers: int, max_chunk: int = 64) -> list[list[SampleJob]]:
    """Split ``jobs`` into about 4 chunks per worker (for progress), each at most ``max_chunk``."""
    size = max(1, min(max_chunk, math.ceil(len(jobs) / (4 * workers))))
    return [jobs[k : k + size] for k in range(0, len(jobs), size)]


class NgspiceProcess:
    """The default backend: ``ngspice -b`` child processes, ``workers`` at a time."""

    def __init__(
        self,
        executable: str | None = None,
        workers: int | None = None,
        timeout_s: float = 600.0,
        keep_raw: bool = False,
    ) -> None:
        self.install = find_ngspice(executable)
        self.workers = workers or os.cpu_count() or 1
        self.timeout_s = timeout_s
        self.keep_raw = keep_raw
        self.info = SimulatorInfo("process", self.install.version, self.install.klu)

    def run(
        self, deck: Deck, jobs: list[SampleJob], analysis: str, run_dir: Path
    ) -> Iterator[SampleResult]:
        """Simulate every job; yields results as chunks finish."""
        check_jobs(analysis, jobs)
        chunks = chunk_jobs(jobs, self.workers)
        pool = ThreadPoolExecutor(max_workers=self.workers)
        futures: list[Future] = [
            pool.submit(self.run_chunk, deck, chunk, analysis, Path(run_dir) / f"chunk-{c:04d}")
            for c, chunk in enumerate(chunks)
        ]
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for fut in done:
                    yield from fut.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def run_chunk(
        self, deck: Deck, jobs: list[SampleJob], analysis: str, run_dir: Path
    ) -> list[SampleResult]:
        """One ngspice process over ``jobs``, in ``run_dir``."""
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "deck.cir").write_text(batch_deck(deck, jobs, analysis))
        command = [self.install.executable, "-b", "deck.cir"]
        try:
            proc = subprocess.run(
                command, cwd=run_dir, capture_output=True, text=True, timeout=self.timeout_s,
                env={**os.environ, "LC_ALL": "C"},
            )
        except subprocess.TimeoutExpired as exc:
            raise SimulationError(
                f"ngspice timed out after {self.timeout_s:g} s on {len(jobs)} samples; "
                "raise the timeout or use fewer samples per run",
                command=command, stdout=_text(exc.stdout), stderr=_text(exc.stderr),
                run_dir=run_dir,
            ) from None
        (run_dir / "stdout.txt").write_text(proc.stdout)
        (run_dir / "stderr.txt").write_text(proc.stderr)
        problems = error_lines(proc.stderr + "\n" + proc.stdout)
        if proc.returncode != 0 or problems:
            detail = problems[0] if problems else f"exit status {proc.returncode}"
            raise SimulationError(
                f"ngspice failed: {detail}", command=command, stdout=proc.stdout,
                stderr=proc.stderr, run_dir=run_dir,
            )
        results = [self._collect(job, analysis, run_dir, command, proc) for job in jobs]
        if not self.keep_raw:
            for path in run_dir.glob("*.raw"):
                path.unlink()
        return results

    def _collect(self, job: SampleJob, analysis: str, run_dir: Path, command: list[str],
                 proc: subprocess.CompletedProcess) -> SampleResult:
        """The sample's results from its raw files; SimulationError if one is missing or wrong."""
        plots = {}
        for kind, _ in analysis_commands(analysis, job):
            problem = ""
            try:
                plot = read_raw(run_dir / raw_name(job, kind))[0]
            except FileNotFoundError:
                problem = "no raw file written"
            except (RawFileError, IndexError, KeyError, ValueError) as exc:
                problem = f"unreadable raw file: {exc}"
            else:
                if plot.plotname.lower() != PLOTNAMES[kind]:
                    problem = f"raw file holds {plot.plotname!r}"
            if problem:
                raise SimulationError(
                    f"ngspice gave no {kind} result for sample {job.index} ({problem})",
                    command=command, stdout=proc.stdout, stderr=proc.stderr, run_dir=run_dir,
                )
            plots[kind] = plot.vectors
        tran = trace_from(plots["tran"]) if "tran" in plots else None
        return SampleResult(job.index, op_values(plots["op"]), tran)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
