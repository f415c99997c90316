"""How big a job is before it runs: a compiled core's devices, deck size and memory, and the
number of samples, checked against this machine so that an oversized input is refused with its
estimate (unless forced) instead of ending in a MemoryError after minutes of work."""

from __future__ import annotations

import os
from dataclasses import dataclass

from codesign.errors import SizeError

NGSPICE_BYTES_PER_DEVICE = 650
"""ngspice 46 with KLU, measured: n = 1024 used 1.3 GB, n = 2048 5.3 GB (ideal neurons, about
two devices per weight)."""
DECK_BYTES_PER_DEVICE = 32
"""One crossbar resistor line of a deck (measured: 31 bytes at n = 256)."""
TRANSISTOR_BYTES = 20_000
"""ngspice memory per BSIM4 transistor instance of the sky130 models (measured: 16.5 kB, 1,000
to 4,000 instances; with the bins shared, codesign.netlist.pdk: each instance of the PDK's own
subcircuits took about 1 MB)."""
PYTHON_BYTES_PER_CELL = 100
"""Compile-time arrays (weights, conductances, noise) per weight position."""
MAX_SAMPLES = 100_000
"""Samples of one verification (each is a SPICE operating point) accepted without --force."""


def _human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.3g} {unit}"
        size /= 1000
    raise AssertionError  # pragma: no cover


@dataclass(frozen=True)
class SizeEstimate:
    """The footprint of an n x (n + m + 1) crossbar in differential mode (the larger mode)."""

    n: int
    m: int
    transistors_per_neuron: int = 0
    positions: int | None = None
    """Weight positions (cell pairs) of a sparse array (a grid core's stored entries); None:
    the dense n x (n + m + 1)."""

    @property
    def cells(self) -> int:
        return self.n * (self.n + self.m + 1) if self.positions is None else self.positions

    @property
    def devices(self) -> int:
        return 2 * self.cells

    @property
    def deck_bytes(self) -> int:
        return DECK_BYTES_PER_DEVICE * self.devices

    def memory_bytes(self, processes: int = 1) -> int:
        """Python's compile-time arrays plus ``processes`` ngspice processes holding the deck."""
        ngspice = (NGSPICE_BYTES_PER_DEVICE * self.devices
                   + TRANSISTOR_BYTES * self.transistors_per_neuron * self.n)
        return PYTHON_BYTES_PER_CELL * self.cells + processes * ngspice

    def describe(self, processes: int = 1) -> str:
        return (f"an n={self.n}, m={self.m} core compiles to about {self.devices:,} crossbar "
                f"devices: a {_human(self.deck_bytes)} deck and about "
                f"{_human(self.memory_bytes(processes))} of memory with {processes} ngspice "
                f"process{'es' if processes > 1 else ''}")


def memory_limit_bytes() -> int:
    """Half of this machine's physical memory."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
        return 8 * 10**9


def check_size(n: int, m: int, processes: int = 1, force: bool = False,
               transistors_per_neuron: int = 0, positions: int | None = None) -> SizeEstimate:
    """The estimate for a core of n neurons and m inputs (and transistor-level neurons of
    ``transistors_per_neuron`` each; ``positions`` weight positions where the array is
    sparse); SizeError if it needs more than half of this machine's memory, unless
    ``force``."""
    estimate = SizeEstimate(int(n), int(m), transistors_per_neuron,
                            None if positions is None else int(positions))
    limit = memory_limit_bytes()
    if not force and estimate.memory_bytes(processes) > limit:
        raise SizeError(f"{estimate.describe(processes)}, more than the {_human(limit)} (half "
                        "this machine's memory) codesign takes on; use a smaller core, fewer "
                        "--workers, or pass --force")
    return estimate


def check_samples(samples: int, force: bool = False, what: str = "") -> int:
    """``samples`` if at most MAX_SAMPLES (each one SPICE run), else SizeError unless forced."""
    if not force and samples > MAX_SAMPLES:
        if what:
            raise SizeError(f"{samples:,} {what} is more than the {MAX_SAMPLES:,} SPICE runs one "
                            "command takes on; ask for fewer or pass --force")
        raise SizeError(f"{samples:,} samples is more than the {MAX_SAMPLES:,} one verification "
                        "takes on (each is a SPICE operating point, tens per second); pass "
                        "fewer or --force")
    return samples
