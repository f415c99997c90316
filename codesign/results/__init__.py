"""Typed results of every run, as the commands write them to disk (codesign.schema reads them
back) and the report reads them: below every stage that produces them and the report that
renders them.

    verify.py       a chip verified in SPICE (summary.json of ``codesign verify``)
    calibration.py  a calibration's evaluation and a re-fit on a chip's traces
    loop.py         a co-design loop run (summary.json of ``codesign loop``)
"""

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports

if TYPE_CHECKING:
    from codesign.results.calibration import (
        FitLoss,
        MismatchCheck,
        PointEvaluation,
        ProxyKind,
        ProxyResiduals,
        RefitResult,
        Residuals,
        Role,
        SettlingCheck,
    )
    from codesign.results.loop import (
        BaselineRow,
        DigitalSolve,
        EnergyResult,
        LoopSettings,
        LoopSummary,
        ModelRun,
        RoundRecord,
    )
    from codesign.results.verify import (
        EnergySpread,
        ErrorStats,
        ProxyCheck,
        SettlingSummary,
        Spread,
        TaskMetric,
        VerificationSummary,
    )

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
