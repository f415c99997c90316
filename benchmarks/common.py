"""Code the benchmarks share (run them from the repository root as ``python -m
benchmarks.NAME``): one ngspice process over a deck under ngspice's own accounting."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

FIELDS = {
    "load_s": "Netlist loading time",
    "expand_s": "Subckt and Param expansion time",
    "parse_s": "Netlist parsing time",
    "analysis_s": "Total analysis time \\(seconds\\)",
    "matrix_load_s": "Matrix load time",
    "reorder_s": "Matrix reorder time",
    "factor_s": "Matrix factor time",
    "solve_s": "Matrix solve time",
    "tran_load_s": "Transient load time",
    "tran_factor_s": "Transient factor time",
    "tran_solve_s": "Transient solve time",
    "equations": "Circuit Equations",
    "nonzeros": "Circuit total non-zeroes",
    "lines": "Number of lines in the deck",
    "timepoints": "Accepted timepoints",
}


def accounting(stdout: str) -> dict[str, float]:
    """ngspice's ``rusage all`` figures (FIELDS) from its output."""
    out = {}
    for key, label in FIELDS.items():
        found = re.search(rf"^{label}\s*=\s*([-+0-9.eE]+)", stdout, flags=re.M)
        out[key] = float(found.group(1)) if found else float("nan")
    return out


def run_point(executable: str, text: str, timeout_s: float) -> dict:
    """One ngspice process on ``text``: wall time, peak RSS, its accounting."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "deck.cir").write_text(text)
        start = time.perf_counter()
        proc = subprocess.Popen([executable, "-b", "deck.cir"], cwd=tmp, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            stdout, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return {"wall_s": float("nan"), "status": f"timed out after {timeout_s:g} s"}
        wall = time.perf_counter() - start
    # communicate reaped the child: its peak RSS is in RUSAGE_CHILDREN only as a maximum over
    # all children, so take ngspice's own figure too
    size = re.search(r"Maximum ngspice program size =\s*([0-9.]+) MB", stdout)
    ok = proc.returncode == 0 and "rror" not in stdout
    return {"wall_s": wall, "status": "ok" if ok else f"failed (exit {proc.returncode})",
            "peak_mb": float(size.group(1)) if size else float("nan"), **accounting(stdout)}




def chip_arguments(parser) -> None:
    """The options of a benchmark on a trained model's chip (the cmos level with --set)."""
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--params", type=Path, required=True,
                        help="the calibrated proxy of the model's loop run")
    parser.add_argument("--task", default="digits")
    parser.add_argument("--set", dest="sets", action="append", default=[])
    parser.add_argument("--circuit", type=Path, default=None,
                        help="a circuit config JSON (a design search's chosen/circuit.json) "
                             "instead of the cmos level's")
    parser.add_argument("--dac-bits", type=int, default=None, help="default 6 (or the circuit's)")
    parser.add_argument("--adc-bits", type=int, default=None, help="default 6 (or the circuit's)")
    parser.add_argument("--chip-seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds one ngspice run may take (default 600)")
    parser.add_argument("--force", action="store_true",
                        help="compile a chip larger than codesign.limits estimates this machine "
                             "takes on (the estimate charges about 20 kB per sky130 transistor)")


CARD_BITS = (6, 6)
"""The DAC and ADC bits of a chip measured from the cmos level unless given."""


def trained_chip(args):
    """(task, model, proxy params, chip) of the options of ``chip_arguments``: the chip
    instance ``[chip_seed, 7919]`` of the model's core on the cmos level with the changes."""
    # deferred: importing the package (torch) only where a chip is measured
    from codesign.chip.chip import Chip
    from codesign.circuit.settings import assignments, build_circuit, override, read_circuit
    from codesign.deq.checkpoint import load_checkpoint
    from codesign.proxy.params import load_params
    from codesign.simulator import get_simulator
    from codesign.tasks import get_task

    task = get_task(args.task)
    model = load_checkpoint(args.model, task=args.task).model
    params = load_params(args.params)[0]
    bits = {f"converters.{name}": value for name, value in
            (("dac_bits", args.dac_bits), ("adc_bits", args.adc_bits)) if value is not None}
    if args.circuit is None:
        config = build_circuit("cmos", {"converters.dac_bits": CARD_BITS[0],
                                        "converters.adc_bits": CARD_BITS[1],
                                        **bits, **assignments(args.sets)})
    else:
        config = override(read_circuit(args.circuit), {**bits, **assignments(args.sets)})
    chip = Chip(model.core.to_weights(), config, [args.chip_seed, 7919],
                get_simulator(timeout_s=args.timeout), force=args.force)
    return task, model, params, chip


def between(text: str, table: str, start: str, end: str) -> str:
    """``text`` with what lies between the markers ``start`` and ``end`` replaced by ``table``
    (the generated tables of README.md and docs/: benchmarks.card_tables, .grid_tables)."""
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    return f"{head}{start}\n{table}\n{end}{tail}"


def write_record(path: Path | None, record: dict) -> None:
    """A benchmark's record as indented JSON at ``path`` (its folder made), said on stdout;
    nothing where ``path`` is None."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {path}")
