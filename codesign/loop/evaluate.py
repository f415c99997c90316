"""After the rounds: baselines, physics-aware vs naive over seeds, robustness curves (proxy,
with circuit-verified points), energy and latency. Each stage writes its CSV into the run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from codesign.aware import HardwareModel
from codesign.baselines import new_mlp, parameter_count
from codesign.deq.model import HybridDEQ
from codesign.loop.circuit import CircuitRun, settling_trace, verify_model
from codesign.loop.energy import energy_table, measured_solve
from codesign.loop.robustness import SweepPoint, chip_metrics, robustness_table
from codesign.loop.run import LoopContext, circuit_run, save_model, train
from codesign.tasks.control import EVAL_SEED, PendulumConfig, expert_policy, model_policy, rollout
from codesign.training import encode, predict, train_model
from codesign.verify import proxy_equilibrium

CIRCUIT_POINTS = (SweepPoint("mismatch_sigma", 0.10), SweepPoint("bits", 3),
                  SweepPoint("dc_gain", 1e2))
"""Robustness points re-checked in SPICE for both models."""


def digital_metric(ctx: LoopContext, model: torch.nn.Module) -> float:
    """The model's digital test metric (control: closed-loop mean cost over the episodes)."""
    if ctx.task.kind == "control":
        policy = model_policy(lambda o: predict(model, o))
        return rollout(policy, PendulumConfig(), ctx.profile.episodes, EVAL_SEED).summary()[
            "mean_cost"]
    return ctx.task.score(predict(model, ctx.task.x_test), ctx.task.y_test)


def baselines(ctx: LoopContext) -> tuple[HybridDEQ, CircuitRun, list[dict]]:
    """The naive digital DEQ (seed 0; its circuit run is the loop's reference), the MLP and,
    for control, the expert."""
    naive = train(ctx, 0, None)
    save_model(ctx, naive, "naive-seed0", "naive")
    run = circuit_run(ctx, naive.model, ctx.hardware, ctx.folder("baselines", "spice-naive"))
    rows = [{"model": "digital DEQ (naive)", "parameters": parameter_count(naive.model),
             "train_s": naive.seconds, "test_metric": digital_metric(ctx, naive.model)}]
    mlp = train_model(ctx.task, new_mlp(ctx.deq, torch.from_numpy(ctx.task.x_train), 0),
                      ctx.profile.train)
    rows.append({"model": "digital MLP", "parameters": parameter_count(mlp.model),
                 "train_s": mlp.seconds, "test_metric": digital_metric(ctx, mlp.model)})
    if ctx.task.kind == "control":
        s = rollout(expert_policy(PendulumConfig()), PendulumConfig(), ctx.profile.episodes,
                    EVAL_SEED).summary()
        rows.append({"model": "expert (saturated LQR)", "parameters": 2, "train_s": 0.0,
                     "test_metric": s["mean_cost"], "success_rate": s["success_rate"]})
    pd.DataFrame(rows).to_csv(ctx.path("baselines.csv"), index=False)
    return naive.model, run, rows


def _seed_row(ctx: LoopContext, seed: int, training: str, model, run: CircuitRun,
              seconds: float) -> dict:
    chips = chip_metrics(model, ctx.task, ctx.hardware, ctx.profile.chips,
                         ctx.profile.episodes)
    row = {"seed": seed, "training": training, "train_s": seconds,
           "digital_test": digital_metric(ctx, model),
           "proxy_chips_mean": float(chips[:, 0].mean()),
           "proxy_chips_sd": float(chips[:, 0].std()),
           "digital_subset": run.digital["metric"], "proxy_subset": run.proxy["metric"],
           "circuit_subset": run.circuit["metric"]}
    if ctx.task.kind == "control":
        row["circuit_success_rate"] = run.circuit["success_rate"]
    return row


def compare_seeds(ctx: LoopContext, first: dict[str, tuple]) -> pd.DataFrame:
    """Physics-aware vs naive training over ``profile.seeds`` seeds: per seed a naive model
    from scratch and its fine-tune through the proxy; digital test metric, the proxy over chip
    instances (full test set) and the SPICE circuit of one chip (subset). ``first``: training
    -> (model, run, seconds) of seed 0, already computed."""
    rows, naive, naive_s = [], None, 0.0
    for seed in range(ctx.profile.seeds):
        for training, hardware in (("naive", None), ("physics-aware", ctx.hardware)):
            if seed == 0:
                model, run, seconds = first[training]
            else:
                result = train(ctx, seed, hardware, init=None if hardware is None else naive)
                save_model(ctx, result, f"{training}-seed{seed}", training)
                model, seconds = result.model, result.seconds
                if hardware is None:
                    naive, naive_s = model, seconds
                else:
                    seconds += naive_s  # the fine-tune's total includes its naive start
                run = circuit_run(ctx, model, ctx.hardware,
                                  ctx.folder("seeds", f"{training}-seed{seed}"))
            rows.append(_seed_row(ctx, seed, training, model, run, seconds))
            ctx.log(f"seed {seed} {training}: circuit {rows[-1]['circuit_subset']:.4g}, proxy "
                    f"over {ctx.profile.chips} chips {rows[-1]['proxy_chips_mean']:.4g}")
            pd.DataFrame(rows).to_csv(ctx.path("seeds.csv"), index=False)
    return pd.DataFrame(rows)


def robustness(ctx: LoopContext, models: dict[str, HybridDEQ],
               hardware: HardwareModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Proxy curves over every sweep point, and SPICE at CIRCUIT_POINTS, for each model."""
    episodes = max(8, ctx.profile.episodes // 2)
    curves = robustness_table(models, ctx.task, hardware, ctx.profile.chips, episodes)
    curves.to_csv(ctx.path("robustness.csv"), index=False)
    rows = []
    indices = ctx.indices[: ctx.profile.robustness_samples]
    for point in CIRCUIT_POINTS:
        for name, model in models.items():
            run = circuit_run(ctx, model, point.apply(hardware),
                              ctx.folder("robustness", f"{name}-{point.axis}-{point.value:g}"),
                              indices=indices, episodes=episodes)
            rows.append({"model": name, "axis": point.axis, "value": point.value,
                         "digital": run.digital["metric"], "proxy": run.proxy["metric"],
                         "circuit": run.circuit["metric"],
                         "circuit_success_rate": run.circuit.get("success_rate")})
            ctx.log(f"robustness {name} {point.axis}={point.value:g}: circuit "
                    f"{rows[-1]['circuit']:.4g}, proxy {rows[-1]['proxy']:.4g}")
            pd.DataFrame(rows).to_csv(ctx.path("robustness_circuit.csv"), index=False)
    return curves, pd.DataFrame(rows)


def energy_latency(ctx: LoopContext, model: HybridDEQ, hardware: HardwareModel) -> dict:
    """Transients from reset (settling, energy) for a few samples, the digital solve's cost and
    time, and one settling trace beside the proxy's."""
    indices = ctx.indices[: ctx.profile.energy_samples]
    run = verify_model(model, ctx.task, indices, hardware, ctx.simulator,
                       ctx.folder("energy", "spice"), ctx.settings.chip_seed, analysis="tran")
    settling, energy = run.summary["settling"], run.summary["energy_per_inference_j"]
    digital = measured_solve(model, encode(model, ctx.task.x_test[:256]))
    n, m = ctx.deq.core_size, ctx.deq.core_inputs
    table = pd.DataFrame(energy_table(n, m, {"energy_j": energy["mean"]}, digital))
    table.to_csv(ctx.path("energy.csv"), index=False)
    trace = settling_trace(model, hardware, ctx.simulator, ctx.folder("energy", "trace"),
                           ctx.task.x_test[0], ctx.settings.chip_seed)
    trace.to_csv(ctx.path("settling.csv"), index=False)
    return {"samples": int(len(indices)), "settling_s": settling["time_s"],
            "settling_bound_s": settling["bound_s"], "tau_s": settling["tau_s"],
            "energy_per_inference_j": energy, "energy_per_mac_j": run.summary["energy_per_mac_j"],
            "macs_per_matvec": run.summary["macs_per_matvec"], "digital_solve": digital,
            "circuit": {"v_fs": hardware.circuit.mapping.v_fs,
                        "g_min_s": hardware.circuit.mapping.g_min_s,
                        "g_max_s": hardware.circuit.mapping.g_max_s,
                        "tau_s": hardware.circuit.neuron.tau_s,
                        "opamp": vars(hardware.circuit.neuron.opamp)}}


def parity_table(run: CircuitRun, model: HybridDEQ, params, samples: int = 64) -> pd.DataFrame:
    """Per neuron and sample: PyTorch's z*, the proxy's (``params``) and SPICE's, on the chip
    of ``run`` (its first ``samples`` samples)."""
    e, z = run.e[:samples], run.z[:samples]
    z_digital = model.core.to_weights().equilibrium(e)
    z_proxy = proxy_equilibrium(params, run.compiled, e)
    k, n = z.shape
    return pd.DataFrame({"sample": np.repeat(np.arange(k), n), "neuron": np.tile(np.arange(n), k),
                         "z_digital": z_digital.ravel(), "z_proxy": z_proxy.ravel(),
                         "z_spice": z.ravel()})
