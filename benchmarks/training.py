"""Training-loop benchmarks (make bench), measured side by side in one run on the digits core
(n = 64, m = 48, transistor-level proxy, 5 % mismatch):

1. Five epochs of naive (digital) training against five of physics-aware training (the core
   through the proxy on a fresh chip draw every step): seconds per epoch and the ratio.
2. Equilibria per second for 256 test samples: the proxy (one batched solve) against ngspice's
   .op of the transistor-level circuit (process backend, all cores): the ratio is why training
   goes through the proxy and SPICE only verifies.

Writes runs/bench/training.json and prints a table.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from codesign.chip.verify import VerifySettings, verify_core
from codesign.circuit.config import ArrayConfig, circuit_config
from codesign.deq.model import DEQConfig
from codesign.files import jsonable
from codesign.proxy import default_params_path, load_params
from codesign.simulator import get_simulator
from codesign.tasks import get_task
from codesign.training.aware import HardwareModel
from codesign.training.train import encode, new_model, train_model

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    torch.set_num_threads(1)
    task = get_task("digits")
    profile = task.profile
    deq = DEQConfig(in_features=64, out_features=10, core_size=profile.core_size,
                    core_inputs=profile.core_inputs)
    config = circuit_config("transistor", array=ArrayConfig(mismatch_sigma=0.05))
    hw = HardwareModel(load_params(default_params_path("transistor"))[0], config)
    epochs = replace(profile.train, epochs=5)
    model = new_model(task, deq, 0)
    naive = train_model(task, model, epochs)
    aware = train_model(task, model, epochs, hardware=hw)
    e = encode(naive.model, task.x_test[:256])
    core = naive.model.core.to_weights()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = verify_core(core, e, config, get_simulator(), Path(tmp),
                             VerifySettings(seed=1, proxy=None))
        spice_s = time.perf_counter() - start
    start = time.perf_counter()
    z_proxy = result.chip.proxy_equilibrium(hw.params, e)
    proxy_s = time.perf_counter() - start
    out = {
        "naive_epoch_s": naive.seconds / 5, "aware_epoch_s": aware.seconds / 5,
        "aware_over_naive": aware.seconds / naive.seconds,
        "spice_equilibria_per_s": len(e) / spice_s, "proxy_equilibria_per_s": len(e) / proxy_s,
        "proxy_over_spice": spice_s / proxy_s,
        "proxy_rms_error_fs": float(np.sqrt(np.mean((z_proxy - result.z_spice) ** 2))),
    }
    path = ROOT / "runs" / "bench" / "training.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(out), indent=2))
    print("digits core n = 64, transistor proxy, 5 % mismatch, 1 torch thread")
    print(f"epoch: naive {out['naive_epoch_s']:.1f} s, physics-aware {out['aware_epoch_s']:.1f} s"
          f" (x{out['aware_over_naive']:.2f})")
    print(f"equilibria/s on 256 samples: proxy {out['proxy_equilibria_per_s']:.0f}, SPICE .op "
          f"{out['spice_equilibria_per_s']:.1f} (proxy x{out['proxy_over_spice']:.0f}); proxy "
          f"vs SPICE RMS {out['proxy_rms_error_fs']:.1e} FS")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
