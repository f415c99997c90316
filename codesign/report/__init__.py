"""``codesign report RUN``: the Markdown and HTML report of a loop run, with its plots; every
plot is drawn from a CSV of the run, which the report links."""

from codesign.report.content import acceptance, write_report

__all__ = ["acceptance", "write_report"]
