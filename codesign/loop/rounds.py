"""The co-design rounds: fine-tune through the calibrated proxy, export the chip, verify it in
SPICE, re-fit the proxy on its traces, repeat until the circuit does what the digital model
does. Each round compiles its chip once: the exported netlist is the verified one."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from codesign.calibration.refit import refit
from codesign.deq.model import HybridDEQ
from codesign.files import write_table
from codesign.loop.context import LoopContext, save_model, train
from codesign.loop.runs import CircuitRun, run_on_chip
from codesign.proxy.params import ProxyParams, save_params
from codesign.results.loop import ModelRun, RoundRecord
from codesign.simulator.ngspice import find_ngspice
from codesign.training.train import TrainResult


@dataclass(frozen=True, eq=False)
class Round:
    """One round's model, its training and its circuit run, and the parameters refitted on it."""

    result: TrainResult
    run: CircuitRun
    params: ProxyParams
    record: RoundRecord


def run_rounds(ctx: LoopContext, naive: HybridDEQ, reference: ModelRun) -> list[Round]:
    """Fine-tune through the proxy (round 0 starts from the naive model), export, verify,
    re-calibrate on the new traces, until the circuit is within target of ``reference``."""
    hardware, model, rounds = ctx.hardware, naive, []
    for r in range(ctx.settings.rounds):
        start = time.perf_counter()
        result = train(ctx, r, hardware, init=model)
        model = result.model
        save_model(ctx, result, f"round-{r}", "physics-aware fine-tune")
        run = run_on_chip(ctx, model, hardware, ctx.folder(f"round-{r}", "spice"))
        run.chip.export(ctx.folder(f"round-{r}", "netlist"), ngspice=find_ngspice(),
                        source=f"codesign loop {ctx.task.name} round {r}")
        params, fit = refit(hardware.params, run.chip, *run.chip.traces())
        save_params(ctx.path(f"round-{r}", "proxy.json"), params,
                    {"fitted_to": f"round {r} SPICE equilibria", **vars(fit)})
        ok = ctx.task.within_target(reference.digital.metric, run.metrics.circuit)
        record = RoundRecord(r, "shipped" if r == 0 else f"refit in round {r - 1}",
                             result.seconds, run.metrics, reference.digital.metric, ok, fit,
                             time.perf_counter() - start)
        rounds.append(Round(result, run, params, record))
        write_table(ctx.path("rounds.csv"), pd.DataFrame([x.record.row() for x in rounds]))
        ctx.log(_round_line(ctx, record))
        hardware = replace(hardware, params=params)
        if ok:
            break
    return rounds


def _round_line(ctx: LoopContext, r: RoundRecord) -> str:
    fit = r.calibration
    return (f"round {r.round}: {ctx.task.metric.short} digital {r.run.digital.metric:.4g}, proxy "
            f"{r.run.proxy.metric:.4g}, circuit {r.run.circuit.metric:.4g} (digital DEQ "
            f"{r.reference_digital:.4g}); calibration residual {fit.residual_before_fs:.2e} -> "
            f"{fit.residual_after_fs:.2e} FS; "
            f"{'within target' if r.within_target else 'not yet within target'}; "
            f"{r.wall_s:.0f} s")


def parity_table(run: CircuitRun, params: ProxyParams, samples: int = 64) -> pd.DataFrame:
    """Per neuron and sample: PyTorch's z*, the proxy's (``params``) and SPICE's, on the chip
    of ``run`` (its first ``samples`` samples)."""
    e, z, _ = run.chip.traces()
    e, z = e[:samples], z[:samples]
    z_digital = run.chip.core.equilibrium(e)
    z_proxy = run.chip.proxy_equilibrium(params, e)
    k, n = z.shape
    return pd.DataFrame({"sample": np.repeat(np.arange(k), n), "neuron": np.tile(np.arange(n), k),
                         "z_digital": z_digital.ravel(), "z_proxy": z_proxy.ravel(),
                         "z_spice": z.ravel()})
