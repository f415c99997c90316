"""Fake ngspice programs for fault-injection tests: each answers ``-v`` like ngspice 46 and, in
batch mode, writes the raw files the deck's .control block asks for (per-sample operating points
and transients, or an operating-point sweep over the samples), damaged in one way, or hangs,
crashes, or runs the real ngspice unless the deck contains a given text."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

FAKE = r'''#!{python}
import os, re, struct, sys, time
BEHAVIOUR = {behaviour!r}
ARGUMENT = {argument!r}
REAL = {real!r}
if "-v" in sys.argv:
    if BEHAVIOUR == "hang-version":
        time.sleep(3600)
    print("******\n** ngspice-46 : Circuit level simulation program\n"
          "** Compiled with KLU Direct Linear Solver\n******")
    sys.exit(0)
deck_path = sys.argv[-1]
deck = open(deck_path).read()
if BEHAVIOUR == "fail-if":
    if ARGUMENT in deck:
        print("Error: injected failure")
        sys.exit(1)
    os.execv(REAL, [REAL, *sys.argv[1:]])
if BEHAVIOUR == "hang":
    time.sleep(3600)
if BEHAVIOUR == "crash":
    sys.exit(3)
names = []
for line in deck.splitlines():
    if line.startswith(".save ") or line.startswith("save "):
        names += [n.lower() for n in line.split()[1:]]
if BEHAVIOUR == "missing":
    names = names[1:]
vfs = float(re.search(r"^iref 0 dref dc (\S+)", deck, flags=re.M).group(1))  # into 1 Ohm
sources, writes = {{}}, []
for line in deck.splitlines():  # the sources as each write sees them
    alter = re.match(r"alter ie(\d+) dc = (\S+)", line)
    if alter:
        sources["v(d%s)" % alter.group(1)] = float(alter.group(2))
    if line.startswith("write "):
        writes.append((line.split()[1], dict(sources)))
lookups, source = {{}}, None  # an operating-point sweep: each DAC's value per sample
for line in deck.splitlines():
    start = re.match(r"bie(\d+) 0 d\d+ i = pwl", line)
    if start:
        source = "v(d%s)" % start.group(1)
        lookups[source] = []
    elif source and line.startswith("+ "):
        numbers = [float(x) for x in re.findall(r"[-+0-9.e]+", line[2:])]
        lookups[source] += numbers[1::2]
    else:
        source = None
sweep = re.search(r"^dc vsample 0 (\d+) 1", deck, flags=re.M)
if BEHAVIOUR == "partial":
    writes = writes[:1]
for name, inputs in writes:
    tran = name.endswith("-tran.raw")
    variables = (["time"] if tran else []) + names
    points = 5 if tran else int(sweep.group(1)) + 1 if sweep else 1
    if sweep and BEHAVIOUR == "partial":
        points = max(1, points // 2)
    plotname = "Transient Analysis" if tran else \
        "DC transfer characteristic" if sweep else "Operating Point"
    value = {{"nan": float("nan"), "zeros": 0.0}}.get(BEHAVIOUR)
    header = ["Title: fake", "Date: today", "Plotname: " + plotname,
              "Flags: real", "No. Variables: %d" % len(variables), "No. Points: %d" % points,
              "Variables:"]
    header += ["\t%d\t%s\tvoltage" % (k, v) for k, v in enumerate(variables)]
    data = b""
    if BEHAVIOUR != "short":
        rows = []
        for p in range(points):
            plausible = {{**inputs, "v(dref)": vfs,
                         **{{k: v[p] for k, v in lookups.items() if sweep}}}}
            rows += [p * 1e-9 if (tran and k == 0) else
                     value if value is not None else plausible.get(v, 0.25)
                     for k, v in enumerate(variables)]
        data = struct.pack("<%dd" % len(rows), *rows)
    with open(name, "wb") as handle:
        handle.write(("\n".join(header) + "\nBinary:\n").encode() + data)
sys.exit(0)
'''


def fake_ngspice(folder: Path, behaviour: str, argument: str = "") -> Path:
    """An executable fake ngspice in ``folder`` (behaviours: nan, zeros, short, missing,
    partial, crash, hang, hang-version, fail-if ARGUMENT)."""
    path = Path(folder) / f"ngspice-{behaviour}"
    real = shutil.which("ngspice") or "/usr/bin/ngspice"
    path.write_text(FAKE.format(python=sys.executable, behaviour=behaviour, argument=argument,
                                real=real))
    path.chmod(0o755)
    return path
