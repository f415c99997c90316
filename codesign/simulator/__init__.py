"""The simulator stage: ngspice backends behind one interface, the raw-file reader, the
results as physical quantities (traces), and the store of finished jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports
from codesign.choices import Choice


class Backend(Choice):
    """How codesign runs ngspice."""

    PROCESS = "process"
    """``ngspice -b`` child processes on all cores (default; a time-out kills a hang)."""
    SHARED = "shared"
    """libngspice in this process, through PySpice (one core)."""


BACKENDS = tuple(Backend.values())


def get_simulator(backend: str = "process", **options):
    """A simulator: 'process' (ngspice -b child processes, default) or 'shared' (PySpice)."""
    if Backend.parse(backend, "simulator backend") == Backend.PROCESS:
        from codesign.simulator.ngspice import NgspiceProcess

        return NgspiceProcess(**options)
    from codesign.simulator.shared import NgspiceShared

    return NgspiceShared(**{k: v for k, v in options.items() if k in ("timeout_s", "sweep")})


if TYPE_CHECKING:
    from codesign.simulator.base import SampleResult, Simulator, SimulatorInfo, Trace
    from codesign.simulator.ngspice import NgspiceInstall, NgspiceProcess, find_ngspice
    from codesign.simulator.rawfile import RawPlot, read_raw
    from codesign.simulator.store import ResultStore
    from codesign.simulator.traces import SampleState, run_states

__getattr__, __dir__, _LAZY = lazy_exports(__name__, __file__)
__all__ = sorted([*_LAZY, "BACKENDS", "Backend", "get_simulator"])
