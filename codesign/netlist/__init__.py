"""The netlist stage: the circuit as typed elements, the one ngspice writer, the model
libraries, and the conversion to PySpice."""

from codesign.netlist.deck import Deck, SampleJob, make_jobs
from codesign.netlist.spice import standalone_deck, write_deck

__all__ = ["Deck", "SampleJob", "make_jobs", "standalone_deck", "write_deck"]
