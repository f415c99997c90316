"""``codesign loop``: baselines, the rounds, the evaluation, the verdicts; one folder per run,
marked complete only once every result is in it."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from codesign.files import write_table
from codesign.loop.acceptance import acceptance
from codesign.loop.baselines import baselines, compare_seeds
from codesign.loop.context import Log, LoopContext, context
from codesign.loop.energy import energy_latency
from codesign.loop.robustness import robustness
from codesign.loop.rounds import parity_table, run_rounds
from codesign.report import write_report
from codesign.results.loop import LoopSettings, LoopSummary
from codesign.run_folder import RunFolder
from codesign.schema import write_result
from codesign.simulator.base import Simulator
from codesign.tasks.profile import TaskProfile

SUMMARY = "summary.json"
OUTPUTS = (SUMMARY, "baselines.csv", "rounds.csv", "seeds.csv", "robustness.csv",
           "robustness_circuit.csv", "energy.csv", "settling.csv", "parity.csv",
           "trajectories.csv", "report/report.md", "report/report.html")
"""What a run writes at its top level: removed when a new run starts in the same folder."""


class Stages:
    """The summary as stages complete: each stage's wall time, written after each stage."""

    def __init__(self, ctx: LoopContext, summary: LoopSummary) -> None:
        self.ctx, self.summary = ctx, summary
        self.since = time.perf_counter()

    def done(self, name: str, **results) -> None:
        timings = {**self.summary.timings_s, name: time.perf_counter() - self.since}
        self.summary = replace(self.summary, timings_s=timings, **results)
        write_result(self.ctx.path(SUMMARY), self.summary, "loop")
        self.since = time.perf_counter()


def _summary(ctx: LoopContext) -> LoopSummary:
    info = ctx.simulator.info
    return LoopSummary(
        settings=ctx.settings, profile=ctx.profile, deq=ctx.deq, circuit=ctx.hardware.circuit,
        task_source=ctx.task.source, metric=ctx.task.metric,
        verified_samples=len(ctx.task.verification_set()),
        ngspice_version=info.ngspice_version, backend=info.backend)


def run_loop(settings: LoopSettings, out: Path, simulator: Simulator, log: Log,
             profile: TaskProfile | None = None) -> LoopSummary:
    """Run the whole loop for ``settings.task`` into ``out`` (``profile`` overrides the task's
    defaults); returns the summary."""
    start = time.perf_counter()
    ctx = context(settings, out, simulator, log, profile)
    with RunFolder(Path(out), "loop").start(OUTPUTS) as folder:
        summary = _run(ctx, settings, start)
        for page in write_report(ctx.out):
            log(f"wrote {page}")
        folder.complete([ctx.out / name for name in OUTPUTS if (ctx.out / name).is_file()])
    return summary


def _run(ctx: LoopContext, settings: LoopSettings, start: float) -> LoopSummary:
    """Every stage of the run; the summary written after each and at the end."""
    log = ctx.log
    stages = Stages(ctx, _summary(ctx))
    experts = "".join(f", {e.name.split(' (')[0]}" for e in ctx.task.experts())
    log(f"{ctx.task.name}: baselines (digital DEQ, MLP{experts})")
    naive, naive_run, base_rows = baselines(ctx)
    stages.done("baselines", baselines=tuple(base_rows), reference=naive_run.metrics)
    rounds = run_rounds(ctx, naive, naive_run.metrics)
    last = rounds[-1]
    write_table(ctx.path("parity.csv"), parity_table(last.run, last.params))
    trajectories = ctx.task.trajectories(last.run.rollouts)
    if trajectories is not None:
        write_table(ctx.path("trajectories.csv"), trajectories)
    stages.done("rounds", rounds=tuple(r.record for r in rounds),
                converged=last.record.within_target)
    if settings.evaluate:
        final_hw = replace(ctx.hardware, params=last.params)
        first = {"naive": (naive, naive_run, base_rows[0].train_s),
                 "physics-aware": (rounds[0].result.model, rounds[0].run,
                                   base_rows[0].train_s + rounds[0].result.seconds)}
        log(f"physics-aware vs naive over {ctx.profile.seeds} seeds")
        compare_seeds(ctx, first)
        stages.done("seeds")
        log(f"robustness: proxy curves over {ctx.profile.chips} chips, SPICE at 3 points")
        robustness(ctx, {"physics-aware": last.result.model, "naive": naive}, final_hw)
        stages.done("robustness")
        log("energy and latency: transients from reset")
        stages.done("energy", energy=energy_latency(ctx, last.result.model, final_hw))
    total = {**stages.summary.timings_s, "total": time.perf_counter() - start}
    summary = replace(stages.summary, timings_s=total)
    seeds_path = ctx.out / "seeds.csv"
    seeds = pd.read_csv(seeds_path) if seeds_path.is_file() else None
    summary = replace(summary, acceptance=tuple(acceptance(ctx.task, summary, seeds)),
                      complete=True)
    write_result(ctx.path(SUMMARY), summary, "loop")
    for item in summary.acceptance:
        log(f"{'met' if item.met else 'MISSED'}: {item.item}: {item.value} (target "
            f"{item.target})")
    return summary
