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


def get_simulator(backend: str = "process", *, executable: str | None = None,
                  workers: int | None = None, timeout_s: float | None = None,
                  keep_raw: bool = False, sweep: bool = True):
    """A simulator: 'process' (``ngspice -b`` child processes on ``workers`` cores, default
    all) or 'shared' (libngspice in this process through PySpice, one core). ``timeout_s``
    bounds each ngspice run (default 600 s); ``sweep``: operating points as .dc sweeps."""
    # deferred: each backend loads only when asked for (the shared one imports PySpice)
    from codesign.jobs import check_workers
    from codesign.simulator.ngspice import DEFAULT_TIMEOUT_S

    check_workers(workers, "simulator workers")
    timeout_s = DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s
    if Backend.parse(backend, "simulator backend") == Backend.PROCESS:
        from codesign.simulator.ngspice import NgspiceProcess  # deferred (above)

        return NgspiceProcess(executable, workers, timeout_s, keep_raw, sweep=sweep)
    from codesign.simulator.shared import NgspiceShared  # deferred: imports PySpice

    return NgspiceShared(timeout_s=timeout_s, sweep=sweep)


if TYPE_CHECKING:
    from codesign.simulator.base import SampleResult, Simulator, SimulatorInfo, Trace
    from codesign.simulator.ngspice import NgspiceInstall, NgspiceProcess, find_ngspice
    from codesign.simulator.rawfile import RawPlot, read_raw
    from codesign.simulator.store import ResultStore
    from codesign.simulator.traces import SampleState, run_states

__getattr__, __dir__, _LAZY = lazy_exports(__name__, __file__)
__all__ = sorted([*_LAZY, "BACKENDS", "Backend", "get_simulator"])
