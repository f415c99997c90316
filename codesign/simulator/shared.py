"""ngspice in-process, through PySpice's shared-library interface (``libngspice``).

One simulator per process (the library holds global state), so this backend runs samples one
after another; it exists for users who already drive ngspice through PySpice, and to cross-check
the process backend. A command running in-process cannot be interrupted: the time-out is checked
when each command returns (the process backend kills a hanging ngspice instead). PySpice 1.5
needs the library path spelt out with ngspice >= 39 (there is no unversioned libngspice.so);
it is found with ctypes. After each sample the backend sends
``destroy all``, and after each deck ``remcirc`` (spice.RESET, spice.UNLOAD), or memory grows
and runs slow down.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from codesign.errors import NgspiceNotFoundError, SimulationError
from codesign.netlist.deck import Analysis, Deck, SampleJob
from codesign.netlist.spice import (
    RESET,
    UNLOAD,
    VERSION,
    alter_commands,
    analysis_commands,
    check_jobs,
    circuit_text,
    deck_groups,
    option_commands,
    run_deck,
    save_checks,
    sweep_circuit,
    sweep_commands,
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
)
from codesign.simulator.ngspice import (
    DEFAULT_TIMEOUT_S,
    check_timeout,
    error_lines,
    plan_chunks,
)

HINT = (
    "install ngspice's shared library (`sudo apt-get install libngspice0`) and PySpice "
    "(`pip install codesign[pyspice]`), or set NGSPICE_LIBRARY_PATH to libngspice.so"
)


def find_libngspice() -> str:
    """Path or soname of libngspice: $NGSPICE_LIBRARY_PATH, else what ctypes finds."""
    found = os.environ.get("NGSPICE_LIBRARY_PATH") or ctypes.util.find_library("ngspice")
    if not found:
        raise NgspiceNotFoundError(f"ngspice shared library not found; {HINT}")
    return found


def _ngspice_shared():
    try:
        # deferred: PySpice (GPL-3, optional) loads only for the shared backend
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared
    except ImportError:
        raise NgspiceNotFoundError(f"PySpice is not installed; {HINT}") from None
    logging.getLogger("PySpice").setLevel(logging.CRITICAL)  # we read its output ourselves
    NgSpiceShared.LIBRARY_PATH = find_libngspice()
    try:
        return NgSpiceShared.new_instance()
    except OSError as exc:
        raise NgspiceNotFoundError(f"cannot load libngspice ({exc}); {HINT}") from None


def _canonical(name: str) -> str:
    """PySpice vector names to raw-file names: 'x0' -> 'v(x0)', 'vdd#branch' -> 'i(vdd)'."""
    name = name.lower()
    if name.endswith("#branch"):
        return f"i({name[: -len('#branch')]})"
    return name if name == "time" else f"v({name})"


class NgspiceShared(Closing):
    """In-process backend over PySpice's NgSpiceShared."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, sweep: bool = True) -> None:
        self.timeout_s = check_timeout(timeout_s)
        self.sweep = sweep
        self.ngspice = _ngspice_shared()
        version = str(self.ngspice.ngspice_version)
        self.log: list[str] = []
        self.info = SimulatorInfo("shared", version, self._has_klu())

    def _has_klu(self) -> bool:
        self.ngspice.clear_output()
        self.ngspice.exec_command(VERSION)
        return any("KLU" in line for line in self.ngspice.stdout.splitlines())

    def run(
        self, deck: Deck, jobs: list[SampleJob], analysis: str, run_dir: Path
    ) -> Iterator[SampleResult]:
        """Simulate every job in order, in this process (a noisy transient's deck carries its
        own noise waveforms: it is loaded per sample). Operating points run as sweeps of up
        to SWEEP_CHUNK samples (spice.sweep_circuit); a sweep that fails runs again per
        sample."""
        check_jobs(analysis, jobs)
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        if self.sweep and sweepable(deck, analysis):
            for _, chunk in plan_chunks(deck, jobs, analysis, None, True):
                yield from self._sweep_or_loop(deck, chunk, run_dir)
            return
        for group_deck, group in deck_groups(deck, jobs, analysis):
            yield from self._run_group(run_deck(group_deck, group, analysis), group, analysis,
                                       run_dir)

    def _run_group(self, deck: Deck, jobs: list[SampleJob], analysis: str,
                   run_dir: Path) -> Iterator[SampleResult]:
        text = circuit_text(deck)
        (run_dir / "deck.cir").write_text(text)
        self.log = []
        try:
            self._load(text, run_dir)
            for command in (*save_checks(deck), *deck.setup):
                self._exec(command, run_dir)
            for job in jobs:
                yield self._run_job(deck, job, analysis, run_dir)
        finally:
            self._quiet(RESET)
            self._quiet(UNLOAD)
            (run_dir / "ngspice.log").write_text("\n".join(self.log))

    def _sweep_or_loop(self, deck: Deck, jobs: list[SampleJob],
                       run_dir: Path) -> list[SampleResult]:
        text = sweep_circuit(deck, jobs) + ".end\n"
        (run_dir / "sweep.cir").write_text(text)
        self.log = []
        try:
            self._load(text, run_dir)
            for command in (*save_checks(deck), *deck.setup, *sweep_commands(deck, len(jobs))):
                self._exec(command, run_dir)
            plot = self.ngspice.last_plot
            results = sweep_results(deck, jobs, self._vectors(plot)) \
                if plot.startswith("dc") else "no sweep plot"
        except SimulationError as exc:
            if "time-out" in exc.reason:
                raise
            results = exc.reason
        finally:
            self._quiet(RESET)
            self._quiet(UNLOAD)
            (run_dir / "sweep.log").write_text("\n".join(self.log))
        if isinstance(results, str):  # the sweep failed: sample by sample
            (run_dir / "per-sample").mkdir(exist_ok=True)
            return list(self._run_group(deck, jobs, Analysis.OP.value, run_dir / "per-sample"))
        return results

    def _load(self, text: str, run_dir: Path) -> None:
        self.ngspice.clear_output()
        try:
            self.ngspice.load_circuit(text)
            failure = ""
        except Exception as exc:  # PySpice raises its own NgSpiceCircuitError
            failure = str(exc)
        output = self.ngspice.stdout + "\n" + self.ngspice.stderr
        self.log.append(f"> (load circuit)\n{output}")
        problems = error_lines(output)
        if failure or problems:
            raise SimulationError(
                f"libngspice rejected the deck: {problems[0] if problems else failure}",
                command="(load circuit)", stdout="\n".join(self.log),
                stderr=self.ngspice.stderr, run_dir=run_dir,
            )

    def _run_job(self, deck: Deck, job: SampleJob, analysis: str, run_dir: Path) -> SampleResult:
        plots = {}
        for command in alter_commands(deck, job):
            self._exec(command, run_dir)
        for kind, command in analysis_commands(analysis, job, deck):
            self._exec(RESET, run_dir)
            for option in option_commands(deck, kind):
                self._exec(option, run_dir)
            self._exec(command, run_dir)
            plot = self.ngspice.last_plot
            vectors = self._vectors(plot) if plot.startswith(kind.value) else {}
            problem = plot_problem(deck, job, kind, vectors) if vectors else "no plot"
            if problem:
                raise SimulationError(
                    f"ngspice gave no usable {kind} result for sample {job.index} ({problem})",
                    command=command, stdout="\n".join(self.log), run_dir=run_dir,
                )
            plots[kind] = vectors
        tran = trace_from(plots[Analysis.TRAN]) if Analysis.TRAN in plots else None
        return SampleResult(job.index, op_values(plots[Analysis.OP]), tran)

    def _vectors(self, plot: str) -> dict[str, np.ndarray]:
        """The vectors of libngspice's plot ``plot``, named as in a raw file."""
        return {_canonical(name): np.array(vec._data, dtype=float).real
                for name, vec in self.ngspice.plot(None, plot).items()}

    def _exec(self, command: str, run_dir: Path) -> None:
        """Run one command; raise on the same error lines as the process backend.

        PySpice's own check (exec_command) treats every stderr line but warnings as an error,
        including ngspice's notes, so the command goes to libngspice directly.
        """
        self.ngspice.clear_output()
        start = time.monotonic()
        status = self.ngspice._ngspice_shared.ngSpice_Command(command.encode("ascii"))
        seconds = time.monotonic() - start
        output = self.ngspice.stdout + "\n" + self.ngspice.stderr
        self.log.append(f"> {command}\n{output}")
        shown = command if len(command) <= 120 else command[:100] + " ..."
        if seconds > self.timeout_s:
            raise SimulationError(
                f"ngspice took {seconds:.3g} s on '{shown}', over the {self.timeout_s:g} s "
                "time-out; raise --timeout or use the process backend", command=command,
                stdout="\n".join(self.log), stderr=self.ngspice.stderr, run_dir=run_dir)
        problems = error_lines(output)
        if status != 0 or problems:
            detail = problems[0] if problems else f"status {status}"
            raise SimulationError(
                f"ngspice failed on '{shown}': {detail}", command=command,
                stdout="\n".join(self.log), stderr=self.ngspice.stderr, run_dir=run_dir,
            )

    def _quiet(self, command: str) -> None:
        """Clean-up command whose failure must not mask the real error."""
        with contextlib.suppress(Exception):
            self.ngspice.exec_command(command)
