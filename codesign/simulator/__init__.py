"""The simulator stage: ngspice backends behind one interface, and the raw-file reader."""

from __future__ import annotations

from codesign.errors import InputError
from codesign.simulator.base import SampleResult, Simulator, SimulatorInfo, Trace
from codesign.simulator.ngspice import NgspiceInstall, NgspiceProcess, find_ngspice
from codesign.simulator.rawfile import RawPlot, read_raw

BACKENDS = ("process", "shared")


def get_simulator(backend: str = "process", **options) -> Simulator:
    """A simulator: 'process' (ngspice -b child processes, default) or 'shared' (PySpice)."""
    if backend == "process":
        return NgspiceProcess(**options)
    if backend == "shared":
        from codesign.simulator.shared import NgspiceShared

        return NgspiceShared(**options)
    raise InputError(f"unknown simulator backend {backend!r}; use one of: {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS",
    "NgspiceInstall",
    "NgspiceProcess",
    "RawPlot",
    "SampleResult",
    "Simulator",
    "SimulatorInfo",
    "Trace",
    "find_ngspice",
    "get_simulator",
    "read_raw",
]
