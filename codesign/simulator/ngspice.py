"""ngspice as a child process in batch mode: crash-isolated, one process per chunk of samples,
as many processes at once as there are cores, each bounded by a time-out.

Each chunk gets its own folder in the run directory with ``deck.cir`` (the netlist and a
.control block that alters the DAC sources and runs op / tran per sample), ``stdout.txt``,
``stderr.txt`` and one binary raw file per sample and analysis. Operating points run as one
``.dc`` sweep over a sample index per chunk (spice.sweep_deck: one parse, one raw file, no
per-sample commands); a chunk whose sweep fails is run again sample by sample. When one chunk
fails (an ngspice error, a time-out, an unusable result), the chunks still running are killed
at once and the error is raised: a run never waits on the rest of a failed job.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from codesign.errors import InputError, NgspiceNotFoundError, SimulationError
from codesign.files import output_error
from codesign.jobs import MAX_TIMEOUT_S, LocalExecutor, Pool, check_workers, die_with_parent
from codesign.netlist.deck import Analysis, Deck, SampleJob
from codesign.netlist.spice import (
    SWEEP_RAW,
    analysis_commands,
    batch_deck,
    check_jobs,
    deck_groups,
    raw_name,
    sweep_deck,
    sweepable,
)
from codesign.simulator.base import (
    Closing,
    SampleResult,
    SimulatorInfo,
    op_values,
    plot_problem,
    sweep_results,
    trace_from,
    wanted_vectors,
)
from codesign.simulator.rawfile import RawFileError, read_raw

INSTALL_HINT = (
    "install it with `sudo apt-get install ngspice` (Debian/Ubuntu; `make setup` takes ngspice 46 "
    "with KLU from Debian backports) or set CODESIGN_NGSPICE to the ngspice executable"
)
PLOTNAMES = {Analysis.OP: "operating point", Analysis.TRAN: "transient analysis"}
SWEEP_PLOTNAME = "dc transfer characteristic"
SWEEP_CHUNK = 128
"""Operating points per sweep (one ngspice process). Fixed, not sized by the workers: each point
of a sweep starts Newton from the last one's solution, so a result depends (below reltol) on
the chunk it ran in; fixed chunks give the same bits on 1 core, 16, or a cluster."""
ERROR_PATTERN = re.compile(
    r"^\s*(error|.*\baborted\b|.*timestep too small|.*singular matrix|.*no convergence)", re.I
)
DEFAULT_TIMEOUT_S = 600.0
"""Wall-clock limit of one ngspice process [s] (``--timeout``)."""
PROBE_TIMEOUT_S = 30.0
"""Wall-clock limit of ``ngspice -v`` [s]."""
PROBE_FLOOR_S = 1.0
"""Shortest wait for ``ngspice -v`` whatever the run's time-out (a loaded machine takes more
than a few milliseconds to start a process)."""


@dataclass(frozen=True)
class NgspiceInstall:
    """An ngspice executable and what ``ngspice -v`` says about it."""

    executable: str
    version: str
    klu: bool


def _env() -> dict[str, str]:
    return {**os.environ, "LC_ALL": "C"}


@lru_cache(maxsize=8)
def _probe(executable: str, timeout_s: float) -> NgspiceInstall:
    try:
        out = subprocess.run([executable, "-v"], capture_output=True, text=True,
                             errors="replace", timeout=timeout_s, env=_env())
    except subprocess.TimeoutExpired:
        raise NgspiceNotFoundError(
            f"{executable} -v did not answer within {timeout_s:g} s; check that it is a working "
            f"ngspice, or {INSTALL_HINT.split(' or ')[-1]}") from None
    except OSError as exc:
        raise NgspiceNotFoundError(
            f"cannot run ngspice at {executable} ({exc.strerror}); {INSTALL_HINT}"
        ) from None
    text = out.stdout + out.stderr
    match = re.search(r"ngspice-(\S+)", text)
    if not match:
        raise NgspiceNotFoundError(f"{executable} -v does not look like ngspice; {INSTALL_HINT}")
    return NgspiceInstall(executable, match.group(1), "KLU" in text)


def find_ngspice(executable: str | None = None,
                 timeout_s: float = PROBE_TIMEOUT_S) -> NgspiceInstall:
    """The ngspice to use: ``executable``, else $CODESIGN_NGSPICE, else ``ngspice`` on PATH."""
    timeout_s = check_timeout(timeout_s)
    chosen = locate_ngspice(executable)
    if not chosen:
        raise NgspiceNotFoundError(f"ngspice not found on PATH; {INSTALL_HINT}")
    return _probe(str(chosen), timeout_s)


def locate_ngspice(executable: str | None = None) -> str | None:
    """The ngspice executable find_ngspice would use (None when there is none), unprobed."""
    return executable or os.environ.get("CODESIGN_NGSPICE") or shutil.which("ngspice")


def check_timeout(timeout_s: float) -> float:
    """``timeout_s`` if it is a positive number of seconds up to MAX_TIMEOUT_S; InputError
    otherwise."""
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or not (
            0 < timeout_s <= MAX_TIMEOUT_S):
        raise InputError(f"the ngspice time-out must be a number of seconds in (0, "
                         f"{MAX_TIMEOUT_S:g}], got {timeout_s!r}")
    return float(timeout_s)


def error_lines(text: str) -> list[str]:
    """Lines of ngspice output that report an error."""
    return [line.strip() for line in text.splitlines() if ERROR_PATTERN.match(line)]


def chunk_jobs(jobs: list[SampleJob], workers: int, max_chunk: int = 64) -> list[list[SampleJob]]:
    """Split ``jobs`` into about 4 chunks per worker (for progress), each at most ``max_chunk``."""
    size = max(1, min(max_chunk, math.ceil(len(jobs) / (4 * workers))))
    return [jobs[k : k + size] for k in range(0, len(jobs), size)]


def plan_chunks(deck: Deck, jobs: list[SampleJob], analysis: str, workers: int | None,
                sweep: bool) -> list[tuple[Deck, list[SampleJob]]]:
    """(deck, jobs) per ngspice process: a noisy transient alone on its own deck; operating
    points swept in chunks of SWEEP_CHUNK (``sweep``); else chunk_jobs over ``workers`` (None:
    all in one)."""
    groups = deck_groups(deck, jobs, analysis)
    if len(groups) > 1:
        return groups
    if sweep and sweepable(deck, analysis):
        size = SWEEP_CHUNK
    elif workers is None:
        return groups
    else:
        return [(deck, chunk) for chunk in chunk_jobs(jobs, workers)]
    return [(deck, jobs[k:k + size]) for k in range(0, len(jobs), size)]


def read_plot(path: Path, plotname: str, keep: frozenset[str] | None = None):
    """(the raw file's first plot, '') or (None, why it is not a ``plotname`` plot); only the
    vectors in ``keep`` if given (a save-all deck: base.wanted_vectors)."""
    try:
        plot = read_raw(path, keep)[0]
    except FileNotFoundError:
        return None, "no raw file written"
    except (RawFileError, IndexError, KeyError, ValueError, OSError) as exc:
        return None, f"unreadable raw file: {exc}"
    if plot.plotname.lower() != plotname:
        return None, f"raw file holds {plot.plotname!r}"
    return plot, ""


class LiveProcesses:
    """The ngspice processes of one run that are still running; ``stop`` kills them all, and
    any started after it, so a failed run does not wait on its other chunks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen] = set()
        self.stopped = False

    def add(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.add(proc)
            if self.stopped:
                proc.kill()

    def discard(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.discard(proc)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            for proc in self._procs:
                proc.kill()


class NgspiceProcess(Closing):
    """The default backend: ``ngspice -b`` child processes, ``workers`` at a time, each killed
    after ``timeout_s``. ``pool_worker``: this process is a single-threaded worker of a sweep;
    each run is one ngspice process in the calling thread, which dies with this process (see
    die_with_parent). ``sweep``: operating points as one .dc sweep per chunk (False: the
    alter + op loop per sample, the path before sweeps)."""

    def __init__(
        self,
        executable: str | None = None,
        workers: int | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        keep_raw: bool = False,
        pool_worker: bool = False,
        sweep: bool = True,
    ) -> None:
        self.sweep = sweep
        self.timeout_s = check_timeout(timeout_s)
        workers = check_workers(workers)
        self.install = find_ngspice(executable, min(max(self.timeout_s, PROBE_FLOOR_S),
                                                    PROBE_TIMEOUT_S))
        self.workers = 1 if pool_worker else workers or os.cpu_count() or 1
        self.keep_raw = keep_raw
        self.pool_worker = pool_worker
        self.info = SimulatorInfo("process", self.install.version, self.install.klu)

    def run(
        self, deck: Deck, jobs: list[SampleJob], analysis: str, run_dir: Path
    ) -> Iterator[SampleResult]:
        """Simulate every job; yields results as chunks finish. On the first failure (or when
        the caller stops iterating) the chunks still running are killed."""
        check_jobs(analysis, jobs)
        groups = plan_chunks(deck, jobs, analysis, None if self.pool_worker else self.workers,
                             self.sweep)
        if self.pool_worker:
            for c, (group_deck, group) in enumerate(groups):
                folder = Path(run_dir) / f"chunk-{c:04d}" if len(groups) > 1 else Path(run_dir)
                yield from self.run_chunk(group_deck, group, analysis, folder)
            return
        live = LiveProcesses()

        def chunk(c: int) -> list[SampleResult]:
            chunk_deck, chunk_jobs = groups[c]
            return self.run_chunk(chunk_deck, chunk_jobs, analysis,
                                  Path(run_dir) / f"chunk-{c:04d}", live)

        outcomes = LocalExecutor(self.workers, Pool.THREADS).map(
            chunk, range(len(groups)), stop_on_error=True, on_stop=live.stop)
        with contextlib.closing(outcomes):  # a failure or an early stop kills the rest at once
            for outcome in outcomes:
                if outcome.error is not None:
                    raise outcome.error
                yield from outcome.value

    def _communicate(self, command: list[str], run_dir: Path,
                     live: LiveProcesses | None) -> tuple[str, str, int, str]:
        """Run ngspice to its end: (stdout, stderr, exit status, '' or 'timeout' or 'stopped').
        Waiting on its pipes returns the moment it exits."""
        proc = subprocess.Popen(
            command, cwd=run_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, text=True, errors="replace", env=_env(),
            preexec_fn=die_with_parent if self.pool_worker else None)
        if live is not None:
            live.add(proc)
        try:
            stdout, stderr = proc.communicate(timeout=self.timeout_s)
            ended = "stopped" if live is not None and live.stopped else ""
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            ended = "timeout"
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
        finally:
            if live is not None:
                live.discard(proc)
        return stdout, stderr, proc.returncode, ended

    def _sweeps(self, deck: Deck, analysis: str) -> bool:
        return self.sweep and sweepable(deck, analysis)

    def run_chunk(
        self, deck: Deck, jobs: list[SampleJob], analysis: str, run_dir: Path,
        live: LiveProcesses | None = None,
    ) -> list[SampleResult]:
        """One ngspice process over ``jobs``, in ``run_dir``: a sweep of their operating
        points (if the backend sweeps; one that fails is run again per sample, in
        RUN_DIR/per-sample), else the alter loop."""
        if self._sweeps(deck, analysis):
            try:
                return self._sweep_chunk(deck, jobs, run_dir, live)
            except SimulationError as exc:
                if exc.reason.startswith(("ngspice timed out", "ngspice stopped")):
                    raise
                run_dir = run_dir / "per-sample"
        return self._loop_chunk(deck, jobs, analysis, run_dir, live)

    def _sweep_chunk(self, deck: Deck, jobs: list[SampleJob], run_dir: Path,
                     live: LiveProcesses | None) -> list[SampleResult]:
        failure = self._batch(sweep_deck(deck, jobs), len(jobs), run_dir, live)
        plot, problem = read_plot(run_dir / SWEEP_RAW, SWEEP_PLOTNAME,
                                  wanted_vectors(deck))
        results = [] if problem else sweep_results(deck, jobs, plot.vectors)
        if isinstance(results, str) or problem:
            raise SimulationError(f"ngspice gave no usable operating-point sweep "
                                  f"({problem or results})", **failure)
        if not self.keep_raw:
            (run_dir / SWEEP_RAW).unlink()
        return results

    def _batch(self, text: str, count: int, run_dir: Path,
               live: LiveProcesses | None) -> dict:
        """Run the batch deck ``text`` (``count`` samples) in ``run_dir``; SimulationError on a
        time-out, a stop or an error line; else what a later failure should report."""
        command = [self.install.executable, "-b", "deck.cir"]
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "deck.cir").write_text(text)
            stdout, stderr, status, ended = self._communicate(command, run_dir, live)
            (run_dir / "stdout.txt").write_text(stdout)
            (run_dir / "stderr.txt").write_text(stderr)
        except OSError as exc:
            raise output_error(run_dir, exc) from None
        failure = dict(command=command, stdout=stdout, stderr=stderr, run_dir=run_dir)
        if ended == "timeout":
            raise SimulationError(
                f"ngspice timed out after {self.timeout_s:g} s on {count} samples; raise "
                "--timeout or use fewer samples per run", **failure)
        if ended == "stopped":
            raise SimulationError("ngspice stopped: another run of the same job failed",
                                  **failure)
        problems = error_lines(stderr + "\n" + stdout)
        if status != 0 or problems:
            detail = problems[0] if problems else f"exit status {status}"
            raise SimulationError(f"ngspice failed: {detail}", **failure)
        return failure

    def _loop_chunk(self, deck: Deck, jobs: list[SampleJob], analysis: str, run_dir: Path,
                    live: LiveProcesses | None) -> list[SampleResult]:
        failure = self._batch(batch_deck(deck, jobs, analysis), len(jobs), run_dir, live)
        results = [self._collect(deck, job, analysis, run_dir, failure) for job in jobs]
        if not self.keep_raw:
            for path in run_dir.glob("*.raw"):
                path.unlink()
        return results

    def _collect(self, deck: Deck, job: SampleJob, analysis: str, run_dir: Path,
                 failure: dict) -> SampleResult:
        """The sample's results from its raw files; SimulationError unless each is complete
        and finite."""
        plots = {}
        for kind, _ in analysis_commands(analysis, job):
            plot, problem = read_plot(run_dir / raw_name(job, kind), PLOTNAMES[kind],
                                      wanted_vectors(deck))
            problem = problem or plot_problem(deck, job, kind, plot.vectors)
            if problem:
                raise SimulationError(
                    f"ngspice gave no usable {kind} result for sample {job.index} ({problem})",
                    **failure)
            plots[kind] = plot.vectors
        tran = trace_from(plots[Analysis.TRAN]) if Analysis.TRAN in plots else None
        return SampleResult(job.index, op_values(plots[Analysis.OP]), tran)
