"""A command's output folder: one command's, used by one run at a time, marked running, then
complete or failed (``run.json``), so that a killed run never looks complete and no command
touches another's results.

``RunFolder(path, command).start(stale)``:

1. checks that the folder can be written and takes its lock (``.codesign.lock``, an advisory
   lock the operating system releases when the process ends, however it ends): a second run on
   the same folder is refused at once;
2. refuses a folder whose ``run.json`` names another command (``codesign verify --out`` on a
   design run's folder must not clear it);
3. runs ``check`` (a command's own test that the folder's earlier work fits this run, e.g. a
   resumed design search's settings), then marks the folder running and removes the outputs
   the earlier run of the same command recorded (and ``stale``), so that none of them sits
   beside new work looking current. Work kept for resuming (stores, trials) is not an output,
   and a folder without a run.json (not a run's) has nothing removed.

``complete(outputs)`` marks it complete; leaving the ``with`` block on an error marks it
failed, with the error's one line.

Every run folder explains itself: ``README.md`` is written when the run starts (status
"running") and rewritten when it completes or fails, with the command line that made it (the
process's argv), when, its status, how to resume it and one line on each file it holds. The
lines come from one registry, :data:`RUN_FILES` (command -> (pattern, description) pairs);
:func:`undescribed` names the files of a folder the registry does not describe, and with
``CODESIGN_CHECK_RUN_FILES=1`` in the environment (the tests set it) a run that completes with
such a file fails, so the registry stays complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fnmatch
import os
import shlex
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from codesign.choices import Choice
from codesign.errors import CodesignError, InputError, OutputError
from codesign.files import check_output_dir, write_text
from codesign.schema import read_json, write_result

RUN_MARKER = "run.json"
LOCK = ".codesign.lock"
README = "README.md"
CHECK_ENV = "CODESIGN_CHECK_RUN_FILES"
"""Environment variable: when "1", a run that completes holding a file :data:`RUN_FILES` does
not describe fails (OutputError naming the files)."""

_SPICE = ("SPICE work: decks, ngspice logs and the store of finished samples, kept so that the "
          "same command resumes without simulating them again")
_REPORT = (
    ("report/report.md", "the run's report (`codesign report`), Markdown"),
    ("report/report.html", "the same report as one HTML page (plots beside it)"),
    ("report/*.png", "the report's plots, each drawn from a CSV or JSON of this folder"),
)
_COMMON = (
    (RUN_MARKER, "the run's record: command, status (running, complete, failed), start and "
                 "end times, the files it wrote, a failed run's error"),
    (README, "this file"),
)
RUN_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    "verify": (
        ("summary.json", "the verification summary: equilibrium errors against PyTorch, the "
                         "circuit-aware prediction and the proxy, the task metric, settling and "
                         "energy (a grid model's: its fields' relative L2, errors and times)"),
        ("equilibria.parquet", "one row per sample and neuron: z_torch, z_model, z_spice, "
                               "z_proxy and their errors (units of full scale)"),
        ("equilibria.csv", "the same table as CSV (--table-format csv)"),
        ("transients.csv", "with --analysis tran: each sample's settling time and energy per "
                           "inference from a transient from reset"),
        ("fields.npz", "a grid model's fields: u_digital, u_circuit, z_spice, z_ideal"),
        ("spice/*", _SPICE),
    ),
    "calibrate": (
        ("report/fit_report.md", "the fit's report: held-out residuals of the ideal, nominal "
                                 "and calibrated proxy, settling, mismatch, fitted parameters"),
        ("report/fit.json", "the sweep's statistics, its failed jobs and every sweep point's "
                            "evaluation and settings"),
        ("report/sweep.parquet", "one row per sweep point: its settings and held-out errors"),
        ("report/parity.png", "proxy vs SPICE equilibria on the held-out cores"),
        ("report/parity.csv", "the data of parity.png"),
        ("report/residuals.png", "the held-out residuals' distribution"),
        ("report/residuals.csv", "the data of residuals.png"),
        ("report/sweep.png", "held-out error across the swept settings"),
        ("report/sweep.csv", "the data of sweep.png"),
        ("report/mismatch.png", "the per-neuron mismatch fit"),
        ("report/mismatch.csv", "the data of mismatch.png"),
        ("store/*", "the store of finished SPICE jobs (and failed jobs' records): a run with "
                    "the same --work skips the finished ones"),
        ("*.json", "the fitted parameters (--out), when written inside this folder"),
    ),
    "loop": (
        ("summary.json", "the loop's summary: settings, rounds, energy, acceptance verdicts "
                         "and stage timings (written after every stage)"),
        ("baselines.csv", "the digital baselines (digital DEQ, MLP, experts) on the test set"),
        ("rounds.csv", "per round: the metric computed by PyTorch, the proxy and SPICE on the "
                       "same samples, the calibration residual, within target, wall time"),
        ("seeds.csv", "physics-aware vs naive training per seed"),
        ("robustness.csv", "proxy curves of the metric vs mismatch, bits per cell, DC gain"),
        ("robustness_circuit.csv", "the robustness points measured in SPICE"),
        ("energy.csv", "energy per inference of the analog core vs digital systems"),
        ("settling.csv", "a transient from reset: SPICE and proxy, per neuron"),
        ("parity.csv", "the final round's equilibria: PyTorch, proxy, SPICE"),
        ("trajectories.csv", "control tasks: pendulum angle per step of the first episodes"),
        ("models/*.pt", "checkpoints of the trained models (naive, per round, per seed)"),
        ("round-*/proxy.json", "the proxy parameters re-fitted in that round"),
        ("round-*/netlist/*", "that round's chip exported as a stand-alone ngspice deck "
                              "(crossbar.cir, libraries, conductances.npz, manifest.json)"),
        ("round-*/spice/*", _SPICE),
        ("baselines/*", "SPICE work of the naive model's chip (" + _SPICE[12:] + ")"),
        ("seeds/*", "SPICE work of the seed comparison"),
        ("robustness/*", "SPICE work of the robustness points"),
        ("energy/*", "SPICE transients of the energy and settling measurement"),
    ),
    "design": (
        ("design.json", "the search's settings, design space and proxy file hash (a resumed "
                        "search with other settings is refused)"),
        ("study.log", "the Optuna journal of the search (makes it resumable)"),
        ("study.log.partial", "the cut-off last record of a killed run's journal (set aside)"),
        ("base.pt", "the task's digital DEQ, trained once; every design is fine-tuned from it"),
        ("trials.csv", "every screened design: its parameters and proxy energy, metric, "
                       "settling, noise; on_screen_front"),
        ("front.csv", "the SPICE-measured designs: metric, energy, settling, unsettled "
                      "transients, energy breakdown, on_front"),
        ("front.parquet", "the same table as Parquet"),
        ("breakdown.csv", "each measured design's energy per inference by part [J]"),
        ("front.png", "energy vs metric: screened, measured and chosen designs, baselines"),
        ("chosen.json", "the chosen design: parameters, SPICE metric on the final samples, "
                        "energy, settling, paths of its circuit and model"),
        ("energy.csv", "the chosen design's energy beside the digital solve's on reference "
                       "systems"),
        ("chosen/circuit.json", "the chosen design's circuit config (`codesign loop --circuit`)"),
        ("chosen/params.json", "the chosen design's proxy parameters (`codesign loop --params`)"),
        ("chosen/model.pt", "the chosen design's fine-tuned model"),
        ("chosen/final.json", "the chosen design's SPICE metric on the final samples (reused "
                              "by a resumed search)"),
        ("chosen/spice/*", _SPICE),
        ("chosen/card.json", "the chosen design's energy and area cards over --final-transients "
                             "SPICE transients (benchmarks.chip_card's layout)"),
        ("chosen/spice-card/*", _SPICE),
        ("trials/*/refined/failed.json", "why a refined design's SPICE measurement failed"),
        ("trials/*/refined/refit.json", "how the refined design's own calibration fitted"),
        ("trials/*/refined/*", "a refined design: re-fitted proxy (params.json), the model "
                               "fine-tuned through it, its SPICE measurement and work"),
        ("trials/*/trial.json", "the trial's design and its proxy screen (energy, metric, "
                                "settling)"),
        ("trials/*/model.pt", "the trial's model, fine-tuned through its proxy"),
        ("trials/*/params.json", "the trial's own proxy parameters"),
        ("trials/*/verified.json", "the trial's SPICE measurement (metric, energy, settling, "
                                   "unsettled transients, energy breakdown)"),
        ("trials/*/failed.json", "why the trial's SPICE measurement failed, and its time-out "
                                 "(retried only by a run with a longer --timeout)"),
        ("trials/*/spice/*", _SPICE),
        ("previous/*", "earlier searches moved aside by --new-study (one folder per time)"),
        ("loop/*", "the chosen design's loop, if run with the printed command (its own run "
                   "folder, with its own README.md)"),
    ),
    "noise": (
        ("noise.json", "the noise check: fitted noise_excess, the spread of the equilibria in "
                       "SPICE and the proxy (fitted, held-out, scaled currents)"),
        ("spreads.csv", "per neuron: the SPICE and proxy spread of each set"),
        ("params.json", "the proxy parameters with the fitted noise"),
        ("spice/*", "SPICE work: noiseless calibration runs and noisy transients"),
    ),
    "export": (
        ("crossbar.cir", "the chip as a stand-alone ngspice deck (op, then a transient from "
                         "reset): `ngspice crossbar.cir` in this folder"),
        ("*.lib", "the device libraries the deck includes"),
        ("sky130/*", "the SkyWater sky130 model cards the sky130 parts' libraries include "
                     "(Apache-2.0: sky130/LICENSE; sky130/README.md says where they come from)"),
        ("conductances.npz", "the programmed conductances and the weights they map"),
        ("manifest.json", "what was exported: source, sizes, circuit config, ngspice version, "
                          "weights hash, element counts, how to run the deck"),
    ),
}
"""Per command, (pattern, one line) for every file its run folder may hold: patterns are
shell-style and matched against the path inside the folder, ``*`` crossing folders; the first
match describes a file. The files of a run's README and record, and those `codesign report`
writes, are added to every command's."""

RESUME = {
    "verify": "Run the same command again (same --out): the samples finished in spice/ are "
              "read back, not simulated again, and the outputs are written anew.",
    "calibrate": "Run the same command again with the same --work: the SPICE jobs finished in "
                 "store/ are skipped and failed ones retried; the report is written anew.",
    "loop": "Run the same command again (same --out): the loop starts over in this folder "
            "(its earlier outputs are removed when it starts). `codesign report FOLDER "
            "--partial` renders what a run that did not finish wrote.",
    "design": "Run the same command again (same --out and settings): finished trials and "
              "SPICE measurements are reused and interrupted trials run again; a design in a "
              "failed.json is retried only with a longer --timeout. Other settings are refused "
              "unless --new-study (which moves this search to previous/TIME).",
    "noise": "Run the same command again (same --out): the measurement starts over.",
    "export": "Nothing to resume: run the same command again to write the deck anew.",
}
"""Per command, how a run in its folder is resumed (or repeated)."""


class RunStatus(Choice):
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """What ``run.json`` says about a command's output folder."""

    command: str
    status: RunStatus
    started: str
    """ISO 8601 time the run started (UTC)."""
    finished: str = ""
    outputs: tuple[str, ...] = ()
    """Files the completed run wrote, relative to its folder."""
    error: str = ""
    """Why a failed run stopped (one line)."""
    command_line: str = ""
    """The command line that started the run (the process's argv, shell-quoted)."""
    cwd: str = ""
    """The working directory it ran in (relative paths in the command line are from there)."""


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(exc, SystemExit):
        return "stopped by a signal"
    return " ".join(f"{type(exc).__name__}: {exc}".split()) if not isinstance(
        exc, CodesignError) else " ".join(str(exc).split())


def command_line(argv: Sequence[str] | None = None) -> str:
    """``argv`` (default: this process's) as a shell command: ``codesign ...`` for the console
    script, ``python -m codesign.cli ...`` for the module, else the Python program that called
    codesign's API."""
    argv = list(sys.argv if argv is None else argv) or ["python"]
    program = Path(argv[0])
    if program.name == "codesign":
        head = ["codesign"]
    elif program.name == "__main__.py" and program.parent.name == "cli" and \
            program.parent.parent.name == "codesign":
        head = ["python", "-m", "codesign.cli"]
    else:
        head = ["python", argv[0]]
    return shlex.join(head + argv[1:])


def _matches(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def file_notes(command: str) -> tuple[tuple[str, str], ...]:
    """(pattern, description) of every file a ``command`` run folder may hold."""
    return _COMMON + RUN_FILES.get(command, ()) + _REPORT


def describe(command: str, name: str) -> tuple[str, str] | None:
    """The registry's (pattern, description) of the file ``name`` (a path inside a
    ``command`` run folder, with '/'), or None."""
    for pattern, text in file_notes(command):
        if _matches(name, pattern):
            return pattern, text
    return None


def _ignored(name: str) -> bool:
    """Files that are no run's output: the lock, write probes, atomic writes in flight."""
    base = name.rsplit("/", 1)[-1]
    return base == LOCK or base.startswith(".codesign-write-test") or (
        base.startswith(".") and base.endswith(".part"))


def folder_files(folder: Path) -> list[str]:
    """Every file under ``folder`` (paths inside it, with '/'), sorted; the lock, write probes
    and unfinished atomic writes left out."""
    folder = Path(folder)
    out = []
    for root, _, names in os.walk(folder):
        for name in names:
            rel = (Path(root) / name).relative_to(folder).as_posix()
            if not _ignored(rel):
                out.append(rel)
    return sorted(out)


def undescribed(folder: Path, command: str) -> list[str]:
    """The files of ``folder`` (a ``command`` run's) that :data:`RUN_FILES` does not describe."""
    return [name for name in folder_files(folder) if describe(command, name) is None]


def readme_text(record: RunRecord, folder: Path) -> str:
    """The README.md of a run folder holding ``record``'s run (see the module docstring)."""
    command = record.command
    status = record.status.value
    lines = [f"# A `codesign {command}` run", "",
             "This folder holds one run of `codesign " + command + "`; this file was written by "
             "codesign with the run (and is rewritten when it ends).", "",
             f"- **Status**: {status}"
             + {"running": " (if no codesign process is running on this folder, the run was "
                           "killed: see below to resume it)",
                "complete": "", "failed": f": {record.error}"}[status],
             f"- **Command**: `{record.command_line or 'codesign ' + command}`",
             f"- **Working directory**: `{record.cwd}`" if record.cwd else None,
             f"- **Started**: {record.started} (UTC)",
             f"- **Finished**: {record.finished} (UTC)" if record.finished else None,
             f"- **Record**: `{RUN_MARKER}` (status, times and the list of outputs)", ""]
    lines = [line for line in lines if line is not None]
    lines += ["## Resume or repeat", "", RESUME.get(command, "Run the same command again."), ""]
    if command in REPORTED:
        lines += ["## Report", "", f"`codesign report {shlex.quote(str(folder))}` writes "
                  "report/report.md and report/report.html from this folder's files.", ""]
    lines += ["## Files", ""]
    groups: dict[str, list[str]] = {}
    texts: dict[str, str] = {}
    missing = []
    for name in folder_files(folder):
        note = describe(command, name)
        if note is None:
            missing.append(name)
            continue
        groups.setdefault(note[0], []).append(name)
        texts[note[0]] = note[1]
    if not groups:
        lines.append("(none yet)")
    for pattern, names in groups.items():
        label = names[0] if len(names) == 1 and pattern == names[0] else pattern
        count = f" ({len(names)} files)" if len(names) > 1 else ""
        lines.append(f"- `{label}`{count}: {texts[pattern]}")
    if missing:
        lines += ["", "Not described here (written by another program, or by a codesign "
                  "newer than this file's registry):", ""]
        lines += [f"- `{name}`" for name in missing]
    return "\n".join(lines) + "\n"


REPORTED = ("loop", "design", "verify", "calibrate", "noise")
"""Commands whose folders `codesign report` renders."""


def read_marker(folder: Path) -> dict | None:
    """The raw fields of ``folder``'s run.json (None when it has none); InputError when it is
    not a run record."""
    marker = Path(folder) / RUN_MARKER
    if not marker.is_file():
        return None
    try:
        data = read_json(marker)
    except InputError:
        data = {}
    command, outputs = data.get("command"), data.get("outputs", [])
    if data.get("schema") != "codesign.run" or not isinstance(command, str) or not isinstance(
            outputs, list) or not all(isinstance(o, str) for o in outputs):
        raise InputError(f"{marker} is not a run record codesign can read; choose another "
                         "output folder, or remove that one")
    return data


def folder_command(folder: Path) -> str | None:
    """The command whose run ``folder`` holds (None: no run.json)."""
    data = read_marker(folder)
    return None if data is None else data["command"]


class RunFolder:
    """A command's output folder (see the module docstring)."""

    def __init__(self, path: Path, command: str, option: str = "--out",
                 argv: Sequence[str] | None = None) -> None:
        self.path = Path(path)
        self.command = command
        self.option = option
        self.command_line = command_line(argv)
        """The command line that starts the run (default: this process's argv)."""
        self.started = ""
        self.completed = False
        self._lock_fd: int | None = None

    @property
    def marker(self) -> Path:
        return self.path / RUN_MARKER

    def _lock(self) -> None:
        try:
            import fcntl  # deferred: POSIX only (a folder is not locked elsewhere)
        except ImportError:  # pragma: no cover - not POSIX: no advisory locks
            return
        try:
            fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot write into {self.option} {self.path} "
                              f"({exc.strerror or exc}); choose a writable folder") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise InputError(f"{self.option} {self.path} is in use by another codesign run; "
                             "wait for it to finish, or choose another folder") from None
        self._lock_fd = fd

    def release(self) -> None:
        """Give up the folder's lock (the process's end does it too)."""
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    def _earlier_outputs(self, stale: set[str]) -> set[str]:
        """The outputs of the earlier run of this command; InputError for another command's
        folder, or for one without a record that holds files named like this run's outputs."""
        data = read_marker(self.path)
        if data is None:  # not a run's folder (or an empty one): nothing of it is removed
            return set()
        if data["command"] != self.command:
            raise InputError(f"{self.option} {self.path} holds the results of a `codesign "
                             f"{data['command']}` run; `codesign {self.command}` does not write "
                             "into another command's folder: choose another folder")
        return stale | set(data["outputs"])

    def start(self, stale: Iterable[str] = (),
              check: Callable[[], None] | None = None) -> RunFolder:
        """Take the folder for this run (see the module docstring); InputError if it may not."""
        check_output_dir(self.path, self.option)
        self._lock()
        try:
            old = self._earlier_outputs(set(stale))
            if check is not None:
                check()
        except BaseException:
            self.release()
            raise
        self.started = _now()
        root = self.path.resolve()
        for name in old:
            target = (self.path / name).resolve()
            if root in target.parents and target.is_file():
                target.unlink()
        self._record(RunRecord(self.command, RunStatus.RUNNING, self.started))
        return self

    def _record(self, record: RunRecord) -> Path:
        """Write run.json and the README for ``record``."""
        record = dataclasses.replace(record, command_line=self.command_line, cwd=os.getcwd())
        path = write_result(self.marker, record, "run")
        write_text(self.path / README, readme_text(record, self.path))
        return path

    def complete(self, outputs: Iterable[Path]) -> Path:
        """Mark the run complete, listing ``outputs`` (paths inside the folder); with
        ``CODESIGN_CHECK_RUN_FILES=1``, OutputError for a file the registry does not describe."""
        names = tuple(str(Path(p).resolve().relative_to(self.path.resolve())) for p in outputs)
        if os.environ.get(CHECK_ENV) == "1":
            unknown = undescribed(self.path, self.command)
            if unknown:
                raise OutputError(f"{self.path} holds files codesign.run_folder.RUN_FILES does "
                                  f"not describe for `{self.command}`: {', '.join(unknown[:8])}; "
                                  "add them to the registry")
        record = RunRecord(self.command, RunStatus.COMPLETE, self.started, _now(), names)
        path = self._record(record)
        self.completed = True
        return path

    def fail(self, error: BaseException) -> None:
        """Mark the run failed with ``error``'s one line (never raises)."""
        record = RunRecord(self.command, RunStatus.FAILED, self.started, _now(),
                           error=_one_line(error))
        with contextlib.suppress(CodesignError, OSError):
            self._record(record)

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc is not None and not self.completed and self.started:
                self.fail(exc)
        finally:
            self.release()
