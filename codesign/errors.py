"""Every error codesign raises on purpose.

Each message is one line that names the problem and the fix. The CLI prints it and exits with
status 2; library users catch :class:`CodesignError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class CodesignError(Exception):
    """Base class: a problem the user can fix, described in one line."""


class InputError(CodesignError, ValueError):
    """Bad user input: shapes, non-finite values, unknown names, bad files."""


class CheckpointError(InputError):
    """A checkpoint that codesign will not or cannot load."""


class UnstableCoreError(InputError):
    """A core whose W is not a contraction, so the circuit may have several equilibria."""


class SizeError(InputError):
    """A job larger than this machine should take on (refused with the estimate unless forced)."""


class OutputError(CodesignError):
    """An output that cannot be written: a path that is not a writable folder, a full disk."""


class NgspiceNotFoundError(CodesignError):
    """No ngspice executable (or shared library) on this machine."""


class SimulationError(CodesignError):
    """ngspice failed, did not converge, timed out, or wrote no complete and finite result.

    Keeps the command, ngspice's stdout and stderr and the run directory (left on disk) so the
    failing deck can be rerun by hand.
    """

    def __init__(
        self,
        reason: str,
        *,
        command: list[str] | str = "",
        stdout: str = "",
        stderr: str = "",
        run_dir: Path | None = None,
    ) -> None:
        self.reason = reason
        self.command = command
        self.stdout = stdout
        self.stderr = stderr
        self.run_dir = run_dir
        where = f"; deck, stdout and stderr kept in {run_dir}" if run_dir else ""
        super().__init__(f"{reason}{where}")


def lookup(registry: Mapping[str, T], name: str, what: str, *, ordered: bool = False) -> T:
    """``registry[name]``, or InputError naming the valid choices (sorted unless ``ordered``)."""
    try:
        return registry[name]
    except KeyError:
        valid = ", ".join(registry if ordered else sorted(registry))
        raise InputError(f"unknown {what} {name!r}; use one of: {valid}") from None
