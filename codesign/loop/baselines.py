"""Digital baselines on the same data and seeds (the naive DEQ, whose chip is the loop's
reference, an MLP of about its parameter count, the task's experts), and physics-aware against
naive training over seeds."""

from __future__ import annotations

import pandas as pd
import torch

from codesign.deq.model import HybridDEQ
from codesign.files import write_table
from codesign.loop.context import LoopContext, save_model, train
from codesign.loop.robustness import chip_metrics
from codesign.loop.runs import CircuitRun, run_on_chip
from codesign.results.loop import BaselineRow
from codesign.tasks.base import TaskMetrics
from codesign.training.baselines import new_mlp, parameter_count
from codesign.training.train import predict, train_model


def digital_metrics(ctx: LoopContext, model: torch.nn.Module) -> TaskMetrics:
    """The model's digital metric on the whole test (closed-loop tasks: its episodes)."""
    return ctx.task.evaluate(lambda x: predict(model, x)).metrics


def baselines(ctx: LoopContext) -> tuple[HybridDEQ, CircuitRun, list[BaselineRow]]:
    """The naive digital DEQ (seed 0; its circuit run is the loop's reference), the MLP and the
    task's experts."""
    naive = train(ctx, 0, None)
    save_model(ctx, naive, "naive-seed0", "naive")
    run = run_on_chip(ctx, naive.model, ctx.hardware, ctx.folder("baselines", "spice-naive"))
    # every row carries the success rate where the task has one (a closed-loop task's digital
    # models too: a row without it read "success_rate nan" in the report)
    digital = digital_metrics(ctx, naive.model)
    rows = [BaselineRow("digital DEQ (naive)", parameter_count(naive.model), naive.seconds,
                        digital.metric, digital.success_rate)]
    mlp = train_model(ctx.task, new_mlp(ctx.deq, torch.from_numpy(ctx.task.x_train), 0),
                      ctx.profile.train)
    digital = digital_metrics(ctx, mlp.model)
    rows.append(BaselineRow("digital MLP", parameter_count(mlp.model), mlp.seconds,
                            digital.metric, digital.success_rate))
    for expert in ctx.task.experts():
        metrics = ctx.task.evaluate(expert.outputs).metrics
        rows.append(BaselineRow(expert.name, expert.parameters, 0.0, metrics.metric,
                                metrics.success_rate))
    write_table(ctx.path("baselines.csv"), pd.DataFrame([r.row() for r in rows]))
    return naive.model, run, rows


def _seed_row(ctx: LoopContext, seed: int, training: str, model, run: CircuitRun,
              seconds: float) -> dict:
    chips = chip_metrics(model, ctx.task, ctx.hardware, ctx.profile.chips, ctx.task.full_set())
    circuit = run.metrics.circuit
    return {"seed": seed, "training": training, "train_s": seconds,
            "digital_test": digital_metrics(ctx, model).metric,
            "proxy_chips_mean": float(chips[:, 0].mean()),
            "proxy_chips_sd": float(chips[:, 0].std()),
            "digital_subset": run.metrics.digital.metric, "proxy_subset": run.metrics.proxy.metric,
            "circuit_subset": circuit.metric,
            **({} if circuit.success_rate is None else
               {"circuit_success_rate": circuit.success_rate})}


def compare_seeds(ctx: LoopContext, first: dict[str, tuple]) -> pd.DataFrame:
    """Physics-aware vs naive training over ``profile.seeds`` seeds: per seed a naive model
    from scratch and its fine-tune through the proxy; digital test metric, the proxy over chip
    instances (full test) and the SPICE circuit of one chip (verification set). ``first``:
    training -> (model, run, seconds) of seed 0, already computed."""
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
                run = run_on_chip(ctx, model, ctx.hardware,
                                  ctx.folder("seeds", f"{training}-seed{seed}"))
            rows.append(_seed_row(ctx, seed, training, model, run, seconds))
            ctx.log(f"seed {seed} {training}: circuit {rows[-1]['circuit_subset']:.4g}, proxy "
                    f"over {ctx.profile.chips} chips {rows[-1]['proxy_chips_mean']:.4g}")
            write_table(ctx.path("seeds.csv"), pd.DataFrame(rows))
    return pd.DataFrame(rows)
