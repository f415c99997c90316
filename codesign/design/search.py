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
   A design with a SPICE transient that had not settled is flagged wherever it appears (its
   console line, front.csv's ``unsettled`` and ``measured`` columns, chosen.json's
   ``unsettled_designs``, its own marker in front.png): its "settling" is the simulated window
   and its energy that window's, so it is on no front and never chosen; where no measured
   design settled, none is chosen and chosen.json says why.

A killed run resumes where it stopped: finished trials and measured designs are kept in their
folders, trials the kill interrupted are run again with their own parameters. A folder holds one
search: resumed with other settings, another space or task it is refused (design.settings), and
a design that SPICE could not finish is tried again by a run with a longer time-out.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from codesign.deq.checkpoint import save_checkpoint
from codesign.deq.model import DEFAULT_GAMMA
from codesign.design.choose import (
    BASE_MODEL,
    ChosenDesign,
    NoDesignChosen,
    base_metric,
    choose,
    unsettled_trials,
)
from codesign.design.refine import failed_before, refine_measured
from codesign.design.report import energy_comparison, plot_front
from codesign.design.settings import (
    DesignSettings,
    Log,
    SearchRecord,
    check_resume,
    file_sha256,
    write_record,
)
from codesign.design.space import Design, DesignSpace, check_space
from codesign.design.trial import TrialJob, TrialResult, run_trial
from codesign.design.verify import FAILED, VerifiedDesign, verify_design
from codesign.errors import CodesignError, InputError
from codesign.files import atomic_write, write_json, write_table
from codesign.jobs import Executor, Pool, get_executor, plural
from codesign.proxy.params import default_params_path
from codesign.run_folder import RunFolder
from codesign.schema import from_json, read_result, write_result
from codesign.simulator.base import Simulator
from codesign.tasks import get_task
from codesign.tasks.base import Samples, Task
from codesign.training.train import new_model, task_deq_config, train_model

OUTPUTS = ("trials.csv", "front.csv", "front.parquet", "breakdown.csv", "front.png",
           "chosen.json", "energy.csv")
"""What a finished search writes at its top level: removed when the search runs again (its
trials, measurements, journal and design.json are kept for resuming)."""
JOURNAL = "study.log"


def open_study(path: Path, directions: list[str], seed: int, startup: int):
    """The Optuna study of the journal at ``path`` (created if absent); InputError for a
    journal Optuna cannot read (garbage, truncated inside a record, another study's)."""
    # deferred: optuna takes a second to import and only the design search needs it
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fix = ("move it away, or pass --new-study to move the search aside and start a new one")
    _set_aside_partial_record(Path(path))
    try:
        storage = JournalStorage(JournalFileBackend(str(path)))
        study = optuna.create_study(
            study_name="design", storage=storage, load_if_exists=True, directions=directions,
            sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup))
        trials = study.trials
    except Exception as exc:  # noqa: BLE001 - optuna's replay of a damaged journal raises
        # anything from JSONDecodeError to KeyError and AssertionError
        raise InputError(f"{path} is not an Optuna journal of a codesign design search "
                         f"({type(exc).__name__}); {fix}") from None
    for trial in trials:
        design = trial.user_attrs.get("design")
        if design is not None:
            from_json(Design, design, f"{path}: trial {trial.number}'s design")
    if list(study.directions) != [optuna.study.StudyDirection[d.upper()]
                                  for d in directions]:
        raise InputError(f"{path} holds a study with other objectives; {fix}")
    return study


def _set_aside_partial_record(path: Path) -> None:
    """A journal whose last record was cut off (a run killed while writing it) is resumed
    without it: that record never took effect. The cut-off bytes are kept in PATH.partial."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"cannot read {path} ({exc.strerror or exc})") from None
    if not data or data.endswith(b"\n"):
        return
    cut = data.rfind(b"\n") + 1
    atomic_write(path.with_name(path.name + ".partial"), lambda tmp: tmp.write_bytes(data[cut:]))
    atomic_write(path, lambda tmp: tmp.write_bytes(data[:cut]))


class Search:
    """The study, its folder and how trials run."""

    def __init__(self, settings: DesignSettings, space: DesignSpace, task: Task, out: Path,
                 base_model: Path, params_path: Path, executor: Executor, log: Log) -> None:
        self.settings, self.space, self.task, self.out, self.log = (settings, space, task,
                                                                    Path(out), log)
        self.base_model, self.params_path, self.executor = base_model, params_path, executor
        direction = "maximize" if task.metric.higher_is_better else "minimize"
        self.study = open_study(self.out / JOURNAL,
                                ["minimize", direction, "minimize", "minimize"],
                                settings.seed, min(10, settings.trials // 2))

    def job(self, number: int, design: Design) -> TrialJob:
        s = self.settings
        return TrialJob(number=number, design=design, task=s.task,
                        base_model=str(self.base_model), params_path=str(self.params_path),
                        folder=str(self.out / "trials" / f"{number:04d}"),
                        mismatch_sigma=s.mismatch_sigma, epochs=s.epochs,
                        chip_seed=s.chip_seed, screen_samples=s.screen_samples,
                        sets=s.sets)

    def run(self) -> list[TrialResult]:
        """Run trials until the study holds ``trials`` finished ones (resuming a killed run)."""
        from optuna.trial import TrialState  # deferred with optuna (see open_study)

        interrupted = [t for t in self.study.trials if t.state == TrialState.RUNNING]
        batch = [(t.number, from_json(Design, t.user_attrs["design"], "design"))
                 for t in interrupted if "design" in t.user_attrs]
        if batch:
            runs = plural(len(batch), "interrupted trial runs", "interrupted trials run")
            self.log(f"resuming: {runs} again")
        while True:
            done = sum(t.state.is_finished() for t in self.study.trials)
            room = self.settings.trials - done - len(batch)
            for _ in range(max(0, min(room, max(self.executor.workers, 4) - len(batch)))):
                trial = self.study.ask()
                try:
                    design = self.space.suggest(trial)
                    design.circuit(self.settings.mismatch_sigma, sets=self.settings.sets)
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
        from optuna.trial import TrialState  # deferred with optuna (see open_study)

        jobs = [self.job(number, design) for number, design in batch]
        for outcome in self.executor.map(run_trial, jobs):
            job, error = outcome.item, outcome.error
            if error is not None:
                if not isinstance(error, CodesignError | ValueError | ArithmeticError):
                    raise error
                self.log(f"trial {job.number}: failed ({type(error).__name__}: {error})")
                self.study.tell(job.number, state=TrialState.FAIL)
                continue
            r = outcome.value
            values = [r.energy_j, r.metric_proxy, r.settling_s, r.area_mm2]
            if not all(np.isfinite(values)):
                self.study.tell(job.number, state=TrialState.FAIL)
                self.log(f"trial {job.number}: never settles in the proxy")
                continue
            self.study.tell(job.number, values)
            self.log(f"trial {job.number}: {r.energy_j * 1e12:.1f} pJ, metric "
                     f"{r.metric_proxy:.4f}, settling {r.settling_s * 1e6:.2f} us, "
                     f"{r.area_mm2:.3g} mm^2 ({r.energy_j / r.macs * 1e15:.0f} fJ/MAC "
                     "screened)")

    def results(self) -> list[TrialResult]:
        """The finished trials of the study whose design lies in this search's space."""
        out = []
        for t in self.study.trials:
            path = self.out / "trials" / f"{t.number:04d}" / "trial.json"
            if t.state.name == "COMPLETE" and path.exists():
                result = read_result(path, TrialResult, "design_trial")
                if self.space.contains(result.design):
                    out.append(result)
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
             "area_mm2": r.area_mm2, "train_s": r.train_seconds}
            for r in results]
    table = pd.DataFrame(rows)
    sign = -1.0 if higher_is_better else 1.0
    objectives = np.column_stack([table.energy_j, sign * table.metric_proxy, table.settling_s,
                                  table.area_mm2])
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
             "transients": v.transients, "unsettled": v.unsettled,
             "measured": v.unsettled == 0, "refined": v.refined,
             "folder": f"trials/{v.number:04d}" + ("/refined" if v.refined else ""),
             "energy_p95_j": v.energy_p95_j, "codes_equal": v.codes_equal,
             "area_mm2": v.area_mm2, **v.breakdown.row(),
             **{f"card: {block}": j for block, j in v.card.items()}} for v in verified]
    table = pd.DataFrame(rows)
    sign = -1.0 if higher_is_better else 1.0
    table["on_front"] = False  # the front of the measured designs: an unsettled one is not
    measured = table.measured.to_numpy(bool)
    if measured.any():
        table.loc[measured, "on_front"] = pareto_mask(np.column_stack(
            [table.energy_j, sign * table.metric_spice, table.settling_s,
             table.area_mm2])[measured])
    return table.sort_values("energy_j").reset_index(drop=True)


def design_line(v: VerifiedDesign) -> str:
    """What a SPICE measurement of a design says on the console: its metric, energy and
    settling, or, for a design with an unsettled transient, that these are not measured."""
    head = f"SPICE {v.metric_spice:.4f} (its float core {v.metric_digital:.4f}), "
    if not v.unsettled:
        return (head + f"{v.energy_j * 1e12:.1f} pJ = {v.energy_per_mac_j * 1e15:.0f} fJ/MAC, "
                f"settling {v.settling_s * 1e6:.2f} us")
    return (head + f"UNSETTLED in {v.unsettled} of {v.transients} transients: settling not "
            f"measured (> the simulated {v.settling_s * 1e6:.2f} us), energy not measured "
            f"({v.energy_j * 1e12:.1f} pJ is the simulated window's); never chosen")


def run_design(settings: DesignSettings, space: DesignSpace, out: Path, simulator: Simulator,
               log: Log, workers: int | None = None, scheduler: str | None = None,
               new_study: bool = False) -> ChosenDesign | NoDesignChosen:
    """The whole search into ``out``; returns the chosen design (NoDesignChosen where no
    measured design settled in its SPICE transients: none is chosen, chosen.json says why).
    Trials run on ``workers`` local processes (default: all cores) or the Dask cluster at
    ``scheduler``. A folder that holds another search is refused unless ``new_study`` (which
    moves it aside)."""
    if not isinstance(settings, DesignSettings) or not isinstance(space, DesignSpace):
        raise InputError("run_design takes a DesignSettings and a DesignSpace")
    task = get_task(settings.task)
    if not isinstance(task.full_set(), Samples):
        raise InputError(f"{task.name} is judged in closed loop (episodes), which a design's "
                         "SPICE operating points cannot replay: search digits, physics or "
                         "darcy, and run `codesign loop` for a closed-loop task")
    params_path = Path(settings.params_path) if settings.params_path else \
        default_params_path("cmos")
    check_space(space, settings.sets, settings.mismatch_sigma)
    record = SearchRecord(settings, space, file_sha256(params_path))
    out = Path(out)
    with RunFolder(out, "design").start(
            OUTPUTS, check=lambda: check_resume(out, record, new_study, log)) as folder:
        write_record(out, record)
        executor = get_executor(scheduler, workers, Pool.SPAWN)
        try:
            # the journal is read (and refused if unreadable) before any training
            search = Search(settings, space, task, out, out / BASE_MODEL, params_path, executor,
                            log)
            base_model(task, out, log, settings.encoder, settings.decoder, settings.gamma)
            log(f"{task.name}: {settings.trials} designs, fine-tuned through their proxies "
                f"({executor.label})")
            start = time.perf_counter()
            results = search.run()
        finally:
            executor.close()
        if not results:
            raise CodesignError("no design could be screened (see the trial messages above)")
        log(f"screened {len(results)} designs in {time.perf_counter() - start:.0f} s")
        chosen = _conclude(settings, task, results, out, simulator, params_path, log)
        folder.complete([out / name for name in OUTPUTS if (out / name).exists()])
    return chosen


def _conclude(settings: DesignSettings, task: Task, results: list[TrialResult], out: Path,
              simulator: Simulator, params_path: Path,
              log: Log) -> ChosenDesign | NoDesignChosen:
    """SPICE measurements, refinement, the front, the chosen design and the outputs."""
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
    verified = refine_measured(verified, out, task, simulator, settings, params_path, log,
                               simulator.timeout_s)
    front = verified_table(verified, higher)
    front["metric_spice_carried"] = front.trial.map(carried)
    write_table(out / "front.csv", front)
    write_table(out / "front.parquet", front)
    write_table(out / "breakdown.csv", front[["trial", "on_front", "amplifiers_j", "crossbar_j",
                                              "activations_j", "dac_drivers_j",
                                              "dac_conversions_j", "adc_conversions_j",
                                              "total_j"]])
    unsettled = unsettled_trials(front)
    if unsettled:
        log(f"unsettled in SPICE (flagged in front.csv and front.png, never chosen): trials "
            f"{', '.join(map(str, unsettled))}")
    chosen = choose(task, front, out, simulator, settings, params_path, log)
    write_result(out / "chosen.json", chosen, "design_chosen")
    if isinstance(chosen, NoDesignChosen):
        plot_front(out / "front.png", task, trials, front, None,
                   base_metric(task, out, settings.samples))
        return chosen
    command = ["codesign", "loop", "--task", task.name, "--neuron", "cmos", "--circuit",
               str(out / chosen.circuit_path), "--params", str(out / "chosen" / "params.json"),
               "--out", str(out / "loop")]
    log(f"the chosen design's full loop: {shlex.join(command)}")
    plot_front(out / "front.png", task, trials, front, chosen,
               base_metric(task, out, settings.samples))
    write_table(out / "energy.csv", energy_comparison(task, out, chosen))
    return chosen


def measure(picks: list[int], trials: pd.DataFrame, out: Path, task: Task,
            simulator: Simulator, settings: DesignSettings, params_path: Path,
            log: Log) -> list[VerifiedDesign]:
    """SPICE measurements of ``picks`` in order; a design SPICE cannot finish (a time-out, an
    oscillation that never settles, a failed operating point) is recorded in its failed.json
    and replaced by the next design by screened energy (a resumed run skips it unless its
    time-out is longer than the failed run's; delete failed.json to measure it again)."""
    queue = list(picks) + [int(k) for k in trials.sort_values("energy_j").trial
                           if int(k) not in picks]
    verified: list[VerifiedDesign] = []
    for number in queue:
        if len(verified) >= len(picks):
            break
        folder = out / "trials" / f"{number:04d}"
        if failed_before(folder / FAILED, simulator.timeout_s):
            continue
        tick = time.perf_counter()
        try:
            v = verify_design(folder, task, simulator, settings.samples, settings.transients,
                              settings.chip_seed, settings.mismatch_sigma, params_path,
                              settings.sets)
        except CodesignError as exc:
            message = " ".join(str(exc).split())
            write_json(folder / FAILED, {"trial": number, "error": message,
                                         "timeout_s": simulator.timeout_s})
            log(f"  trial {number}: SPICE failed ({message[:160]})")
            continue
        verified.append(v)
        log(f"  [{len(verified)}/{len(picks)}] trial {number}: {design_line(v)} "
            f"({time.perf_counter() - tick:.0f} s)")
    return verified


def base_model(task: Task, out: Path, log: Log, encoder: str = "linear-tanh",
               decoder: str = "linear", gamma: float = DEFAULT_GAMMA) -> Path:
    """The task's digital DEQ, trained once per run folder (its profile's settings, the given
    encoder, decoder and contraction bound)."""
    path = out / BASE_MODEL
    if path.exists():
        return path
    p = task.profile
    deq = task_deq_config(task, encoder, decoder, gamma=gamma)
    log(f"{task.name}: training the digital DEQ (n = {deq.core_size}, m = {deq.core_inputs}"
        f", encoder {encoder}, decoder {decoder}, gamma {gamma:g})")
    result = train_model(task, new_model(task, deq, p.train.seed), p.train)
    save_checkpoint(path, result.model, task.name, {"test_metric": result.test_metric},
                    p.train.to_dict())
    return path

