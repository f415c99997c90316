"""The sky130 FET models with shared bins against the PDK's own subcircuits, side by side.

The same deck of N transistors (the parts' four device types, each at the geometries of
SIZES, gates swept at one drain bias) is run once on the PDK's ``models_fet.spice`` and once on
``models_fet_shared.spice`` (codesign.netlist.pdk), each in its own ngspice process: wall time,
peak memory (the process's own rusage) and ngspice's netlist expansion time. With the mismatch
on the two draw different instances, so their currents are compared in tests/test_pdk.py
(mismatch off, and the mismatch's spread), not here. ``python -m benchmarks.pdk_models
[--n 2000]``, about 50 s; writes docs/results/pdk-models.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from codesign.netlist.library import library_dir

FETS = ("sky130_fd_pr__nfet_01v8", "sky130_fd_pr__pfet_01v8", "sky130_fd_pr__pfet_01v8_lvt",
        "sky130_fd_pr__nfet_01v8_lvt")
SIZES = ((1, 1), (4, 4), (2, 8), (4, 1), (20, 1))
"""W x L [um]: sizes the periphery's and the OTAs' devices take."""
OUT = Path("docs/results/pdk-models.json")


def model_header(models: str, corner: str = "tt", mismatch: bool = True, seed: int = 3,
                 vds: float = 0.9) -> list[str]:
    """A deck's first lines on the FET model file ``models`` (``models_fet`` or
    ``models_fet_shared``) at ``corner``, the PDK's mismatch on or off, as codesign_sky130.lib's
    sections set them up; the gate source ``g`` (and ``gp`` = -g) at 0 and the drains ``dn``
    and ``dp`` at +-``vds``."""
    lib = library_dir() / "sky130"
    return ["* bins shared or per instance",
            f".param mc_mm_switch={int(mismatch)} mc_pr_switch=0 corner_factor=1 "
            "process_mc_factor=1 mismatch_factor=1",
            *(f".include {lib / name}.spice" for name in (
                f"parameters_fet_{corner}", "parameters_res_nom", "parameters_cap_nom",
                "models_global", models)),
            f".options klu seed={seed}", "vg g 0 0", "eg gp 0 g 0 -1", f"vdn dn 0 {vds:g}",
            f"vdp dp 0 {-vds:g}"]


def deck(models: str, n: int) -> str:
    """n transistors on ``models``, mismatch on; writes each 20th one's current to out.dat."""
    lines = model_header(models)
    probes = []
    for k in range(n):
        fet = FETS[k % len(FETS)]
        w, length = SIZES[(k // len(FETS)) % len(SIZES)]
        d, g = ("dn", "g") if "nfet" in fet else ("dp", "gp")
        if k % 20 == 0:
            lines.append(f"vm{k} {d} d{k} 0")
            probes.append(f"i(vm{k})")
            d = f"d{k}"
        lines.append(f"xm{k} {d} {g} 0 0 {fet} w={w} l={length}")
    return "\n".join(lines) + (
        "\n.control\nset wr_singlescale\ndc vg 0.3 1.8 0.5\nwrdata out.dat "
        + " ".join(probes) + "\nrusage all\n.endc\n.end\n")


def run(models: str, n: int) -> dict:
    """One ngspice process on deck(models, n): its wall time, peak memory, expansion time."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "deck.cir").write_text(deck(models, n))
        start = time.perf_counter()
        proc = subprocess.Popen(["ngspice", "-b", "deck.cir"], cwd=tmp, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        if proc.returncode != 0 or not (Path(tmp) / "out.dat").is_file():
            raise RuntimeError(f"ngspice failed on {models}:\n{out[-2000:]}")
        currents = np.loadtxt(Path(tmp) / "out.dat")[:, 1:]
    expansion = re.search(r"Subckt and Param expansion time = (\S+)", out)
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024,
            "expansion_s": float(expansion.group(1)) if expansion else None,
            "currents": currents}


def measure(n: int) -> dict:
    pdk, shared = run("models_fet", n), run("models_fet_shared", n)
    scale = np.abs(pdk["currents"]).max()
    result = {"transistors": n, "pdk": {k: v for k, v in pdk.items() if k != "currents"},
              "shared": {k: v for k, v in shared.items() if k != "currents"},
              "time_ratio": pdk["wall_s"] / shared["wall_s"],
              "memory_ratio": pdk["peak_rss_mb"] / shared["peak_rss_mb"],
              "largest_current_a": float(scale),
              "note": "mismatch on: the two draw different instances (the same distribution, "
                      "tests/test_pdk.py), so the currents are compared with it off in the tests"}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="transistors")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    result = measure(args.n)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    p, s = result["pdk"], result["shared"]
    print(f"{args.n} sky130 transistors, mismatch on: the PDK's subcircuits "
          f"{p['wall_s']:.2f} s, {p['peak_rss_mb']:.0f} MB (expansion {p['expansion_s']:.2f} s); "
          f"bins shared {s['wall_s']:.2f} s, {s['peak_rss_mb']:.0f} MB (expansion "
          f"{s['expansion_s']:.2f} s): x{result['time_ratio']:.1f} time, "
          f"x{result['memory_ratio']:.1f} memory")


if __name__ == "__main__":
    main()
