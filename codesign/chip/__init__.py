"""The chip stage: one compiled instance of a core (Chip), verified in SPICE and exported."""

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports

if TYPE_CHECKING:
    from codesign.chip.chip import Chip, ChipRun
    from codesign.chip.export import export_chip
    from codesign.chip.grid import (
        GridVerification,
        NetworkVerification,
        verify_grid,
        verify_network,
    )
    from codesign.chip.subdomain import (
        InitialGuess,
        SubdomainConfig,
        SubdomainResult,
        solve_subdomains,
    )
    from codesign.chip.summary import format_summary, summary_lines
    from codesign.chip.verify import (
        ProxySet,
        Verification,
        VerifySettings,
        verify_chip,
        verify_core,
    )
    from codesign.results.verify import TaskMetric, VerificationSummary

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
