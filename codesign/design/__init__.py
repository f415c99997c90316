"""The design search: the CMOS circuit's parameters chosen jointly with physics-aware training,
screened by the proxy and measured in SPICE (``codesign design``)."""

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports

if TYPE_CHECKING:
    from codesign.design.choose import ChosenDesign
    from codesign.design.energy import EnergyBreakdown
    from codesign.design.search import run_design
    from codesign.design.settings import DesignSettings
    from codesign.design.space import Design, DesignSpace
    from codesign.design.trial import TrialResult
    from codesign.design.verify import VerifiedDesign

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
