"""The search's decision: the least-energy SPICE-measured design within the task's target of the
digital DEQ (else the best-metric one), measured again in SPICE on the chosen number of test
samples. Only designs whose transients settled count as measured: an unsettled design's
"settling" is the simulated window and its energy that window's, not a measurement, so it is
never chosen; where every measured design is unsettled, none is (NoDesignChosen)."""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from codesign.deq.checkpoint import load_checkpoint
from codesign.design.settings import DesignSettings, Log
from codesign.design.space import Design
from codesign.design.verify import chip_cards, design_chip, spice_metric
from codesign.errors import InputError
from codesign.files import atomic_write, write_json
from codesign.proxy.params import save_params
from codesign.schema import read_json
from codesign.simulator.base import Simulator
from codesign.tasks.base import Samples, Task, TaskMetrics
from codesign.training.train import predict

BASE_MODEL = "base.pt"


@dataclass(frozen=True)
class ChosenDesign:
    """The least-energy SPICE-measured design within the task's target, on the test set."""

    number: int
    design: Design
    within_target: bool
    """Whether it meets the target on the chosen design's samples."""
    target: str
    samples: int
    metric_spice: float
    metric_digital: float
    """The digital DEQ (the base model) on the same samples."""
    energy_j: float
    energy_per_mac_j: float
    settling_s: float
    circuit_path: str
    model_path: str
    refined: bool = False
    """Measured with its own calibration (design.refine), not the level's carried to it."""
    unsettled_designs: tuple[int, ...] = ()
    """Measured designs passed over because a SPICE transient had not settled (their settling
    time and energy are the simulated window's, not measurements)."""
    chosen: bool = True
    """A design was chosen (see NoDesignChosen for a search where none could be)."""


@dataclass(frozen=True)
class NoDesignChosen:
    """A search none of whose measured designs settled in every SPICE transient: nothing has a
    measured settling time or energy, so no design is chosen (chosen.json says so)."""

    measured: int
    """Designs measured in SPICE."""
    unsettled_designs: tuple[int, ...]
    """All of them: each had a transient that had not settled when it ended."""
    reason: str
    """The one line the search printed."""
    chosen: bool = False


def design_task(task: Task) -> Task:
    """``task`` judged at its design target (TaskProfile.design_target, where it is set)."""
    target = task.profile.design_target or task.profile.target
    return task.with_profile(replace(task.profile, target=target))


def base_metric(task: Task, out: Path, count: int) -> float:
    """The digital DEQ's (RUN/base.pt) metric on ``count`` test samples (0: all)."""
    model = load_checkpoint(out / BASE_MODEL, task=task.name).model
    selection = Samples(task.test_subset(count or len(task.y_test)))
    return float(task.evaluate(lambda x: predict(model, x), selection).metrics.metric)


def chip_design(row) -> Design:
    """The Design of a row of the measured designs' table."""
    return Design(**{k: getattr(row, k) for k in Design.__dataclass_fields__})


def eligible(front: pd.DataFrame) -> pd.DataFrame:
    """The measured designs that may be chosen: every transient settled."""
    return front[front.unsettled.to_numpy() == 0]


def unsettled_trials(front: pd.DataFrame) -> tuple[int, ...]:
    """Trial numbers of the measured designs with a transient that had not settled."""
    return tuple(int(k) for k in front.trial[front.unsettled.to_numpy() > 0])


def none_settled(front: pd.DataFrame) -> NoDesignChosen:
    """The record (and the line said) of a search whose measured designs all were unsettled."""
    numbers = unsettled_trials(front)
    reason = (f"no design chosen: none of the {len(front)} designs measured in SPICE settled in "
              f"every transient (unsettled: trials {', '.join(map(str, numbers))}), so none has "
              "a measured settling time or energy; raise --timeout or --transients, or widen "
              "the design space's tau_s")
    return NoDesignChosen(len(front), numbers, reason)


def pick(task: Task, front: pd.DataFrame, reference: float) -> tuple[pd.Series | None, bool]:
    """(the row chosen from the measured designs ``front``, whether it is within the target of
    the digital DEQ's ``reference`` metric on their samples): the least-energy settled design
    within the target, else the best-metric settled one; (None, False) where none settled."""
    candidates = eligible(front)
    if candidates.empty:
        return None, False
    ok = [task.within_target(reference, TaskMetrics(float(r.metric_spice), int(r.samples)))
          for r in candidates.itertuples()]
    sign = -1.0 if task.metric.higher_is_better else 1.0
    within = candidates[np.array(ok, bool)]
    if len(within):
        return within.sort_values("energy_j").iloc[0], True
    return candidates.iloc[int(np.argmin(sign * candidates.metric_spice.to_numpy()))], False


def choose(task: Task, front: pd.DataFrame, out: Path, simulator: Simulator,
           settings: DesignSettings, params_path: Path,
           log: Log) -> ChosenDesign | NoDesignChosen:
    """The least-energy settled design within the target of the digital DEQ (on the designs'
    samples), else the best-metric settled one; then measured in SPICE on ``final_samples``.
    A design with an unsettled transient is never chosen; where no design settled, none is
    (NoDesignChosen, its reason said in ``log``)."""
    task = design_task(task)
    if eligible(front).empty:
        nothing = none_settled(front)
        log(nothing.reason)
        return nothing
    row, within = pick(task, front, base_metric(task, out, settings.samples))
    number = int(row.trial)
    folder = out / str(row.folder)
    passed = unsettled_trials(front)
    log(f"chosen: trial {number} ({'within' if within else 'none within'} the target), "
        f"SPICE on {'all' if not settings.final_samples else settings.final_samples} test "
        "samples" + (f"; passed over as unsettled (not measured): trials "
                     f"{', '.join(map(str, passed))}" if passed else ""))
    _, model, params, chip = design_chip(folder, simulator, settings.chip_seed,
                                         settings.mismatch_sigma, params_path, task.name,
                                         settings.sets)
    chosen_dir = out / "chosen"
    chosen_dir.mkdir(parents=True, exist_ok=True)
    metric, count = final_metric(task, model, params, chip, (number, bool(row.refined)),
                                 settings, chosen_dir)
    digital = base_metric(task, out, settings.final_samples)
    card = final_card(task, model, chip, (number, bool(row.refined)), settings, chosen_dir,
                      {"metric_spice": metric, "samples": count, "metric_reference": {
                          "model": "digital DEQ (the design search's base.pt)",
                          "metric": digital, "source": str(out / BASE_MODEL)}})
    if card is not None:
        log(f"chosen design's card ({settings.final_transients} transients): "
            f"{card['energy']['median_j'] * 1e9:.2f} nJ median "
            f"({card['energy']['p95_j'] * 1e9:.2f} p95) = "
            f"{card['energy']['per_mac_j'] * 1e15:.0f} fJ per equivalent MAC, "
            f"{card['area']['total_mm2']:.2f} mm^2 (chosen/card.json)")
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
        model_path=str(model_path.relative_to(out)), refined=bool(row.refined),
        unsettled_designs=passed)
    log(f"chosen design: SPICE {metric:.4f} vs digital DEQ {digital:.4f} on {count} samples "
        f"({'within' if chosen.within_target else 'outside'} the target: {target}), "
        f"{chosen.energy_j * 1e12:.1f} pJ per inference, "
        f"{chosen.energy_per_mac_j * 1e15:.0f} fJ per equivalent MAC, settling "
        f"{chosen.settling_s * 1e6:.2f} us")
    return chosen


def final_metric(task: Task, model, params, chip, design: tuple[int, bool],
                 settings: DesignSettings, folder: Path) -> tuple[float, int]:
    """The chosen design's SPICE metric on ``final_samples`` (kept in FOLDER/final.json and
    reused by a resumed search)."""
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


CARD = "card.json"


def final_card(task: Task, model, chip, design: tuple[int, bool], settings: DesignSettings,
               folder: Path, metrics: dict) -> dict | None:
    """The chosen design's energy and area cards over ``final_transients`` SPICE transients
    (codesign.design.verify.chip_cards) with its final ``metrics``, in FOLDER/card.json (the
    layout of ``python -m benchmarks.chip_card``'s; reused by a resumed search); None for
    none asked or transients that did not settle (said in the file)."""
    if not settings.final_transients:
        return None
    path = folder / CARD
    key = {"number": design[0], "refined": design[1],
           "final_transients": settings.final_transients,
           "final_samples": settings.final_samples}
    if path.exists():
        data = read_json(path)
        if data.get("key") == key:
            return data if "energy" in data else None
    try:
        cards = chip_cards(task, model, chip, settings.final_transients, folder / "spice-card")
    except InputError as exc:  # an unsettled transient is a failed measurement
        write_json(path, {"key": key, "error": str(exc)})
        return None
    run = folder.parent / "run.json"  # the search's command line (codesign.run_folder)
    line = read_json(run).get("command_line", "codesign design") if run.exists() else \
        "codesign design"
    record = {"command": f"{line} (its chosen design, trial "
                         f"{design[0]}{', refined' if design[1] else ''})",
              "task": task.name, "key": key, **metrics,
              "metric_digital": metrics["metric_reference"]["metric"], **cards}
    write_json(path, record)
    return record
