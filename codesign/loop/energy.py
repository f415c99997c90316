"""Energy and latency of one inference of the core: the circuit's, measured in SPICE, beside
the digital solve's, from its operation count and the documented energy per operation of each
reference (codesign.references), and its wall time measured here."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from codesign.calibration.noise import noiseless
from codesign.chip.verify import VerifySettings, verify_chip
from codesign.deq.model import HybridDEQ
from codesign.files import write_table
from codesign.loop.context import LoopContext
from codesign.loop.runs import model_chip
from codesign.netlist.deck import Analysis
from codesign.references import (
    ANALOG_CHIPS_MAC,
    CPU_FP32_MAC,
    H100_DATASHEET_MAC,
    H200_MEASURED_MAC,
)
from codesign.results.loop import DigitalSolve, EnergyResult
from codesign.training.aware import HardwareModel
from codesign.training.train import encode

ANDERSON_MEMORY = 5


def solve_macs(n: int, m: int, iterations: float, memory: int = ANDERSON_MEMORY) -> float:
    """Multiply-accumulates of one digital core solve: U e once, then per Anderson iteration
    W z (n^2), the residual Gram matrix (memory^2 n) and the mixing (2 memory n)."""
    return n * m + iterations * (n * n + memory * memory * n + 2 * memory * n)


def reference_energies(n: int, m: int, macs: int | None = None) -> list[tuple[str, float]]:
    """(name, energy [J]) of the reference systems for one inference of an n x (n + m) core,
    each at its energy per equivalent MAC (``macs``: n (n + m))."""
    macs = macs or n * (n + m)
    gpu_n = min(H200_MEASURED_MAC, key=lambda k: abs(k - n))
    refs = [("CPU fp32 floor", CPU_FP32_MAC.value * 1e-12),
            ("H100 datasheet", H100_DATASHEET_MAC.value * 1e-12),
            (f"H200 measured (N = {gpu_n})", H200_MEASURED_MAC[gpu_n].value * 1e-12)]
    refs += [(ref.name, ref.value * 1e-15) for ref in ANALOG_CHIPS_MAC]
    return [(name, macs * per_mac) for name, per_mac in refs]


def measured_solve(model: HybridDEQ, e: np.ndarray, repeats: int = 20) -> DigitalSolve:
    """Iterations and wall time of the digital core solve here (one torch thread as set)."""
    core = model.core
    et = torch.from_numpy(np.asarray(e, np.float32))
    with torch.no_grad():
        core(et)
        iterations = core.last_info.iterations
        start = time.perf_counter()
        for k in range(repeats):
            core(et[k % len(et)][None])
        single = (time.perf_counter() - start) / repeats
        start = time.perf_counter()
        core(et)
        batched = (time.perf_counter() - start) / len(et)
    return DigitalSolve(float(iterations), single, batched, torch.get_num_threads())


def energy_table(n: int, m: int, circuit_j: float, digital: DigitalSolve) -> list[dict]:
    """Energy per inference of the core [J] and per equivalent MAC, each with its source."""
    matvec = n * (n + m)
    macs = solve_macs(n, m, digital.iterations)
    gpu_n = min(H200_MEASURED_MAC, key=lambda k: abs(k - n))
    rows = [{"system": "this circuit (SPICE, settling to 1e-4 FS)", "energy_j": circuit_j,
             "pj_per_mac": circuit_j / matvec * 1e12,
             "source": "measured: ngspice transient from reset, supply energy; plus the DAC and "
                       "ADC conversions at their figure of merit (codesign.references)"}]
    for name, ref in (
        ("digital solve, CPU arithmetic floor (fp32, 45 nm)", CPU_FP32_MAC),
        ("digital solve, H100 datasheet peak (FP16)", H100_DATASHEET_MAC),
        (f"digital solve, H200 measured at N = {gpu_n} (bf16)", H200_MEASURED_MAC[gpu_n]),
    ):
        rows.append({"system": name, "energy_j": macs * ref.value * 1e-12,
                     "pj_per_mac": ref.value, "source": ref.source})
    for ref in ANALOG_CHIPS_MAC:
        rows.append({"system": f"published analog chip: {ref.name}, one matvec",
                     "energy_j": matvec * ref.value * 1e-15, "pj_per_mac": ref.value / 1000,
                     "source": ref.source})
    for row in rows:
        row["macs_digital_solve"] = macs
        row["macs_matvec"] = matvec
    return rows


def energy_latency(ctx: LoopContext, model: HybridDEQ, hardware: HardwareModel) -> EnergyResult:
    """Transients from reset (settling, energy) for a few test samples on the run's chip, the
    digital solve's cost and time, and one settling trace beside the proxy's."""
    indices = ctx.task.test_subset(ctx.profile.verify_samples)[: ctx.profile.energy_samples]
    # the noiseless twin: noise moves neither the settling nor the energy, but a noisy trace
    # may never stay within the tolerance (the design search measures the same way)
    chip = noiseless(model_chip(ctx, model, hardware))
    e = encode(model, ctx.task.x_test[indices])
    result = verify_chip(chip, e, ctx.folder("energy", "spice"),
                         VerifySettings(analysis=Analysis.TRAN, proxy=hardware.params,
                                        seed=ctx.settings.chip_seed))
    s = result.summary
    digital = measured_solve(model, encode(model, ctx.task.x_test[:256]))
    n, m = ctx.deq.core_size, ctx.deq.core_inputs
    table = pd.DataFrame(energy_table(n, m, s.energy_per_inference_j.mean, digital))
    write_table(ctx.path("energy.csv"), table)
    write_table(ctx.path("settling.csv"), settling_trace(chip, hardware,
                                                         ctx.folder("energy", "trace"),
                                                         encode(model, ctx.task.x_test[:1])))
    return EnergyResult(
        samples=int(len(indices)), settling_s=s.settling.time_s,
        settling_bound_s=s.settling.bound_s, tau_s=s.settling.tau_s,
        energy_per_inference_j=s.energy_per_inference_j, energy_per_mac_j=s.energy_per_mac_j,
        macs_per_matvec=s.macs_per_matvec, digital_solve=digital, circuit=hardware.circuit)


def settling_trace(chip, hardware: HardwareModel, run_dir, e: np.ndarray,
                   neurons: int = 4) -> pd.DataFrame:
    """One transient from reset in SPICE beside the proxy's trajectory, for the neurons with
    the largest |z*|: a long table (time_s, neuron, z_spice, z_proxy) [FS]."""
    t, z_t = chip.trace(e[0], run_dir)
    z_p = chip.proxy_trajectory(hardware.params, e[:1], t)[0]
    pick = np.argsort(-np.abs(z_t[-1]))[:neurons]
    return pd.DataFrame({"time_s": np.tile(t, len(pick)), "neuron": np.repeat(pick, len(t)),
                         "z_spice": z_t[:, pick].T.ravel(), "z_proxy": z_p[:, pick].T.ravel()})
