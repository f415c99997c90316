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
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from codesign.choices import Choice
from codesign.errors import CodesignError, InputError, OutputError
from codesign.files import check_output_dir
from codesign.schema import read_json, write_result

RUN_MARKER = "run.json"
LOCK = ".codesign.lock"


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


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(exc, SystemExit):
        return "stopped by a signal"
    return " ".join(f"{type(exc).__name__}: {exc}".split()) if not isinstance(
        exc, CodesignError) else " ".join(str(exc).split())


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

    def __init__(self, path: Path, command: str, option: str = "--out") -> None:
        self.path = Path(path)
        self.command = command
        self.option = option
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
        write_result(self.marker, RunRecord(self.command, RunStatus.RUNNING, self.started), "run")
        root = self.path.resolve()
        for name in old:
            target = (self.path / name).resolve()
            if root in target.parents and target.is_file():
                target.unlink()
        return self

    def complete(self, outputs: Iterable[Path]) -> Path:
        """Mark the run complete, listing ``outputs`` (paths inside the folder)."""
        names = tuple(str(Path(p).resolve().relative_to(self.path.resolve())) for p in outputs)
        record = RunRecord(self.command, RunStatus.COMPLETE, self.started, _now(), names)
        path = write_result(self.marker, record, "run")
        self.completed = True
        return path

    def fail(self, error: BaseException) -> None:
        """Mark the run failed with ``error``'s one line (never raises)."""
        record = RunRecord(self.command, RunStatus.FAILED, self.started, _now(),
                           error=_one_line(error))
        with contextlib.suppress(CodesignError, OSError):
            write_result(self.marker, record, "run")

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc is not None and not self.completed and self.started:
                self.fail(exc)
        finally:
            self.release()
