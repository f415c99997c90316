"""``codesign report RUN``: the Markdown and HTML report of a run folder (loop, design,
verify, calibrate, noise), with its plots; every plot is drawn from a CSV or JSON of the run,
which the report links."""

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports

if TYPE_CHECKING:
    from codesign.report.content import load_summary, write_report

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
