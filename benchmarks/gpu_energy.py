"""GPU energy of batched DEQ equilibria, the figure codesign.references.H200_MEASURED_MAC cites.

On an NVIDIA GPU: for each core size N, a batch of plain fixed-point iterations
z <- tanh(W z + U x + b) (||W||_2 = rho, a fixed iteration count) runs back to back for about
``--seconds``; NVML's total board energy counter (millijoules since the driver loaded) over that
time, divided by the equilibria computed and by the multiply-accumulates executed, gives the
energy per equilibrium and per executed MAC, idle power included. Not part of `make bench`
(it needs a GPU):

    python benchmarks/gpu_energy.py --sizes 64 256 1024 --dtype bf16
"""

from __future__ import annotations

import argparse
import ctypes
import json
import time
from pathlib import Path

import torch


class Nvml:
    """The total board energy of GPU 0, through libnvidia-ml (no Python package needed)."""

    def __init__(self) -> None:
        try:
            self.lib = ctypes.CDLL("libnvidia-ml.so.1")
        except OSError:
            raise SystemExit("NVML (libnvidia-ml.so.1) not found: this benchmark needs an "
                             "NVIDIA GPU and its driver") from None
        self.handle = ctypes.c_void_p()
        if self.lib.nvmlInit_v2() or self.lib.nvmlDeviceGetHandleByIndex_v2(
                0, ctypes.byref(self.handle)):
            raise SystemExit("NVML could not open GPU 0")

    def energy_j(self) -> float:
        millijoules = ctypes.c_ulonglong()
        if self.lib.nvmlDeviceGetTotalEnergyConsumption(self.handle, ctypes.byref(millijoules)):
            raise SystemExit("this GPU does not report its total energy through NVML")
        return millijoules.value / 1000.0


def measure(n: int, batch: int, iterations: int, dtype: torch.dtype, seconds: float,
            rho: float, nvml: Nvml) -> dict:
    gen = torch.Generator(device="cuda").manual_seed(0)
    W = torch.randn(n, n, device="cuda", generator=gen)
    W = (W * rho / torch.linalg.matrix_norm(W, 2)).to(dtype)
    U = (torch.randn(n, n, device="cuda", generator=gen) / n**0.5).to(dtype)
    b = torch.zeros(n, device="cuda", dtype=dtype)
    x = torch.rand(batch, n, device="cuda", generator=gen).to(dtype)

    def solve() -> torch.Tensor:
        drive = x @ U.T + b
        z = torch.zeros_like(drive)
        for _ in range(iterations):
            z = torch.tanh(z @ W.T + drive)
        return z

    solve()
    torch.cuda.synchronize()
    solves, start_j, start = 0, nvml.energy_j(), time.perf_counter()
    while time.perf_counter() - start < seconds:
        solve()
        solves += 1
        torch.cuda.synchronize()
    wall, energy = time.perf_counter() - start, nvml.energy_j() - start_j
    equilibria = solves * batch
    macs = equilibria * (n * n + iterations * n * n)
    return {"n": n, "batch": batch, "iterations": iterations, "dtype": str(dtype),
            "equilibria_per_s": equilibria / wall, "energy_per_equilibrium_j": energy / equilibria,
            "pj_per_executed_mac": 1e12 * energy / macs, "board_w": energy / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--rho", type=float, default=0.5)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/gpu_energy.json"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU: this benchmark measures a GPU's board energy")
    nvml = Nvml()
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    rows = [measure(n, 65536 if n <= 256 else 16384, args.iterations, dtype, args.seconds,
                    args.rho, nvml) for n in args.sizes]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"gpu": torch.cuda.get_device_name(0), "rows": rows},
                                   indent=2) + "\n")
    for r in rows:
        print(f"N = {r['n']}: {r['equilibria_per_s']:.3g} equilibria/s, "
              f"{1e6 * r['energy_per_equilibrium_j']:.3g} uJ per equilibrium, "
              f"{r['pj_per_executed_mac']:.3g} pJ per executed MAC ({r['board_w']:.0f} W)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
