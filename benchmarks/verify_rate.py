"""``codesign verify``'s marginal rate from the command line against ngspice's own loops, in one
run (issue 22 item 4): every rate below is measured side by side, so their ratios hold on a
loaded machine where the absolute numbers do not.

A seeded random contractive core (n = 64, m = 48 by default, tanh) saved as a bare .npz core and
its seeded inputs (uniform in [-1, 1]); then, each at 16 and at 1040 samples (the marginal rate
is 1024 / (t_1040 - t_16): what one more sample costs, without imports, compiling and parsing):

1. ``codesign verify CORE --inputs E --neuron opamp --analysis op`` as a subprocess of the
   command line (the proxy column included, as the command line runs it);
2. the one-parse ngspice alter loop: the chip's deck as ``codesign export`` writes it (the
   physical circuit, Deck.text) loaded once per ngspice process, then per sample ``alter`` the
   DAC sources, ``op`` and write its raw file (the control block of
   codesign.netlist.spice.batch_deck), one process per core over its share of the samples;
   and the same loop on the deck's operating-point form (Deck.op_text, what verify runs);
3. the sweep path through the API (codesign.chip.verify.verify_core on the process backend, no
   proxy), as ``make bench``'s benchmarks.run times it.

Writes docs/results/verify-rate.json (``--out``) and prints the rates and the ratio of 1 to 2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

SMALL, LARGE = 16, 1040


def _cli_seconds(core: Path, inputs: Path, out: Path) -> float:
    """Wall time of one ``codesign verify`` subprocess (opamp, .op) [s]."""
    command = [sys.executable, "-m", "codesign.cli", "verify", str(core), "--inputs",
               str(inputs), "--neuron", "opamp", "--analysis", "op", "--out", str(out)]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"codesign verify failed:\n{proc.stderr[-2000:]}")
    return seconds


def _loop_seconds(deck, e: np.ndarray, executable: str, workers: int, tmp: Path) -> float:
    """Wall time of the one-parse alter loop over ``e``: ``workers`` ngspice processes at once,
    each over a contiguous share of the samples [s]."""
    from codesign.netlist.deck import make_jobs
    from codesign.netlist.spice import batch_deck

    jobs = make_jobs(e)
    shares = [jobs[k::workers] for k in range(workers)]
    folders = []
    for w, share in enumerate(shares):
        folder = tmp / f"loop-{len(e)}-{w}"
        folder.mkdir(parents=True)
        (folder / "deck.cir").write_text(batch_deck(deck, share, "op"))
        folders.append(folder)

    def run(folder: Path) -> int:
        return subprocess.run([executable, "-b", "deck.cir"], cwd=folder, capture_output=True,
                              text=True).returncode

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        codes = list(pool.map(run, folders))
    seconds = time.perf_counter() - start
    raws = sum(len(list(f.glob("*.raw"))) for f in folders)
    if any(codes) or raws != len(e):
        raise SystemExit(f"the alter loop failed: exit {codes}, {raws} raw files of {len(e)}")
    return seconds


def _api_seconds(core, e: np.ndarray, tmp: Path) -> float:
    """Wall time of verify_core (sweep path, process backend, no proxy) over ``e`` [s]."""
    from codesign.chip.verify import VerifySettings, verify_core
    from codesign.circuit import circuit_config
    from codesign.simulator import get_simulator

    start = time.perf_counter()
    verify_core(core, e, circuit_config("opamp"), get_simulator("process"),
                tmp / f"api-{len(e)}", VerifySettings(proxy=None))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--m", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1,
                        help="Times each path runs at each size, interleaved; the fastest counts "
                             "(on a busy machine: fewer load spikes in the rates).")
    parser.add_argument("--out", type=Path, default=Path("docs/results/verify-rate.json"))
    args = parser.parse_args()

    from codesign.chip.chip import Chip
    from codesign.circuit import circuit_config
    from codesign.deq import random_core
    from codesign.deq.checkpoint import save_npz_core
    from codesign.simulator import get_simulator

    rng = np.random.default_rng(args.seed)
    core = random_core(args.n, args.m, 0.9, rng)
    e = rng.uniform(-1.0, 1.0, (LARGE, args.m))
    simulator = get_simulator("process")
    workers = os.cpu_count() or 1
    deck = Chip(core, circuit_config("opamp"), 0, simulator).deck
    physical = replace(deck, op_text="")  # batch_deck runs an operating point on op_text
    seconds: dict[str, dict[int, float]] = {"cli": {}, "alter_loop": {}, "alter_loop_op_form": {},
                                            "sweep_api": {}}
    with tempfile.TemporaryDirectory(prefix="verify-rate-") as folder:
        tmp = Path(folder)
        core_path = save_npz_core(tmp / "core.npz", core)
        for repeat in range(args.repeats):
            for count in (SMALL, LARGE):
                inputs = tmp / f"e{count}.npy"
                np.save(inputs, e[:count])
                here = tmp / f"{repeat}"
                here.mkdir(exist_ok=True)
                paths = ["cli", "alter_loop", "sweep_api"] + (
                    ["alter_loop_op_form"] if deck.op_text else [])
                for path in paths:
                    if path == "cli":
                        t = _cli_seconds(core_path, inputs, here / f"cli-{count}")
                    elif path == "sweep_api":
                        t = _api_seconds(core, e[:count], here)
                    else:
                        form = physical if path == "alter_loop" else deck
                        t = _loop_seconds(form, e[:count], simulator.install.executable,
                                          workers, here / path)
                    seconds[path][count] = min(seconds[path].get(count, t), t)
    seconds = {name: t for name, t in seconds.items() if t}
    rates = {name: (LARGE - SMALL) / (t[LARGE] - t[SMALL]) for name, t in seconds.items()}
    report = {
        "cores": workers, "n": args.n, "m": args.m, "seed": args.seed, "repeats": args.repeats,
        "neuron": "opamp",
        "analysis": "op", "samples": [SMALL, LARGE],
        "ngspice": simulator.info.__dict__,
        "seconds": {name: {str(k): v for k, v in t.items()} for name, t in seconds.items()},
        "marginal_equilibria_per_s": rates,
        "cli_vs_alter_loop": rates["cli"] / rates["alter_loop"],
        "sweep_api_vs_alter_loop": rates["sweep_api"] / rates["alter_loop"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"n = {args.n}, m = {args.m}, opamp, .op, {workers} cores, ngspice "
          f"{simulator.info.ngspice_version} (KLU {simulator.info.klu}); marginal rate "
          f"between {SMALL} and {LARGE} samples")
    labels = {"cli": "codesign verify (command line, proxy included)",
              "alter_loop": "one-parse ngspice alter loop (a process per core)",
              "alter_loop_op_form": "the same loop on the operating-point form",
              "sweep_api": "sweep path, verify_core API (no proxy)"}
    print(f"{'path':<52} {'marginal':>8}               (t_{SMALL}, t_{LARGE})")
    for name, rate in rates.items():
        t = seconds[name]
        print(f"{labels[name]:<52} {rate:8.1f} equilibria/s  ({t[SMALL]:.2f} s, "
              f"{t[LARGE]:.2f} s)")
    print(f"codesign verify / alter loop: x{report['cli_vs_alter_loop']:.2f}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
