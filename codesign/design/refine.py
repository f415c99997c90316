"""Per-design calibration: the screen carries the level's calibration to every design
(Design.params: tau scaled, offsets scaled by 1/v_FS), which misses what the currents do to
the OTA (at a few per cent of the default bias its second pole and offsets move). A design
SPICE measured is refined like a loop round: SPICE operating points of its chip on training
inputs, the proxy re-fitted on them (calibration.refit), the model fine-tuned through the
re-fitted proxy, then measured again in SPICE like any design (TRIAL/refined/)."""

from __future__ import annotations

import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from codesign.calibration.refit import refit
from codesign.deq.checkpoint import save_checkpoint
from codesign.design.choose import base_metric, design_task
from codesign.design.settings import DesignSettings, Log
from codesign.design.trial import RESULT
from codesign.design.verify import FAILED, PARAMS, VerifiedDesign, design_chip, verify_design
from codesign.errors import CodesignError
from codesign.files import atomic_write, write_json
from codesign.proxy.params import save_params
from codesign.schema import read_json
from codesign.simulator.base import Simulator
from codesign.tasks.base import Task, TaskMetrics
from codesign.training.aware import HardwareModel
from codesign.training.train import encode, train_model

REFINED = "refined"
REFIT = "refit.json"


def refine_design(trial_folder: Path, task, simulator: Simulator, samples: int, epochs: int,
                  chip_seed: int, mismatch_sigma: float, params_path: Path,
                  sets: tuple[str, ...] = ()) -> Path:
    """TRIAL/refined/ holding the re-fitted proxy (params.json, how the fit did in refit.json)
    and the model fine-tuned through it (model.pt), ready for verify_design; reused if there.
    ``samples`` training inputs (seeded by the trial) are the calibration's operating points."""
    folder = Path(trial_folder)
    refined = folder / REFINED
    if (refined / "model.pt").exists():
        return refined
    trial, model, params, chip = design_chip(folder, simulator, chip_seed, mismatch_sigma,
                                             params_path, task.name, sets)
    rng = np.random.default_rng([chip_seed, trial.number, 17])
    pick = np.sort(rng.choice(len(task.x_train), min(samples, len(task.x_train)),
                              replace=False))
    e = chip.dac(encode(model, task.x_train[pick]))
    chip.operating_points(e, refined / "spice" / "calibration")
    fitted, fit = refit(params, chip, *chip.traces())
    torch.set_num_threads(1)
    config = replace(task.profile.finetune, epochs=epochs, seed=2000 + trial.number)
    result = train_model(task, model, config, HardwareModel(fitted, chip.config))
    refined.mkdir(parents=True, exist_ok=True)
    atomic_write(refined / RESULT, lambda tmp: shutil.copyfile(folder / RESULT, tmp))
    save_params(refined / PARAMS, fitted, {"fitted_to": f"design {trial.number}'s SPICE "
                                           f"operating points on {len(pick)} training inputs",
                                           **asdict(fit)})
    write_json(refined / REFIT, {"trial": trial.number, "calibration_samples": len(pick),
                                 **asdict(fit)})
    save_checkpoint(refined / "model.pt", result.model, task.name,
                    {"refit_residual_fs": fit.residual_after_fs}, config.to_dict())
    return refined


def refine_candidates(task: Task, verified: list[VerifiedDesign], reference: float,
                      screen_reference: float, count: int,
                      skip: frozenset[int] = frozenset()) -> list[VerifiedDesign]:
    """Up to ``count`` measured designs worth refining: SPICE missed the target, yet they cost
    less than the least-energy measured design within it. The re-fit brings SPICE to the
    proxy, so those whose screen met the target come first, least energy first, then the rest,
    best screened metric first."""
    def within(metric: float, samples: int, against: float) -> bool:
        return task.within_target(against, TaskMetrics(metric, samples))

    ceiling = min((v.energy_j for v in verified  # an unsettled design's energy is no measure
                   if not getattr(v, "unsettled", 0)
                   and within(v.metric_spice, v.samples, reference)), default=np.inf)
    pool = [v for v in verified if v.energy_j < ceiling and not v.refined
            and v.number not in skip and not within(v.metric_spice, v.samples, reference)]
    sign = -1.0 if task.metric.higher_is_better else 1.0

    def rank(v) -> tuple[bool, float]:
        screened = within(v.metric_proxy, v.samples, screen_reference)
        return not screened, v.energy_j if screened else sign * v.metric_proxy

    pool.sort(key=rank)
    return pool[:count]


def refine_measured(verified: list[VerifiedDesign], out: Path, task: Task,
                    simulator: Simulator, settings: DesignSettings, params_path: Path,
                    log: Log, timeout_s: float = 0.0) -> list[VerifiedDesign]:
    """``verified`` with up to ``settings.refine`` designs, picked one at a time by
    refine_candidates, replaced by their refined measurements (a design SPICE cannot finish
    keeps its first measurement; refined/failed.json says why, and a run with a longer
    ``timeout_s`` than the failed one's tries it again)."""
    task = design_task(task)
    references = base_metric(task, out, settings.samples), \
        base_metric(task, out, settings.screen_samples)
    by_number, tried = {v.number: v for v in verified}, set()
    for _ in range(settings.refine):  # one at a time: a refined design may lower the ceiling
        picks = refine_candidates(task, list(by_number.values()), *references, 1,
                                  frozenset(tried))
        if not picks:
            break
        v = picks[0]
        tried.add(v.number)
        folder = out / "trials" / f"{v.number:04d}"
        if failed_before(folder / REFINED / FAILED, timeout_s):
            continue
        log(f"  refining trial {v.number}: its own calibration on {settings.refine_samples} "
            "training inputs, a fine-tune through it, SPICE again")
        try:
            refined = refine_design(folder, task, simulator, settings.refine_samples,
                                    settings.epochs, settings.chip_seed,
                                    settings.mismatch_sigma, params_path, settings.sets)
            r = verify_design(refined, task, simulator, settings.samples, settings.transients,
                              settings.chip_seed, settings.mismatch_sigma, params_path,
                              settings.sets)
        except CodesignError as exc:
            message = " ".join(str(exc).split())
            write_json(folder / REFINED / FAILED, {"trial": v.number, "error": message,
                                                   "timeout_s": timeout_s})
            log(f"  trial {v.number}: refining failed ({message[:160]})")
            continue
        by_number[v.number] = r
        log(f"  trial {v.number} refined: SPICE {v.metric_spice:.4f} -> {r.metric_spice:.4f}, "
            + (f"{r.energy_j * 1e12:.1f} pJ = {r.energy_per_mac_j * 1e15:.0f} fJ/MAC"
               if not r.unsettled else f"UNSETTLED in {r.unsettled} of {r.transients} "
               "transients: energy and settling not measured; never chosen"))
    return list(by_number.values())


def failed_before(path: Path, timeout_s: float) -> bool:
    """Does ``path`` (a failed.json) record a failure that a run with ``timeout_s`` should not
    try again? A failure under a shorter time-out is tried again (and its record removed)."""
    if not path.exists():
        return False
    try:
        recorded = float(read_json(path).get("timeout_s", 0.0))
    except (CodesignError, TypeError, ValueError):
        recorded = 0.0
    if timeout_s > recorded:
        path.unlink(missing_ok=True)
        return False
    return True
