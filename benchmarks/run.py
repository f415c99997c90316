"""codesign benchmarks (make bench): every ratio is measured side by side in one run.

1. Equilibria per second of ``verify`` (codesign.chip.verify.verify_core: compile, simulate,
   compare), N = 64, 256 samples, .op, opamp neurons: the process backend's operating-point
   sweep (one .dc sweep over a sample index per ngspice process, all cores), the path before
   sweeps (alter + op + a raw file per sample, one deck per process), the shared-library
   backend (sweep and loop, in-process, one core), and the naive way: one PySpice-built
   circuit and one PySpice operating_point() per sample. Each path's largest difference from
   the per-sample .op path, and from the circuit's predicted equilibrium. The codesign paths
   run operating points on the deck's operating-point form (Deck.op_text: one VCCS per
   weight); benchmarks.verify_rate times ``codesign verify`` from the command line against the
   alter loop on the physical deck.
2. Writing an N = 512 deck: codesign's writer against building and printing PySpice's elements.

Writes runs/bench/bench.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from codesign.chip.verify import VerifySettings, verify_core
from codesign.circuit import circuit_config, compile_core, predict_equilibrium
from codesign.deq import random_core
from codesign.netlist.pyspice import to_pyspice
from codesign.netlist.spice import RESET, UNLOAD, write_deck
from codesign.simulator import get_simulator


def codesign_rate(backend: str, core, e: np.ndarray, sweep: bool) -> tuple[float, np.ndarray]:
    """verify_core end to end (compile, deck, ngspice, comparison tables)."""
    simulator = get_simulator(backend, sweep=sweep)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        # without the proxy column (the default since it became the API's default too): the
        # ngspice path as timed before
        z = verify_core(core, e, circuit_config("opamp"), simulator, Path(tmp),
                        VerifySettings(proxy=None)).z_spice
        seconds = time.perf_counter() - start
    return len(e) / seconds, z


def naive_rate(circuit, e: np.ndarray) -> tuple[float, np.ndarray]:
    """One PySpice circuit and one operating_point() per sample (with the clean-up PySpice
    needs to keep its speed: destroy all, remcirc)."""
    get_simulator("shared")  # sets PySpice's library path
    z = np.zeros((len(e), circuit.n))
    start = time.perf_counter()
    for k, row in enumerate(e):
        pys = to_pyspice(circuit, row)
        simulator = pys.simulator(simulator="ngspice-shared")
        analysis = simulator.operating_point()
        z[k] = [float(analysis.nodes[f"zp{i}"][0]) / circuit.v_fs for i in range(circuit.n)]
        simulator.ngspice.exec_command(RESET)
        simulator.ngspice.exec_command(UNLOAD)
    return len(e) / (time.perf_counter() - start), z


def writer_seconds(n: int, rng: np.random.Generator) -> tuple[float, float]:
    circuit = compile_core(random_core(n, n // 4, 0.9, rng), circuit_config("opamp"))
    start = time.perf_counter()
    write_deck(circuit)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    str(to_pyspice(circuit))
    return ours, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--writer-n", type=int, default=512)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/bench.json"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    core = random_core(args.n, 16, 0.9, rng)
    e = rng.uniform(-1, 1, (args.samples, 16))
    circuit = compile_core(core, circuit_config("opamp"))
    reference = predict_equilibrium(circuit, e).z

    runs = {}
    for name, fn in [("process_loop", lambda: codesign_rate("process", core, e, False)),
                     ("process", lambda: codesign_rate("process", core, e, True)),
                     ("shared", lambda: codesign_rate("shared", core, e, True)),
                     ("shared_loop", lambda: codesign_rate("shared", core, e, False)),
                     ("naive_pyspice", lambda: naive_rate(circuit, e))]:
        runs[name] = fn()
    per_sample = runs["process_loop"][1]
    rows = {name: {"equilibria_per_s": rate,
                   "max_difference_vs_per_sample_op_fs": float(np.abs(z - per_sample).max()),
                   "max_error_vs_prediction_fs": float(np.abs(z - reference).max())}
            for name, (rate, z) in runs.items()}
    ours, theirs = writer_seconds(args.writer_n, rng)
    report = {
        "cores": os.cpu_count(),
        "n": args.n,
        "samples": args.samples,
        "neuron": "opamp",
        "analysis": "op",
        "ngspice": get_simulator("process").info.__dict__,
        "equilibria": rows,
        "speedup_process_vs_naive": rows["process"]["equilibria_per_s"]
        / rows["naive_pyspice"]["equilibria_per_s"],
        "speedup_sweep_vs_loop": rows["process"]["equilibria_per_s"]
        / rows["process_loop"]["equilibria_per_s"],
        "speedup_shared_vs_naive": rows["shared"]["equilibria_per_s"]
        / rows["naive_pyspice"]["equilibria_per_s"],
        "writer": {"n": args.writer_n, "codesign_s": ours, "pyspice_s": theirs,
                   "ratio": theirs / ours},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"N = {args.n}, {args.samples} samples, .op, opamp neurons, {os.cpu_count()} cores, "
          f"ngspice {report['ngspice']['ngspice_version']} (KLU {report['ngspice']['klu']})")
    print(f"{'verify path':<52} {'equilibria/s':>12} {'vs .op [FS]':>12} "
          f"{'vs model':>9}")
    labels = {"process": "codesign: op sweep, process backend (all cores)",
              "process_loop": "before sweeps: alter + op per sample (all cores)",
              "shared": "codesign: op sweep, libngspice (1 core)",
              "shared_loop": "before sweeps: alter + op, libngspice (1 core)",
              "naive_pyspice": "naive: one PySpice circuit + .op per sample"}
    for name, row in rows.items():
        print(f"{labels[name]:<52} {row['equilibria_per_s']:>12.1f} "
              f"{row['max_difference_vs_per_sample_op_fs']:>12.1e} "
              f"{row['max_error_vs_prediction_fs']:>9.1e}")
    print(f"speed-up of the sweep: x{report['speedup_sweep_vs_loop']:.1f} over the per-sample "
          f"loop, x{report['speedup_process_vs_naive']:.1f} over naive PySpice")
    w = report["writer"]
    print(f"deck for N = {w['n']}: codesign writer {w['codesign_s']:.2f} s, PySpice elements "
          f"{w['pyspice_s']:.2f} s (x{w['ratio']:.1f})")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
