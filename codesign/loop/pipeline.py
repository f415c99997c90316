"""``codesign loop``: baselines, the rounds, the evaluation, the report; one folder per run."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from codesign import __version__
from codesign.loop.evaluate import (
    baselines,
    compare_seeds,
    energy_latency,
    parity_table,
    robustness,
)
from codesign.loop.run import (
    Log,
    LoopContext,
    LoopSettings,
    context,
    run_rounds,
    settings_dict,
    write_summary,
)
from codesign.simulator.base import Simulator
from codesign.tasks.control import EVAL_SEED, PendulumConfig, expert_policy, rollout


def _trajectories(ctx: LoopContext, rollouts: dict, episodes: int = 8) -> pd.DataFrame:
    runs = dict(rollouts)
    runs["expert"] = rollout(expert_policy(PendulumConfig()), PendulumConfig(), episodes,
                             EVAL_SEED)
    rows = []
    for name, r in runs.items():
        for k in range(min(episodes, len(r.cost))):
            steps = np.arange(r.theta.shape[1])
            rows.append(pd.DataFrame({"policy": name, "episode": k, "step": steps,
                                      "time_s": steps * 0.05, "theta_rad": r.theta[k],
                                      "torque_nm": np.append(r.torque[k], np.nan)}))
    return pd.concat(rows, ignore_index=True)


def run_loop(settings: LoopSettings, out: Path, simulator: Simulator, log: Log) -> dict:
    """Run the whole loop for ``settings.task`` into ``out``; returns the summary."""
    start = time.perf_counter()
    ctx = context(settings, out, simulator, log)
    summary: dict = {**settings_dict(ctx), "codesign_version": __version__,
                     "ngspice_version": simulator.info.ngspice_version,
                     "backend": simulator.info.backend, "timings_s": {}}
    timings = summary["timings_s"]

    def stage(name: str, since: float) -> float:
        timings[name] = time.perf_counter() - since
        write_summary(ctx, summary)
        return time.perf_counter()

    t = time.perf_counter()
    expert = ", expert" if ctx.task.kind == "control" else ""
    log(f"{ctx.task.name}: baselines (digital DEQ, MLP{expert})")
    naive, naive_run, base_rows = baselines(ctx)
    summary["baselines"] = base_rows
    summary["reference"] = {"digital": naive_run.digital, "proxy": naive_run.proxy,
                            "circuit": naive_run.circuit}
    t = stage("baselines", t)
    rounds = run_rounds(ctx, naive, naive_run)
    last = rounds[-1]
    summary["rounds"] = [r.row for r in rounds]
    summary["converged"] = bool(last.row["within_target"])
    parity_table(last.run, last.result.model, last.params).to_csv(ctx.path("parity.csv"),
                                                                  index=False)
    if ctx.task.kind == "control":
        _trajectories(ctx, last.run.rollouts).to_csv(ctx.path("trajectories.csv"), index=False)
    t = stage("rounds", t)
    if settings.evaluate:
        final_hw = replace(ctx.hardware, params=last.params)
        first = {"naive": (naive, naive_run, base_rows[0]["train_s"]),
                 "physics-aware": (rounds[0].result.model, rounds[0].run,
                                   base_rows[0]["train_s"] + rounds[0].result.seconds)}
        log(f"physics-aware vs naive over {ctx.profile.seeds} seeds")
        compare_seeds(ctx, first)
        t = stage("seeds", t)
        log(f"robustness: proxy curves over {ctx.profile.chips} chips, SPICE at 3 points")
        robustness(ctx, {"physics-aware": last.result.model, "naive": naive}, final_hw)
        t = stage("robustness", t)
        log("energy and latency: transients from reset")
        summary["energy"] = energy_latency(ctx, last.result.model, final_hw)
        t = stage("energy", t)
    timings["total"] = time.perf_counter() - start
    write_summary(ctx, summary)
    return summary
