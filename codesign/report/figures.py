"""The report's plots, each drawn from one CSV of the run (matplotlib, no display)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from codesign.files import atomic_write  # noqa: E402

AXIS_LABELS = {"mismatch_sigma": "conductance mismatch sigma", "bits": "bits per cell",
               "dc_gain": "op-amp DC gain [V/V]"}


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return path


def settling(data: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for k, (neuron, part) in enumerate(data.groupby("neuron")):
        color = f"C{k}"
        ax.plot(part.time_s * 1e6, part.z_spice, color=color, label=f"neuron {neuron} SPICE")
        ax.plot(part.time_s * 1e6, part.z_proxy, color=color, ls="--", label="proxy")
    ax.set_xlabel("time from reset [us]")
    ax.set_ylabel("z [FS]")
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def parity(data: pd.DataFrame, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.8))
    for ax, col, name in ((axes[0], "z_digital", "PyTorch z*"), (axes[1], "z_proxy", "proxy z*")):
        ax.scatter(data[col], data.z_spice, s=3, alpha=0.5)
        lim = [min(data[col].min(), data.z_spice.min()), max(data[col].max(), data.z_spice.max())]
        ax.plot(lim, lim, "k-", lw=0.7)
        rms = float(np.sqrt(np.mean((data[col] - data.z_spice) ** 2)))
        ax.set_title(f"SPICE vs {name}: RMS {rms:.2e} FS", fontsize=9)
        ax.set_xlabel(f"{name} [FS]")
        ax.set_ylabel("SPICE z* [FS]")
    return _save(fig, path)


def off_axis(part: pd.DataFrame, y: str = "metric_mean") -> pd.Series:
    """Rows at the axis's smallest value (the 1-bit point of "bits per cell") whose ``y`` lies
    more than three times the other points' range beyond them: drawn, they flatten the
    panel, so they are left off it and named in a note instead."""
    low = part.value == part.value.min()
    rest = part.loc[~low, y]
    if rest.empty or low.all():
        return pd.Series(False, index=part.index)
    lo, hi = float(rest.min()), float(rest.max())
    span = max(hi - lo, 1e-3 * max(abs(lo), abs(hi)), 1e-12)
    values = part[y]
    return low & ((values > hi + 3 * span) | (values < lo - 3 * span))


def robustness_figure(curves: pd.DataFrame, points: pd.DataFrame, metric: str):
    """The three robustness panels; on "bits per cell" a point that would flatten the panel
    (:func:`off_axis`) is left off with a note giving its value."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
    for ax, axis in zip(axes, AXIS_LABELS, strict=True):
        notes = []
        for k, (model, part) in enumerate(curves[curves.axis == axis].groupby("model")):
            hide = off_axis(part) if axis == "bits" else pd.Series(False, index=part.index)
            shown = part[~hide]
            notes += [f"{model} at {v:g} bit: {m:.4g} (off the axis)"
                      for v, m in zip(part[hide].value, part[hide].metric_mean, strict=True)]
            ax.errorbar(shown.value, shown.metric_mean, yerr=shown.metric_sd, marker="o",
                        color=f"C{k}", capsize=3, label=f"{model} (proxy)")
            if len(points):
                spice = points[(points.axis == axis) & (points.model == model)]
                spice = spice[~spice.value.isin(part[hide].value)]
                ax.scatter(spice.value, spice.circuit, marker="*", s=120, color=f"C{k}",
                           edgecolor="k", zorder=5, label=f"{model} (SPICE)")
        if axis == "dc_gain":
            ax.set_xscale("log")
        if notes:
            ax.text(0.02, 0.98, "\n".join(notes), transform=ax.transAxes, fontsize=6,
                    va="top", ha="left", color="0.3")
        ax.set_xlabel(AXIS_LABELS[axis])
        ax.set_ylabel(metric)
    axes[0].legend(fontsize=7)
    return fig


def robustness(curves: pd.DataFrame, points: pd.DataFrame, metric: str, path: Path) -> Path:
    return _save(robustness_figure(curves, points, metric), path)


def _wrap(label: str, width: int = 46) -> str:
    return "\n".join(textwrap.wrap(str(label), width)) or str(label)


def energy_figure(data: pd.DataFrame):
    """Energy per system as horizontal bars; the systems' names wrapped, so that none is cut
    off at the figure's edge (the figure grows with their lines)."""
    labels = [_wrap(name) for name in data.system]
    lines = sum(label.count("\n") + 1 for label in labels)
    fig, ax = plt.subplots(figsize=(10, 1.3 + 0.22 * lines + 0.12 * len(data)))
    y = np.arange(len(data))
    ax.barh(y, data.energy_j, color=["C3"] + ["C0"] * 3 + ["C2"] * (len(data) - 4))
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("energy per inference of the core [J]")
    ax.invert_yaxis()
    return fig


def energy(data: pd.DataFrame, path: Path) -> Path:
    return _save(energy_figure(data), path)


ROUND_STYLES = {"digital": ("o", 9, -0.15), "proxy": ("s", 7, 0.0), "circuit": ("^", 6, 0.15)}
"""Marker, size and x offset [rounds] per series: equal values stay visible side by side."""


def rounds_figure(data: pd.DataFrame, metric: str):
    """The metric per round: digital, proxy, circuit, each with its own marker, offset a little
    along x so that equal values (the proxy and the circuit often agree) do not hide one
    another; values are labelled when there is a single round."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for col, (marker, size, dx) in ROUND_STYLES.items():
        ax.plot(data["round"] + dx, data[col], marker=marker, ms=size, mfc="none", mew=1.5,
                label=col)
        if len(data) == 1:
            ax.annotate(f"{data[col].iloc[0]:.4g}", (data["round"].iloc[0] + dx,
                        data[col].iloc[0]), textcoords="offset points",
                        xytext=(6, 0), fontsize=7, va="center")
    ax.axhline(data.reference_digital.iloc[0], color="k", ls=":", label="digital DEQ (naive)")
    ax.set_xlabel("round")
    ax.set_ylabel(metric)
    ax.set_xticks(data["round"])
    ax.set_xlim(data["round"].min() - 0.5, data["round"].max() + 0.5)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4)
    return fig


def rounds(data: pd.DataFrame, metric: str, path: Path) -> Path:
    return _save(rounds_figure(data, metric), path)


def seeds(data: pd.DataFrame, metric: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3.4))
    names = ["digital_test", "proxy_chips_mean", "circuit_subset"]
    width = 0.38
    x = np.arange(len(names))
    for k, (training, part) in enumerate(data.groupby("training")):
        ax.bar(x + (k - 0.5) * width, part[names].mean(), width, yerr=part[names].std(ddof=0),
               capsize=3, label=f"{training} ({len(part)} seeds)")
    ax.set_xticks(x, ["digital (test set)", "proxy chips (test set)", "SPICE chip (subset)"],
                  fontsize=8)
    ax.set_ylabel(metric)
    lo = np.nanmin(data[names].to_numpy())
    hi = np.nanmax(data[names].to_numpy())
    ax.set_ylim(lo - 0.2 * (hi - lo + 1e-9), hi + 0.2 * (hi - lo + 1e-9))
    ax.legend(fontsize=7)
    return _save(fig, path)


def trajectories(data: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3.4))
    styles = {"expert": ":", "digital": "-", "proxy": "-.", "circuit": "--"}
    for k, (policy, part) in enumerate(data.groupby("policy")):
        for episode, ep in part.groupby("episode"):
            ax.plot(ep.time_s, ep.theta_rad, ls=styles.get(policy, "-"), color=f"C{k}", lw=0.9,
                    label=policy if episode == 0 else None)
    ax.set_xlabel("time [s]")
    ax.set_ylabel("angle from upright [rad]")
    ax.legend(fontsize=7)
    return _save(fig, path)


def breakdown(parts: pd.DataFrame, title: str, path: Path) -> Path:
    """One design's energy per inference by part (columns part, energy_j) as bars."""
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.35 * len(parts)))
    y = np.arange(len(parts))
    ax.barh(y, parts.energy_j * 1e12, color="C0")
    ax.set_yticks(y, parts.part, fontsize=8)
    for k, value in enumerate(parts.energy_j * 1e12):
        ax.annotate(f"{value:.3g} pJ", (value, k), textcoords="offset points", xytext=(4, 0),
                    va="center", fontsize=7)
    ax.set_xlabel("energy per inference [pJ]")
    ax.set_title(title, fontsize=9)
    ax.invert_yaxis()
    ax.margins(x=0.2)
    return _save(fig, path)


def verify_parity(data: pd.DataFrame, path: Path) -> Path:
    """SPICE equilibria against PyTorch's (and the proxy's, where the table has them)."""
    others = [(c, n) for c, n in (("z_torch", "PyTorch z*"), ("z_proxy", "proxy z*"))
              if c in data.columns and data[c].notna().any()]
    fig, axes = plt.subplots(1, len(others), figsize=(4.2 * len(others), 3.8), squeeze=False)
    for ax, (col, name) in zip(axes[0], others, strict=True):
        ax.scatter(data[col], data.z_spice, s=4, alpha=0.5)
        lim = [min(data[col].min(), data.z_spice.min()), max(data[col].max(), data.z_spice.max())]
        ax.plot(lim, lim, "k-", lw=0.7)
        rms = float(np.sqrt(np.nanmean((data[col] - data.z_spice) ** 2)))
        ax.set_title(f"SPICE vs {name}: RMS {rms:.2e} FS", fontsize=9)
        ax.set_xlabel(f"{name} [FS]")
        ax.set_ylabel("SPICE z* [FS]")
    return _save(fig, path)


def spreads(data: pd.DataFrame, path: Path) -> Path:
    """Per neuron, the spread of the equilibria under noise: SPICE (filled) against the
    proxy (hollow), for each set of inputs."""
    sets = [c[:-len("_spice_fs")] for c in data.columns if c.endswith("_spice_fs")]
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for k, name in enumerate(sets):
        x = data.neuron + (k - (len(sets) - 1) / 2) * 0.12
        ax.scatter(x, data[f"{name}_spice_fs"], color=f"C{k}", s=18, label=f"{name} SPICE")
        ax.scatter(x, data[f"{name}_proxy_fs"], facecolors="none", edgecolors=f"C{k}", s=40,
                   label=f"{name} proxy")
    ax.set_yscale("log")
    ax.set_xlabel("neuron")
    ax.set_ylabel("spread of z* [FS]")
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)
