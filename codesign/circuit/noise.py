"""The circuit noise both the netlist and the proxy model, written once.

Each neuron's summing node collects two white noise currents: the thermal noise 4 k T G of every
conductance into it (its row's cells and its feedback, G in total) and its amplifier's input
noise e_n, which the virtual ground turns into the current e_n G (at the output both give what a
voltage e_n at the amplifier's + input does, NG e_n). ngspice's transient analysis draws no
device noise of its own, so the netlist injects exactly this as one noise current per row.
"""

from __future__ import annotations

from typing import TypeVar

BOLTZMANN_J_K = 1.380649e-23
ELECTRON_C = 1.602176634e-19

Array = TypeVar("Array")


def row_noise_psd(g_total: Array, amp_noise_v_rthz: float, temperature_k: float) -> Array:
    """One-sided PSD of each row's noise current into its summing node [A^2/Hz], from the
    conductance into the node ``g_total`` [S] (numpy or torch)."""
    return 4 * BOLTZMANN_J_K * temperature_k * g_total + (amp_noise_v_rthz * g_total) ** 2


def sample_rms(psd: float, interval_s: float) -> float:
    """The rms of independent samples every ``interval_s``, linear in between (ngspice's
    TRNOISE waveform), whose one-sided PSD well below 1 / interval is ``psd``
    (2 rms^2 interval)."""
    return (psd / (2 * interval_s)) ** 0.5
