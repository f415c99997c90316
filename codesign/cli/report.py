"""codesign report: render any run folder's Markdown and HTML report."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run", type=click.Path(file_okay=False, path_type=Path))
@click.option("--partial", is_flag=True,
              help="Render a run that did not finish (the report says so).")
def report(run: Path, partial: bool) -> None:
    """Write RUN/report/report.md and report.html (plots beside them, each from a CSV or JSON
    of RUN) for the folder of a `codesign loop`, `design`, `verify` or `noise` run (its --out)
    or of `codesign calibrate` (its --work). RUN/README.md says what each file holds.

    \b
    Examples:
      codesign report runs/loop-digits
      codesign report runs/design-digits
      codesign report runs/calibrate/transistor
    """
    from codesign.report import write_report  # deferred: the library, not for --help

    for path in write_report(run, partial):
        click.echo(f"wrote {path}")
