"""The ``codesign`` command line: a thin layer over the library.

Every CodesignError becomes a one-line ``Error: ...`` and exit status 2, without a traceback.
"""

from __future__ import annotations

import click

from codesign import __version__
from codesign.errors import CodesignError


class UserError(click.ClickException):
    """A CodesignError as click reports it: one line, exit status 2."""

    exit_code = 2


class CodesignGroup(click.Group):
    """Turns CodesignError from any command into UserError."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CodesignError as exc:
            raise UserError(str(exc)) from None


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


def _register() -> None:
    from codesign.cli.calibrate import calibrate_command
    from codesign.cli.export import export
    from codesign.cli.info import info
    from codesign.cli.loop import loop
    from codesign.cli.report import report
    from codesign.cli.train import train
    from codesign.cli.verify import verify

    for command in (train, export, verify, loop, report, info):
        main.add_command(command)
    main.add_command(calibrate_command, "calibrate")


_register()
