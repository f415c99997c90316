"""Energy and latency of one inference of the core: the circuit's, measured in SPICE, beside
the digital solve's, from its operation count and documented energy per operation, and its
measured wall time here.

Sources of the digital figures (see ../README.md, "Energy"):
- CPU arithmetic floor: Horowitz, ISSCC 2014, 45 nm: fp32 multiply 3.7 pJ + add 0.9 pJ, so
  4.6 pJ per multiply-accumulate, arithmetic only (no data movement; a real CPU spends more).
- GPU datasheet: NVIDIA H100 SXM, 700 W at 989 TFLOP/s dense FP16: 0.71 pJ/FLOP, 1.42 pJ/MAC.
- GPU measured: one H200 (this project, 2026-11-28; NVML board energy, batched plain fixed-point
  iteration, N = 64, bf16): 51 pJ per executed MAC; N = 256: 13 pJ.
- Analog chips: IBM HERMES PCM (Le Gallo et al., Nat. Electron. 2023) 205-806 fJ/MAC; Ambrogio
  et al., Nature 620 (2023) 161 fJ/MAC.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from codesign.deq.model import HybridDEQ

CPU_PJ_PER_MAC = 4.6
GPU_DATASHEET_PJ_PER_MAC = 1.42
GPU_MEASURED_PJ_PER_MAC = {64: 51.0, 256: 13.0, 1024: 5.1}
ANALOG_CHIP_FJ_PER_MAC = {"IBM HERMES PCM (Le Gallo 2023), 1-phase": 205.0,
                          "IBM HERMES PCM (Le Gallo 2023), 4-phase": 806.0,
                          "Ambrogio et al. 2023 (35 M PCM)": 161.0}
ANDERSON_MEMORY = 5


def solve_macs(n: int, m: int, iterations: float, memory: int = ANDERSON_MEMORY) -> float:
    """Multiply-accumulates of one digital core solve: U e once, then per Anderson iteration
    W z (n^2), the residual Gram matrix (memory^2 n) and the mixing (2 memory n)."""
    return n * m + iterations * (n * n + memory * memory * n + 2 * memory * n)


def measured_solve(model: HybridDEQ, e: np.ndarray, repeats: int = 20) -> dict:
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
    return {"iterations": float(iterations), "latency_batch1_s": single,
            "time_per_sample_batched_s": batched, "torch_threads": torch.get_num_threads()}


def energy_table(n: int, m: int, analog: dict, digital: dict) -> list[dict]:
    """Energy per inference of the core [J] and per equivalent MAC, each with its source."""
    matvec = n * (n + m)
    macs = solve_macs(n, m, digital["iterations"])
    gpu_n = min(GPU_MEASURED_PJ_PER_MAC, key=lambda k: abs(k - n))
    rows = [{"system": "this circuit (SPICE, settling to 1e-4 FS)",
             "energy_j": analog["energy_j"], "pj_per_mac": analog["energy_j"] / matvec * 1e12,
             "source": "measured: ngspice transient from reset, supply energy"}]
    for name, pj, source in (
        ("digital solve, CPU arithmetic floor (fp32, 45 nm)", CPU_PJ_PER_MAC,
         "Horowitz ISSCC 2014: 4.6 pJ/MAC"),
        ("digital solve, H100 datasheet peak (FP16)", GPU_DATASHEET_PJ_PER_MAC,
         "NVIDIA H100 SXM: 700 W / 989 TFLOP/s"),
        (f"digital solve, H200 measured at N = {gpu_n} (bf16)", GPU_MEASURED_PJ_PER_MAC[gpu_n],
         "this project, NVML board energy (physics.md)"),
    ):
        rows.append({"system": name, "energy_j": macs * pj * 1e-12, "pj_per_mac": pj,
                     "source": source})
    for name, fj in ANALOG_CHIP_FJ_PER_MAC.items():
        rows.append({"system": f"published analog chip: {name}, one matvec",
                     "energy_j": matvec * fj * 1e-15, "pj_per_mac": fj / 1000,
                     "source": "published figure per MAC x this core's MACs"})
    for row in rows:
        row["macs_digital_solve"] = macs
        row["macs_matvec"] = matvec
    return rows
