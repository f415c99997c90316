"""The search's conclusion: the chosen design (measured on the whole test set in SPICE) and the
front's plot beside the digital baselines, the published analog chips and the noise floor."""

from __future__ import annotations

import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd

from codesign.design.search import ChosenDesign, DesignSettings, Log
from codesign.design.verify import design_chip, spice_metric
from codesign.files import atomic_write, write_json
from codesign.proxy.params import save_params
from codesign.simulator.base import Simulator
from codesign.tasks.base import TaskMetrics


def design_task(task):
    """``task`` judged at its design target (TaskProfile.design_target, where it is set)."""
    target = task.profile.design_target or task.profile.target
    return task.with_profile(replace(task.profile, target=target))


def base_metric(task, out: Path, count: int) -> float:
    """The digital DEQ's (RUN/base.pt) metric on ``count`` test samples (0: all)."""
    from codesign.deq.checkpoint import load_checkpoint
    from codesign.tasks.base import Samples
    from codesign.training.train import predict

    model = load_checkpoint(out / "base.pt").model
    selection = Samples(task.test_subset(count or len(task.y_test)))
    return float(task.evaluate(lambda x: predict(model, x), selection).metrics.metric)


def choose(task, front: pd.DataFrame, out: Path, simulator: Simulator,
           settings: DesignSettings, params_path: Path, log: Log) -> ChosenDesign:
    """The least-energy measured design within the target of the digital DEQ (on the designs'
    samples), else the best-metric one; then measured in SPICE on ``final_samples``."""
    task = design_task(task)
    reference = base_metric(task, out, settings.samples)
    ok = [task.within_target(reference, TaskMetrics(float(r.metric_spice), int(r.samples)))
          for r in front.itertuples()]
    sign = -1.0 if task.metric.higher_is_better else 1.0
    within = front[np.array(ok, bool)]
    row = within.sort_values("energy_j").iloc[0] if len(within) else \
        front.iloc[int(np.argmin(sign * front.metric_spice.to_numpy()))]
    number = int(row.trial)
    folder = out / str(row.folder)
    log(f"chosen: trial {number} ({'within' if len(within) else 'none within'} the target), "
        f"SPICE on {'all' if not settings.final_samples else settings.final_samples} test "
        "samples")
    _, model, params, chip = design_chip(folder, simulator, settings.chip_seed,
                                         settings.mismatch_sigma, params_path)
    chosen_dir = out / "chosen"
    chosen_dir.mkdir(parents=True, exist_ok=True)
    metric, count = final_metric(task, model, params, chip, (number, bool(row.refined)),
                                 settings, chosen_dir)
    digital = base_metric(task, out, settings.final_samples)
    circuit_path = write_json(chosen_dir / "circuit.json", asdict(chip.config))
    source = (f"design {number}'s own calibration ({row.folder}/params.json)" if row.refined
              else f"{params_path} carried to design {number} (Design.params)")
    save_params(chosen_dir / "params.json", params, {"source": source})
    model_path = chosen_dir / "model.pt"
    atomic_write(model_path, lambda tmp: shutil.copyfile(folder / "model.pt", tmp))
    target = (f"within {task.profile.target:g} of the digital DEQ's "
              f"{task.metric.name}" if task.metric.higher_is_better else
              f"{task.metric.name} <= {task.profile.target:g} x the digital DEQ's")
    chosen = ChosenDesign(
        number=number, design=chip_design(row), within_target=task.within_target(
            digital, TaskMetrics(metric, count)), target=target, samples=count,
        metric_spice=metric, metric_digital=digital, energy_j=float(row.energy_j),
        energy_per_mac_j=float(row.fj_per_mac) * 1e-15, settling_s=float(row.settling_s),
        circuit_path=str(circuit_path.relative_to(out)),
        model_path=str(model_path.relative_to(out)), refined=bool(row.refined))
    log(f"chosen design: SPICE {metric:.4f} vs digital DEQ {digital:.4f} on {count} samples "
        f"({'within' if chosen.within_target else 'outside'} the target: {target}), "
        f"{chosen.energy_j * 1e12:.1f} pJ per inference, "
        f"{chosen.energy_per_mac_j * 1e15:.0f} fJ per equivalent MAC, settling "
        f"{chosen.settling_s * 1e6:.2f} us")
    return chosen


def final_metric(task, model, params, chip, design: tuple[int, bool],
                 settings: DesignSettings, folder: Path) -> tuple[float, int]:
    """The chosen design's SPICE metric on ``final_samples`` (kept in FOLDER/final.json and
    reused by a resumed search)."""
    from codesign.files import write_json
    from codesign.schema import read_json

    path = folder / "final.json"
    if path.exists():
        data = read_json(path)
        key = (data.get("number"), data.get("refined", False), data.get("final_samples"))
        if key == (*design, settings.final_samples):
            return float(data["metric_spice"]), int(data["samples"])
    metric, _, count = spice_metric(task, model, params, chip, settings.final_samples,
                                    folder / "spice", seed=settings.chip_seed)
    write_json(path, {"number": design[0], "refined": design[1],
                      "final_samples": settings.final_samples,
                      "metric_spice": metric, "samples": count})
    return metric, count


def energy_comparison(task, out: Path, chosen: ChosenDesign) -> pd.DataFrame:
    """The chosen design's energy per inference beside the digital solve of the same core on
    the reference systems (loop.energy.energy_table; the solve's iterations measured here on
    the digital DEQ)."""
    from codesign.deq.checkpoint import load_checkpoint
    from codesign.loop.energy import energy_table, measured_solve
    from codesign.training.train import encode

    model = load_checkpoint(out / "base.pt").model
    digital = measured_solve(model, encode(model, task.x_test[:256]))
    rows = energy_table(task.profile.core_size, task.profile.core_inputs, chosen.energy_j,
                        digital)
    rows[0]["system"] = (f"this circuit: sky130 CMOS design {chosen.number} (SPICE, settled "
                         f"to half an ADC LSB, with its DACs and ADCs)")
    return pd.DataFrame(rows)


def chip_design(row):
    from codesign.design.space import Design

    return Design(**{k: getattr(row, k) for k in Design.__dataclass_fields__})


def plot_front(path: Path, task, trials: pd.DataFrame, front: pd.DataFrame,
               chosen: ChosenDesign, reference: float) -> Path:
    """Energy per inference vs the task metric, settling time as colour: screened designs
    (proxy, whole test set), SPICE-measured ones (their samples), the chosen one (whole test
    set); the digital DEQ on both sample sets (``reference``: on the measured designs'
    samples) and the reference systems' energy for the same work as lines; the noise floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from codesign.loop.energy import reference_energies

    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.scatter(trials.energy_j, trials.metric_proxy, s=12, c="0.75",
               label="screened (proxy energy and metric)")
    points = ax.scatter(front.energy_j, front.metric_spice, c=front.settling_s * 1e6,
                        cmap="viridis", s=30, edgecolors="k", linewidths=0.4,
                        label=f"measured in SPICE ({int(front.samples.iloc[0])} samples)")
    fig.colorbar(points, ax=ax, label="settling time [us] (SPICE)")
    ax.scatter([chosen.energy_j], [chosen.metric_spice], marker="*", s=220, c="red",
               label=f"chosen, SPICE ({chosen.samples} samples)")
    ax.axhline(chosen.metric_digital, color="k", ls="--", lw=0.8,
               label=f"digital DEQ ({chosen.samples} samples)")
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
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=130, format="png"))
    plt.close(fig)
    return path


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
