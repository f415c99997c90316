"""The fit report of a calibration: Markdown, JSON, the sweep table (Parquet) and plots, each
plot with the CSV of the numbers behind it."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from codesign.calibration.calibrate import Calibration, PointResult  # noqa: E402
from codesign.calibration.residuals import predict  # noqa: E402
from codesign.files import atomic_write, write_json, write_table, write_text  # noqa: E402
from codesign.jobs import plural  # noqa: E402
from codesign.proxy.params import ideal_params  # noqa: E402
from codesign.results.calibration import ProxyKind  # noqa: E402


def _parity_frame(point: PointResult) -> pd.DataFrame:
    frames = []
    for d in point.data.holdout:
        config = d.probe.config
        v_fs = config.mapping.v_fs
        frames.append(pd.DataFrame({
            "n": d.probe.n, "rho": d.probe.rho, "core": d.probe.core_index,
            "z_spice": d.z.numpy().ravel(),
            "z_calibrated": predict(point.params, d, v_fs).ravel(),
            "z_ideal": predict(ideal_params(config), d, v_fs).ravel(),
        }))
    return pd.concat(frames, ignore_index=True)


def _figure(path: Path, frame: pd.DataFrame, draw) -> list[Path]:
    fig, ax = plt.subplots(figsize=(5.5, 4.2), constrained_layout=True)
    draw(ax, frame)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return [path, write_table(path.with_suffix(".csv"), frame)]


def _parity(ax, f: pd.DataFrame) -> None:
    ax.plot(f.z_spice, f.z_ideal, ".", ms=2, alpha=0.5, label="ideal proxy (uncalibrated)")
    ax.plot(f.z_spice, f.z_calibrated, ".", ms=2, alpha=0.5, label="calibrated proxy")
    ax.plot([-1, 1], [-1, 1], "k-", lw=0.5)
    ax.set(xlabel="z SPICE [FS]", ylabel="z proxy [FS]", title="held-out equilibria")
    ax.legend(loc="upper left")


def _residuals(ax, f: pd.DataFrame) -> None:
    for col, label in (("z_ideal", "ideal proxy"), ("z_calibrated", "calibrated proxy")):
        err = (f[col] - f.z_spice).to_numpy()
        rms = 100 * np.sqrt(np.mean(err**2))
        ax.hist(err * 100, bins=80, alpha=0.6, label=f"{label}: RMS {rms:.3f} % FS")
    ax.set(xlabel="z proxy - z SPICE [% FS]", ylabel="count", yscale="log",
           title="held-out residuals")
    ax.legend()


def _spread(ax, f: pd.DataFrame) -> None:
    ax.plot(100 * f.spice_sd, 100 * f.proxy_sd, ".", ms=3, alpha=0.6)
    top = 100 * max(f.spice_sd.max(), f.proxy_sd.max())
    ax.plot([0, top], [0, top], "k-", lw=0.5)
    ax.plot([0, top], [0, 1.2 * top], "k:", lw=0.5)
    ax.plot([0, top], [0, 0.8 * top], "k:", lw=0.5)
    ax.set(xlabel="sd of z* over SPICE instances [% FS]", ylabel="proxy sd [% FS]",
           title="Monte Carlo spread per neuron (dotted: +-20 %)")


def _sweep_plot(path: Path, table: pd.DataFrame, swept: list[str]) -> list[Path]:
    fitted = ["fit_amplitude", "fit_slope", "fit_dc_gain", "fit_rail_high_fs", "holdout_rms_fs",
              "ideal_rms_fs"]
    if table["fit_delay_s"].max() > 0:
        fitted += ["fit_tau_s", "fit_output_tau_s", "fit_delay_s"]
    fig, axes = plt.subplots(len(swept), len(fitted), figsize=(3 * len(fitted), 2.6 * len(swept)),
                             squeeze=False, constrained_layout=True)
    for r, setting in enumerate(swept):
        for c, name in enumerate(fitted):
            ax = axes[r][c]
            ax.plot(table[f"set_{setting}"], table[name], "o")
            ax.set(xlabel=setting, ylabel=name.removeprefix("fit_"))
            if setting.rsplit(".", 1)[-1] in ("dc_gain", "gbw_hz"):
                ax.set_xscale("log")
            if name in ("fit_dc_gain", "holdout_rms_fs", "ideal_rms_fs"):
                ax.set_yscale("log")
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return [path]


def _mismatch_lines(point: PointResult) -> list[str]:
    mc = point.evaluation.mismatch
    if mc is None:
        return []
    exact, spread = mc.within_20pct_if_exact, 1 / math.sqrt(2 * (mc.instances - 1))
    return [f"## Monte Carlo spread at {point.settings}", "",
            f"{mc.instances} SPICE instances per held-out core, {mc.cores} cores, "
            f"{mc.neurons} neuron-samples; the proxy draws {mc.proxy_draws} chips. RMS "
            f"spread of z*: SPICE {100 * mc.spice_rms_sd_fs:.3f} % FS, proxy "
            f"{100 * mc.proxy_rms_sd_fs:.3f} % FS (ratio {mc.rms_sd_ratio:.3f}). Per "
            f"neuron: median ratio {mc.median_ratio:.3f}, within 20 %: "
            f"{100 * mc.within_20pct:.0f} % (an exact proxy would reach about "
            f"{100 * exact:.0f} %: {mc.instances} instances estimate each SPICE spread to "
            f"about +-{100 * spread:.0f} %).", ""]


def _points_table(points: list[PointResult]) -> list[str]:
    lines = ["## Every grid point (held-out cores)", "",
             "| point | settings | calibrated RMS / max [% FS] | ideal proxy RMS [% FS] | "
             "settling error max |", "|---|---|---|---|---|"]
    for p in points:
        hold, st = p.evaluation.holdout, p.evaluation.settling_holdout
        settle = f"{100 * st.max_abs_rel_error:.1f} %" if st.samples else "n/a"
        lines.append(f"| {p.index} | {p.settings} | {_pct(hold.calibrated.rms, '.2e')} / "
                     f"{_pct(hold.calibrated.max, '.2e')} | {_pct(hold.ideal.rms, '.2e')} "
                     f"| {settle} |")
    return lines + [""]


def _pct(value: float | None, spec: str) -> str:
    """``value`` [FS] in per cent of full scale, 'n/a' when there is none."""
    return "n/a" if value is None else format(100 * value, spec)


def _markdown(cal: Calibration, params_path: Path | None) -> str:
    base = cal.base
    ev = base.evaluation
    hold, st = ev.holdout, ev.settling_holdout
    s = cal.sweep
    lines = [
        f"# Calibration `{cal.spec.name}`", "", cal.spec.description, "",
        f"Sweep: {s.total} SPICE jobs ({s.ran} run, {s.skipped} already done, "
        f"{len(s.failed)} failed) on {plural(s.workers, 'worker')} ({s.scheduler}), "
        f"{s.wall_s:.1f} s.",
        f"Parameters: `{params_path}`" if params_path else "", "",
        "## Held-out equilibria (cores never used in the fit)", "",
        "| proxy | RMS [% FS] | max [% FS] |", "|---|---|---|",
    ]
    for kind in (ProxyKind.IDEAL, ProxyKind.NOMINAL, ProxyKind.CALIBRATED):
        r = hold.of(kind)
        lines.append(f"| {kind} | {_pct(r.rms, '.4f')} | {_pct(r.max, '.4f')} |")
    gain = hold.gain
    lines += ["", "Improvement over the ideal proxy: "
              + (f"x{gain:.1f} (RMS)." if gain is not None else "n/a."), ""]
    if st.samples:
        lines += ["## Settling time (held-out transients, 1e-4 FS from reset)", "",
                  f"median |error| {100 * st.median_abs_rel_error:.2f} %, max "
                  f"{100 * st.max_abs_rel_error:.2f} %, within 10 %: "
                  f"{100 * st.within_10pct:.0f} % of {st.samples} samples.", ""]
    if len(cal.points) > 1:
        lines += _points_table(cal.points)
    for point in cal.points:
        lines += _mismatch_lines(point)
    lines += ["## Fitted parameters (base point)", "", "| parameter | value |", "|---|---|"]
    lines += [f"| {k} | {v:.6g} |" for k, v in asdict(base.params).items() if isinstance(v, float)]
    return "\n".join(lines) + "\n"


def write_fit_report(cal: Calibration, out: Path, params_path: Path | None = None) -> list[Path]:
    """Write the report of ``cal`` into the folder ``out``; the written paths."""
    frame = _parity_frame(cal.base)
    written = _figure(out / "parity.png", frame, _parity)
    written += _figure(out / "residuals.png", frame, _residuals)
    table = cal.table()
    written.append(write_table(out / "sweep.parquet", table))
    swept = list(cal.spec.sweep)
    if swept and len(table) > 1:
        written += _sweep_plot(out / "sweep.png", table.iloc[1:], swept)
    if cal.base.mismatch_per_neuron:
        written += _figure(out / "mismatch.png", pd.DataFrame(cal.base.mismatch_per_neuron),
                           _spread)
    evaluation = {p.index: {**asdict(p.evaluation), "settings": p.settings, "fit_s": p.fit_s}
                  for p in cal.points}
    written.append(write_json(out / "fit.json", {
        "spec": cal.spec.name, "sweep": asdict(cal.sweep), "failed": cal.failed,
        "points": evaluation}))
    written.append(write_text(out / "fit_report.md", _markdown(cal, params_path)))
    return written
