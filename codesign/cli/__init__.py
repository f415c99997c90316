"""The ``codesign`` command line: a thin layer over the library (codesign's public API).

Every CodesignError, and any OSError (an unwritable folder, a full disk), becomes a one-line
``Error: ...`` and exit status 2, without a traceback. SIGTERM stops a command the way Ctrl-C
does: the ngspice processes it started are killed and what is finished stays on disk. Command
modules import the library inside their functions, so ``codesign --help`` stays light.

Without a terminal (nohup, CI) every line reaches the log as it is written (stdout and stderr
line-buffered, the Python processes a command starts unbuffered), long commands print a
progress line at least every 20 s (codesign.jobs.ProgressLines), and warnings (an option that
does not apply, samples too few to resolve a target) are one ``warning: ...`` line on stderr.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

import click

from codesign._version import __version__
from codesign.cli.calibrate import calibrate_command
from codesign.cli.design import design
from codesign.cli.export import export
from codesign.cli.grid import grid
from codesign.cli.info import info
from codesign.cli.loop import loop
from codesign.cli.noise import noise
from codesign.cli.options import terminal
from codesign.cli.report import report
from codesign.cli.train import train
from codesign.cli.verify import verify
from codesign.errors import CodesignError


class UserError(click.ClickException):
    """A CodesignError as click reports it: one line, exit status 2."""

    exit_code = 2


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


class CodesignGroup(click.Group):
    """Turns CodesignError and OSError from any command into UserError."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CodesignError as exc:
            raise UserError(_one_line(exc)) from None
        except BrokenPipeError:  # the reader went away (``codesign info | head``): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            raise UserError(f"{exc.strerror or exc}{where}; check the path, its permissions "
                            "and the free disk space") from None
        except MemoryError:
            raise UserError("out of memory; use a smaller core or fewer samples") from None


def _terminate(signum, frame) -> None:
    sys.exit(128 + signum)


def _line_buffered() -> None:
    """Without a terminal, lines reach a log (or a pipe) as they are written: this process's
    stdout and stderr are line-buffered, and Python processes it starts (the design search's
    trials) run unbuffered."""
    if terminal():
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(line_buffering=True)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")


@click.group(cls=CodesignGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="codesign")
def main() -> None:
    """SPICE in the training loop of deep equilibrium models for analog hardware.

    \b
    Typical session:
      codesign train --task digits --out runs/digits.pt
      codesign export runs/digits.pt --neuron opamp --out runs/netlist
      codesign verify runs/digits.pt --neuron opamp --samples 200 --analysis tran --out runs/verify
      codesign calibrate --spec calibration/transistor.toml --out calibration/transistor.json
      codesign loop --task digits --out runs/loop-digits     # ends with the report's path
    """
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)
    _line_buffered()


for _command in (train, export, verify, loop, design, report, noise, info, grid):
    main.add_command(_command)
main.add_command(calibrate_command, "calibrate")
