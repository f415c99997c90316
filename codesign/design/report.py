"""What a design search shows: the front's plot beside the digital baselines, the published
analog chips and the noise floor, and the chosen design's energy beside the digital solve's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from codesign.deq.checkpoint import load_checkpoint
from codesign.design.choose import BASE_MODEL, ChosenDesign, NoDesignChosen
from codesign.files import atomic_write
from codesign.loop.energy import energy_table, measured_solve, reference_energies
from codesign.tasks.base import Task
from codesign.training.train import encode


def energy_comparison(task: Task, out: Path, chosen: ChosenDesign) -> pd.DataFrame:
    """The chosen design's energy per inference beside the digital solve of the same core on
    the reference systems (loop.energy.energy_table; the solve's iterations measured here on
    the digital DEQ)."""
    model = load_checkpoint(out / BASE_MODEL, task=task.name).model
    digital = measured_solve(model, encode(model, task.x_test[:256]))
    rows = energy_table(model.config.core_size, model.config.core_inputs, chosen.energy_j,
                        digital)
    rows[0]["system"] = (f"this circuit: sky130 CMOS design {chosen.number} (its energy card: "
                         "SPICE settled to a quarter of an ADC LSB, every line)")
    return pd.DataFrame(rows)


UNSETTLED_LABEL = "unsettled in SPICE: settling and energy not measured (never chosen)"
"""The legend entry of the designs whose transients had not settled (their own marker)."""


def plot_front(path: Path, task: Task, trials: pd.DataFrame, front: pd.DataFrame,
               chosen: ChosenDesign | NoDesignChosen | None, reference: float) -> Path:
    """Energy per inference vs the task metric, settling time as colour: screened designs
    (proxy, whole test set), SPICE-measured ones (their samples; a design with an unsettled
    transient as a red cross, outside the colour scale: its settling and energy are the
    simulated window's), the chosen one (whole test set; none where none settled); the
    digital DEQ on both sample sets (``reference``: on the measured designs' samples) and the
    reference systems' energy for the same work as lines; the noise floor."""
    fig = front_figure(task, trials, front, chosen, reference)
    # deferred: matplotlib takes a second to import (front_figure has loaded it)
    import matplotlib.pyplot as plt

    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=130, format="png"))
    plt.close(fig)
    return path


def front_figure(task: Task, trials: pd.DataFrame, front: pd.DataFrame,
                 chosen: ChosenDesign | NoDesignChosen | None, reference: float):
    """The figure plot_front saves (a matplotlib Figure)."""
    # deferred: matplotlib takes a second to import and only the end of a search plots
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred with matplotlib (above)

    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.scatter(trials.energy_j, trials.metric_proxy, s=12, c="0.75",
               label="screened (proxy energy and metric)")
    unsettled = front.unsettled.to_numpy() > 0
    settled = front[~unsettled]
    samples = int(front.samples.iloc[0])
    if len(settled):
        points = ax.scatter(settled.energy_j, settled.metric_spice,
                            c=settled.settling_s * 1e6, cmap="viridis", s=30, edgecolors="k",
                            linewidths=0.4, label=f"measured in SPICE ({samples} samples)")
        fig.colorbar(points, ax=ax, label="settling time [us] (SPICE)")
    if unsettled.any():
        ax.scatter(front.energy_j[unsettled], front.metric_spice[unsettled], marker="x", s=40,
                   c="tab:red", linewidths=1.2, label=UNSETTLED_LABEL)
    if isinstance(chosen, ChosenDesign):
        ax.scatter([chosen.energy_j], [chosen.metric_spice], marker="*", s=220, c="red",
                   label=f"chosen, SPICE ({chosen.samples} samples)")
        ax.axhline(chosen.metric_digital, color="k", ls="--", lw=0.8,
                   label=f"digital DEQ ({chosen.samples} samples)")
    else:
        ax.plot([], [], " ", label="no design chosen: none settled in SPICE")
    ax.axhline(reference, color="0.4", ls=":", lw=0.8,
               label=f"digital DEQ (the {int(front.samples.iloc[0])} measured samples)")
    macs = int(trials.macs.iloc[0]) if "macs" in trials else None
    for name, energy in reference_energies(task.profile.core_size, task.profile.core_inputs,
                                           macs):
        ax.axvline(energy, ls=":", lw=0.8, color="tab:blue")
        ax.text(energy, ax.get_ylim()[1], name, rotation=90, va="top", ha="right", fontsize=6)
    floor = noise_floor_j(trials)
    if floor is not None:
        ax.axvspan(ax.get_xlim()[0], floor, color="tab:red", alpha=0.08,
                   label="noise above half an 8-bit LSB")
    ax.set_xscale("log")
    ax.set_xlabel("energy per inference [J], incl. DAC/ADC")
    ax.set_ylabel(f"{task.metric.name}")
    ax.set_title(f"{task.name}: sky130 CMOS design search")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def noise_floor_j(trials: pd.DataFrame) -> float | None:
    """The screened energy below which the predicted noise spread exceeds half an 8-bit LSB
    (1 / 256 FS): thermal noise power scales as 1 / current, so spread^2 x energy is about
    constant across designs (median over the screened ones)."""
    spread = trials.noise_fs.to_numpy()
    ok = np.isfinite(spread) & (spread > 0)
    if not ok.any():
        return None
    constant = float(np.median(spread[ok] ** 2 * trials.energy_j.to_numpy()[ok]))
    return constant / (1 / 256) ** 2
