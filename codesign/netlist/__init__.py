"""The netlist stage: the circuit as typed elements, the one ngspice writer, the model
libraries, and the conversion to PySpice."""

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports

if TYPE_CHECKING:
    from codesign.netlist.deck import Analysis, Deck, SampleJob, make_jobs
    from codesign.netlist.pyspice import to_pyspice
    from codesign.netlist.spice import standalone_deck, write_deck

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
