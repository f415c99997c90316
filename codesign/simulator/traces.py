"""From simulator results to physical quantities: equilibria, settling time, energy; and the
one place where a deck's jobs are run and their results read as states (``run_states``).

Settling: the first time after which every activation stays within ``tol_fs`` of its operating
point value, max_i |z_i(t) - z_i*| <= tol_fs * v_fs, interpolated linearly between time points.
Energy per inference: the power delivered by the supply sources, -sum_s V_s i_s(t), integrated
from the reset (t = 0) up to the settling time. (The bound it is checked against lives in
codesign.circuit.dynamics.)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codesign.circuit.dynamics import SETTLE_TOL_FS
from codesign.netlist.deck import Deck, SampleJob
from codesign.simulator.base import SampleResult, Simulator, Trace


def op_state(result: SampleResult, deck: Deck) -> tuple[np.ndarray, np.ndarray]:
    """(z, x) of a sample's operating point, in units of v_fs."""
    z = np.array([result.op[name] for name in deck.z_vectors]) / deck.v_fs
    x = np.array([result.op[name] for name in deck.x_vectors]) / deck.v_fs
    return z, x


def settling_time(time: np.ndarray, deviation: np.ndarray, tol: float) -> float:
    """First time after which ``deviation`` stays <= ``tol``; NaN if it never does.

    The crossing is interpolated linearly in log(deviation), exact for an exponential decay.
    """
    above = np.flatnonzero(deviation > tol)
    if len(above) == 0:
        return float(time[0])
    k = above[-1]
    if k == len(time) - 1:
        return math.nan
    d0, d1 = deviation[k], max(deviation[k + 1], tol * 1e-12)
    frac = math.log(d0 / tol) / math.log(d0 / d1)
    return float(time[k] + frac * (time[k + 1] - time[k]))


def integrate_until(time: np.ndarray, values: np.ndarray, t_end: float) -> float:
    """Trapezoidal integral of ``values`` over [time[0], t_end] (linear in between points)."""
    if not math.isfinite(t_end):
        t_end = float(time[-1])
    keep = time < t_end
    t = np.append(time[keep], t_end)
    v = np.append(values[keep], np.interp(t_end, time, values))
    return float(np.sum(0.5 * (v[1:] + v[:-1]) * np.diff(t)))


def supply_power(trace: Trace, supplies: dict[str, float]) -> np.ndarray:
    """Power delivered by the given supply sources [W] at each time point."""
    return -sum(volts * trace.vectors[f"i({name})"] for name, volts in supplies.items())


@dataclass(frozen=True)
class TransientMetrics:
    """Settling and energy of one transient from reset."""

    settling_time_s: float
    """NaN when the trace never settles within the tolerance."""
    final_error_fs: float
    """max_i |z_i(t_end) - z_i*| / v_fs, against the operating point."""
    core_energy_j: float
    """Energy from the neurons' supplies up to settling [J]."""
    input_energy_j: float
    """Energy from the input DACs' and bias reference's supplies up to settling [J]."""
    activation_energy_j: float = 0.0
    """The part of core_energy_j from the activations' own rails (the CMOS level) [J]."""
    final_power_w: float = math.nan
    """Power from every supply at the sampling instant (settling, or the trace's end) [W]: what
    the biased core draws while its outputs are converted."""
    z_sampled: tuple[float, ...] = ()
    """(n,) the activations at the sampling instant [FS] (what the ADCs convert)."""
    bias_energy_j: float = 0.0
    """The part of core_energy_j from the bias reference's own rails, where it is in the deck
    (codesign.parts.base.Bias.in_deck) [J]."""

    @property
    def energy_j(self) -> float:
        return self.core_energy_j + self.input_energy_j


def transient_metrics(
    result: SampleResult, deck: Deck, z_op: np.ndarray, tol_fs: float = SETTLE_TOL_FS
) -> TransientMetrics:
    """Settling time and energy of ``result``'s transient against its operating point ``z_op``
    (units of v_fs). The first time point (not exactly the initial condition) is dropped."""
    trace = result.tran
    if trace is None:
        raise ValueError(f"sample {result.index} has no transient")
    time = trace.time[1:]
    z = np.stack([trace.vectors[name][1:] for name in deck.z_vectors]) / deck.v_fs
    deviation = np.abs(z - z_op[:, None]).max(0)
    t_s = settling_time(time, deviation, tol_fs)
    t_end = t_s if math.isfinite(t_s) else float(time[-1])
    sliced = Trace(time, {k: v[1:] for k, v in trace.vectors.items()})
    power = supply_power(sliced, {**deck.core_supplies, **deck.input_supplies})
    return TransientMetrics(
        settling_time_s=t_s,
        final_error_fs=float(deviation[-1]),
        core_energy_j=integrate_until(time, supply_power(sliced, deck.core_supplies), t_end),
        input_energy_j=integrate_until(time, supply_power(sliced, deck.input_supplies), t_end),
        activation_energy_j=integrate_until(
            time, supply_power(sliced, deck.activation_supplies), t_end)
        if deck.activation_supplies else 0.0,
        bias_energy_j=integrate_until(time, supply_power(sliced, deck.bias_supplies), t_end)
        if deck.bias_supplies else 0.0,
        final_power_w=float(np.interp(t_end, time, power)),
        z_sampled=tuple(float(np.interp(t_end, time, row)) for row in z),
    )


@dataclass(frozen=True, eq=False)
class SampleState:
    """One simulated sample as physical quantities: the operating point (units of v_fs) and,
    for a transient, its settling and energy (and the raw result, for its trace)."""

    index: int
    z: np.ndarray
    """(n,) activations phi(x_i)."""
    x: np.ndarray
    """(n,) pre-activations (op-amp outputs)."""
    transient: TransientMetrics | None = None
    result: SampleResult | None = None


def sample_state(result: SampleResult, deck: Deck, tol_fs: float = SETTLE_TOL_FS,
                 keep: bool = False) -> SampleState:
    """``result`` as a SampleState (``keep``: with the raw result, for its trace)."""
    z, x = op_state(result, deck)
    metrics = transient_metrics(result, deck, z, tol_fs) if result.tran is not None else None
    return SampleState(result.index, z, x, metrics, result if keep else None)


def run_states(simulator: Simulator, deck: Deck, jobs: list[SampleJob], analysis: str,
               run_dir: Path, tol_fs: float = SETTLE_TOL_FS,
               keep: bool = False) -> Iterator[SampleState]:
    """Run ``jobs`` on ``deck`` and yield each sample's state as it finishes (any order)."""
    for result in simulator.run(deck, jobs, analysis, Path(run_dir)):
        yield sample_state(result, deck, tol_fs, keep)
