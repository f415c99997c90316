"""The co-design loop: train through the calibrated proxy, verify in SPICE, re-fit the proxy on
the new traces, repeat; then seeds, robustness, energy and latency against digital baselines.

    results.py     the typed summary      context.py   what the stages share; training
    runs.py        a model on one chip    rounds.py    the rounds
    baselines.py   baselines and seeds    robustness.py  proxy curves, SPICE points
    energy.py      energy and latency     acceptance.py  the verdicts
    pipeline.py    run_loop: all of it into one run folder
"""

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports

if TYPE_CHECKING:
    from codesign.loop.pipeline import run_loop
    from codesign.results.loop import LoopSettings, LoopSummary

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
