"""The report's plots, each drawn from one CSV of the run (matplotlib, no display)."""

from __future__ import annotations

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


def robustness(curves: pd.DataFrame, points: pd.DataFrame, metric: str, path: Path) -> Path:
    axes_names = list(AXIS_LABELS)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    for ax, axis in zip(axes, axes_names, strict=True):
        for k, (model, part) in enumerate(curves[curves.axis == axis].groupby("model")):
            ax.errorbar(part.value, part.metric_mean, yerr=part.metric_sd, marker="o",
                        color=f"C{k}", capsize=3, label=f"{model} (proxy)")
            if len(points):
                spice = points[(points.axis == axis) & (points.model == model)]
                ax.scatter(spice.value, spice.circuit, marker="*", s=120, color=f"C{k}",
                           edgecolor="k", zorder=5, label=f"{model} (SPICE)")
        if axis == "dc_gain":
            ax.set_xscale("log")
        ax.set_xlabel(AXIS_LABELS[axis])
        ax.set_ylabel(metric)
    axes[0].legend(fontsize=7)
    return _save(fig, path)


def energy(data: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 3.8))
    y = np.arange(len(data))
    ax.barh(y, data.energy_j, color=["C3"] + ["C0"] * 3 + ["C2"] * (len(data) - 4))
    ax.set_yticks(y, data.system, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("energy per inference of the core [J]")
    ax.invert_yaxis()
    return _save(fig, path)


def rounds(data: pd.DataFrame, metric: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for col in ("digital", "proxy", "circuit"):
        ax.plot(data["round"], data[col], marker="o", label=col)
    ax.axhline(data.reference_digital.iloc[0], color="k", ls=":", label="digital DEQ (naive)")
    ax.set_xlabel("round")
    ax.set_ylabel(metric)
    ax.set_xticks(data["round"])
    ax.legend(fontsize=7)
    return _save(fig, path)


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
