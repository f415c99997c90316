"""``codesign design``: the energy-accuracy-latency search over the CMOS design space.

1. The task's digital DEQ is trained once (RUN/base.pt): every design is fine-tuned from it.
2. Optuna (a seeded multi-objective TPE sampler; its journal RUN/study.log makes the search
   resumable) proposes designs in batches; each is fine-tuned through its own proxy and
   screened (codesign.design.trial) on the local process pool or a Dask cluster.
3. SPICE measures every design on the screen's Pareto front, then the next-best designs by
   screened energy among the rest, until ``verify`` designs are measured: metric from SPICE
   operating points, energy and settling from SPICE transients (codesign.design.verify).
4. The front of the SPICE-measured designs, the chosen design (the least energy within the
   task's target of the digital DEQ), its metric on the whole test set, tables and a plot.

A killed run resumes where it stopped: finished trials and measured designs are kept in their
folders, trials the kill interrupted are run again with their own parameters.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from codesign.design.refine import refine_measured
from codesign.design.space import Design, DesignSpace
from codesign.design.trial import TrialJob, TrialResult, run_trial
from codesign.design.verify import FAILED, VerifiedDesign, verify_design
from codesign.errors import CodesignError, InputError
from codesign.files import write_json, write_table
from codesign.schema import RunFolder, write_result
from codesign.simulator.base import Simulator

Log = Callable[[str], None]
OUTPUTS = ("trials.csv", "front.csv", "front.parquet", "breakdown.csv", "front.png",
           "chosen.json", "energy.csv", "design.json")


@dataclass(frozen=True)
class DesignSettings:
    """One design search (counts of trials, designs and samples)."""

    task: str = "digits"
    trials: int = 40
    verify: int = 20
    """Designs measured in SPICE (the whole screened front, at least)."""
    samples: int = 64
    """Test samples of each measured design's SPICE metric."""
    transients: int = 2
    """SPICE transients from reset per measured design (energy, settling)."""
    final_samples: int = 0
    """Test samples of the chosen design's SPICE metric (0: the whole test set)."""
    epochs: int = 15
    """Physics-aware fine-tuning epochs per design."""
    screen_samples: int = 0
    """Test samples of the proxy's screen (0: the whole test set)."""
    mismatch_sigma: float = 0.05
    chip_seed: int = 1
    seed: int = 0
    """Seed of the sampler (and of the base model's training: the profile's)."""
    params_path: str = ""
    """The level's calibrated proxy (default calibration/cmos.json)."""
    refine: int = 3
    """Measured designs given their own calibration and measured again (design.refine)."""
    refine_samples: int = 64
    """Training inputs of a refined design's calibration (SPICE operating points)."""

    def __post_init__(self) -> None:
        if type(self.refine) is not int or self.refine < 0:
            raise InputError(f"--refine must be a whole number >= 0, got {self.refine!r}")
        counts = {"trials": self.trials, "verify": self.verify, "samples": self.samples,
                  "transients": self.transients, "epochs": self.epochs,
                  "refine-samples": self.refine_samples}
        for name, value in counts.items():
            if type(value) is not int or value < 1:
                raise InputError(f"--{name} must be a whole number >= 1, got {value!r}")
        if self.verify > self.trials:
            raise InputError(f"--verify {self.verify} exceeds --trials {self.trials}: SPICE "
                             "can only measure designs the search tried")
        if not 0 <= self.mismatch_sigma < 0.5:
            raise InputError(f"--mismatch must lie in [0, 0.5), got {self.mismatch_sigma}")


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


def _pool_start() -> None:
    from codesign.simulator.ngspice import die_with_parent

    die_with_parent()


def _pool(jobs: list[TrialJob], workers: int) -> Iterator[tuple[TrialJob, object]]:
    # spawn: the workers run torch, which a fork of a process that ran it can deadlock
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_pool_start) as pool:
        futures = {pool.submit(run_trial, job): job for job in jobs}
        for fut in as_completed(futures):
            exc = fut.exception()
            yield futures[fut], exc if exc is not None else fut.result()


def _dask(jobs: list[TrialJob], scheduler: str) -> Iterator[tuple[TrialJob, object]]:
    from distributed import as_completed as dask_completed

    from codesign.simulator.cluster import connect

    client = connect(scheduler)
    try:
        futures = {client.submit(run_trial, j, key=f"codesign-design-{j.number}-{time.time()}",
                                 pure=False): j for j in jobs}
        for fut in dask_completed(list(futures)):
            exc = fut.exception()
            yield futures[fut], exc if exc is not None else fut.result()
    finally:
        client.close()


class Search:
    """The study, its folder and how trials run."""

    def __init__(self, settings: DesignSettings, space: DesignSpace, out: Path,
                 base_model: Path, params_path: Path, workers: int,
                 scheduler: str | None, log: Log) -> None:
        import optuna

        self.settings, self.space, self.out, self.log = settings, space, Path(out), log
        self.base_model, self.params_path = base_model, params_path
        self.workers, self.scheduler = workers, scheduler
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        storage = JournalStorage(JournalFileBackend(str(self.out / "study.log")))
        self.study = optuna.create_study(
            study_name="design", storage=storage, load_if_exists=True,
            directions=["minimize", self.metric_direction, "minimize"],
            sampler=optuna.samplers.TPESampler(seed=settings.seed,
                                               n_startup_trials=min(10, settings.trials // 2)))

    @property
    def metric_direction(self) -> str:
        from codesign.tasks import get_task

        return "maximize" if get_task(self.settings.task).metric.higher_is_better \
            else "minimize"

    def job(self, number: int, design: Design) -> TrialJob:
        s = self.settings
        return TrialJob(number=number, design=design, task=s.task,
                        base_model=str(self.base_model), params_path=str(self.params_path),
                        folder=str(self.out / "trials" / f"{number:04d}"),
                        mismatch_sigma=s.mismatch_sigma, epochs=s.epochs,
                        chip_seed=s.chip_seed, screen_samples=s.screen_samples)

    def run(self) -> list[TrialResult]:
        """Run trials until the study holds ``trials`` finished ones (resuming a killed run)."""
        from optuna.trial import TrialState

        interrupted = [t for t in self.study.trials if t.state == TrialState.RUNNING]
        batch = [(t.number, Design(**t.user_attrs["design"])) for t in interrupted]
        if batch:
            self.log(f"resuming: {len(batch)} interrupted trials run again")
        while True:
            done = sum(t.state.is_finished() for t in self.study.trials)
            room = self.settings.trials - done - len(batch)
            for _ in range(max(0, min(room, max(self.workers, 4) - len(batch)))):
                trial = self.study.ask()
                try:
                    design = self.space.suggest(trial)
                    design.circuit(self.settings.mismatch_sigma)
                except InputError as exc:
                    self.log(f"trial {trial.number}: not a circuit ({exc})")
                    self.study.tell(trial, state=TrialState.FAIL)
                    continue
                trial.set_user_attr("design", asdict(design))
                batch.append((trial.number, design))
            if not batch:
                break
            self._run_batch(batch)
            batch = []
        return self.results()

    def _run_batch(self, batch: list[tuple[int, Design]]) -> None:
        from optuna.trial import TrialState

        jobs = [self.job(number, design) for number, design in batch]
        outcomes = (_dask(jobs, self.scheduler) if self.scheduler
                    else _pool(jobs, self.workers))
        for job, outcome in outcomes:
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, CodesignError | ValueError | ArithmeticError):
                    raise outcome
                self.log(f"trial {job.number}: failed ({type(outcome).__name__}: {outcome})")
                self.study.tell(job.number, state=TrialState.FAIL)
                continue
            r = outcome
            values = [r.energy_j, r.metric_proxy, r.settling_s]
            if not all(np.isfinite(values)):
                self.study.tell(job.number, state=TrialState.FAIL)
                self.log(f"trial {job.number}: never settles in the proxy")
                continue
            self.study.tell(job.number, values)
            self.log(f"trial {job.number}: {r.energy_j * 1e12:.1f} pJ, metric "
                     f"{r.metric_proxy:.4f}, settling {r.settling_s * 1e6:.2f} us "
                     f"({r.energy_j / r.macs * 1e15:.0f} fJ/MAC screened)")

    def results(self) -> list[TrialResult]:
        from codesign.schema import read_result

        out = []
        for t in self.study.trials:
            path = self.out / "trials" / f"{t.number:04d}" / "trial.json"
            if t.state.name == "COMPLETE" and path.exists():
                out.append(read_result(path, TrialResult, "design_trial"))
        return out


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """(K,) True where no other row is <= in every column and < in one (all minimised)."""
    keep = np.ones(len(points), bool)
    for i, p in enumerate(points):
        dominated = np.all(points <= p, axis=1) & np.any(points < p, axis=1)
        keep[i] = not dominated.any()
    return keep


def trial_table(results: list[TrialResult], higher_is_better: bool) -> pd.DataFrame:
    """One row per screened design, its flat parameters and screen objectives, on_front."""
    rows = [{"trial": r.number, **asdict(r.design), "metric_proxy": r.metric_proxy,
             "energy_j": r.energy_j, "settling_s": r.settling_s, "power_w": r.power_w,
             "converters_j": r.converters_j, "noise_fs": r.noise_fs,
             "fj_per_mac": r.energy_j / r.macs * 1e15, "macs": r.macs,
             "train_s": r.train_seconds}
            for r in results]
    table = pd.DataFrame(rows)
    sign = -1.0 if higher_is_better else 1.0
    objectives = np.column_stack([table.energy_j, sign * table.metric_proxy, table.settling_s])
    table["on_screen_front"] = pareto_mask(objectives)
    return table


def to_verify(table: pd.DataFrame, count: int) -> list[int]:
    """Trial numbers SPICE measures: the screened front, then the least screened energy."""
    front = table[table.on_screen_front].sort_values("energy_j")
    rest = table[~table.on_screen_front].sort_values("energy_j")
    picks = list(front.trial) + list(rest.trial)
    return [int(k) for k in picks[:max(count, len(front))]]


def verified_table(verified: list[VerifiedDesign], higher_is_better: bool) -> pd.DataFrame:
    rows = [{"trial": v.number, **asdict(v.design), "samples": v.samples,
             "metric_spice": v.metric_spice, "metric_digital": v.metric_digital,
             "metric_proxy": v.metric_proxy, "energy_j": v.energy_j,
             "fj_per_mac": v.energy_per_mac_j * 1e15, "settling_s": v.settling_s,
             "screen_energy_j": v.screen_energy_j, "screen_settling_s": v.screen_settling_s,
             "unsettled": v.unsettled, "refined": v.refined,
             "folder": f"trials/{v.number:04d}" + ("/refined" if v.refined else ""),
             **v.breakdown.row()} for v in verified]
    table = pd.DataFrame(rows)
    sign = -1.0 if higher_is_better else 1.0
    table["on_front"] = pareto_mask(np.column_stack(
        [table.energy_j, sign * table.metric_spice, table.settling_s]))
    return table.sort_values("energy_j").reset_index(drop=True)


def run_design(settings: DesignSettings, space: DesignSpace, out: Path, simulator: Simulator,
               log: Log, workers: int = 2, scheduler: str | None = None) -> ChosenDesign:
    """The whole search into ``out``; returns the chosen design."""
    from codesign.design.report import base_metric, choose, energy_comparison, plot_front
    from codesign.proxy.params import default_params_path
    from codesign.tasks import get_task

    task = get_task(settings.task)
    folder = RunFolder(Path(out), "design").start(OUTPUTS)
    out = folder.path
    write_json(out / "design.json", {"settings": asdict(settings), "space": asdict(space)})
    params_path = Path(settings.params_path) if settings.params_path else \
        default_params_path("cmos")
    base = base_model(task, out, log)
    search = Search(settings, space, out, base, params_path, workers, scheduler, log)
    log(f"{task.name}: {settings.trials} designs, fine-tuned through their proxies "
        f"({scheduler or f'{workers} local workers'})")
    start = time.perf_counter()
    results = search.run()
    if not results:
        raise CodesignError("no design could be screened (see the trial messages above)")
    log(f"screened {len(results)} designs in {time.perf_counter() - start:.0f} s")
    higher = task.metric.higher_is_better
    trials = trial_table(results, higher)
    write_table(out / "trials.csv", trials)
    picks = to_verify(trials, settings.verify)
    log(f"SPICE: measuring {len(picks)} designs ({sum(trials.on_screen_front)} on the "
        f"screened front), {settings.samples} samples and {settings.transients} transients each")
    verified = measure(picks, trials, out, task, simulator, settings, params_path, log)
    if not verified:
        raise CodesignError("SPICE could not measure any design (see the messages above and "
                            "each trial's failed.json)")
    carried = {v.number: v.metric_spice for v in verified}
    verified = refine_measured(verified, out, task, simulator, settings, params_path, log)
    front = verified_table(verified, higher)
    front["metric_spice_carried"] = front.trial.map(carried)
    write_table(out / "front.csv", front)
    write_table(out / "front.parquet", front)
    write_table(out / "breakdown.csv", front[["trial", "on_front", "amplifiers_j", "crossbar_j",
                                              "activations_j", "dac_drivers_j",
                                              "dac_conversions_j", "adc_conversions_j",
                                              "total_j"]])
    chosen = choose(task, front, out, simulator, settings, params_path, log)
    write_result(out / "chosen.json", chosen, "design_chosen")
    log(f"the chosen design's full loop: codesign loop --task {task.name} --neuron cmos "
        f"--circuit {out / chosen.circuit_path} --params {out / 'chosen' / 'params.json'} "
        f"--out {out / 'loop'}")
    plot_front(out / "front.png", task, trials, front, chosen,
               base_metric(task, out, settings.samples))
    write_table(out / "energy.csv", energy_comparison(task, out, chosen))
    folder.complete([out / name for name in OUTPUTS])
    return chosen


def measure(picks: list[int], trials: pd.DataFrame, out: Path, task, simulator: Simulator,
            settings: DesignSettings, params_path: Path, log: Log) -> list[VerifiedDesign]:
    """SPICE measurements of ``picks`` in order; a design SPICE cannot finish (a time-out, an
    oscillation that never settles, a failed operating point) is recorded in its
    failed.json and replaced by the next design by screened energy (a resumed run skips it;
    delete its failed.json to measure it again)."""
    queue = list(picks) + [int(k) for k in trials.sort_values("energy_j").trial
                           if int(k) not in picks]
    verified: list[VerifiedDesign] = []
    for number in queue:
        if len(verified) >= len(picks):
            break
        folder = out / "trials" / f"{number:04d}"
        if (folder / FAILED).exists():
            continue
        tick = time.perf_counter()
        try:
            v = verify_design(folder, task, simulator, settings.samples, settings.transients,
                              settings.chip_seed, settings.mismatch_sigma, params_path)
        except CodesignError as exc:
            write_json(folder / FAILED, {"trial": number, "error": " ".join(str(exc).split())})
            log(f"  trial {number}: SPICE failed ({' '.join(str(exc).split())[:160]})")
            continue
        verified.append(v)
        log(f"  [{len(verified)}/{len(picks)}] trial {number}: SPICE {v.metric_spice:.4f} "
            f"(its float core {v.metric_digital:.4f}), {v.energy_j * 1e12:.1f} pJ = "
            f"{v.energy_per_mac_j * 1e15:.0f} fJ/MAC, settling {v.settling_s * 1e6:.2f} us "
            f"({time.perf_counter() - tick:.0f} s)")
    return verified


def base_model(task, out: Path, log: Log) -> Path:
    """The task's digital DEQ, trained once per run folder (its profile's settings)."""
    from codesign.deq.checkpoint import save_checkpoint
    from codesign.deq.model import DEQConfig
    from codesign.training.train import new_model, train_model

    path = out / "base.pt"
    if path.exists():
        return path
    p = task.profile
    deq = DEQConfig(in_features=task.in_features, out_features=task.out_features,
                    core_size=p.core_size, core_inputs=p.core_inputs)
    log(f"{task.name}: training the digital DEQ (n = {p.core_size}, m = {p.core_inputs})")
    result = train_model(task, new_model(task, deq, p.train.seed), p.train)
    save_checkpoint(path, result.model, task.name, {"test_metric": result.test_metric},
                    p.train.to_dict())
    return path
