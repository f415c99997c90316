"""Characterisation of the sky130 parts (python -m benchmarks.parts [--out PATH] [--seeds N]).

Re-measures in ngspice, from the repository's own model libraries (netlists/, found by
codesign.parts.geometry.model_library_dir), the figures the part modules quote. Supplies +-0.9 V,
tt 27 C unless noted; Monte Carlo is the tt_mm section with ``.options seed=1..N``.

1. cd_wcell (lleg=135.6, wsw=4, wsg=8): G(code) for codes 0..63 (pos=1, dp swept -0.25..0.25 V,
   dn = -dp, s held at 0 V by a 0 V source; G = least-squares slope of its current), G_lsb =
   G(63)/63, max INL (endpoint fit, LSB), median nonlinearity (max |i - G v| / (G 0.25 V), codes
   >= 1); G(63) at 0 and 85 C; Monte Carlo sigma(G)/G at codes 1, 8, 32, 63 (dp = 0.25 V, .op).
   cd_wcell_eq at the same codes against code * G_lsb.
2. Every driver part on cd_pm_driver_sky130 (sky130_ab, sky130_ab_fast: DRIVERS), at its own
   parameters, 15.6 kOhm to ground on each output: quiescent supply current (in = 0), gain of
   outp and -outn (endpoint slope over in = +-0.25 V), offset at in = 0; Monte Carlo offset
   sigma; 0.1 % settling of each output after a 0.25 V step, with 1 pF and with a column's line
   capacitance (64 x CELL_CIN_F) beside the 15.6 kOhm (an 8 us run), the latter also at the
   five corners at 0 and 85 C; and the light loads a chip's columns are (DRIVER_LIGHT: open
   with 8 or 64 cells' capacitance, 250 kOhm with 64) after steps to 0, to +0.05 and to -0.25 V
   (DRIVER_LEVELS), the step to 0 into the open column also at the corners: the worst 0.1 %
   settling over all of them, and any ringing left in a run's last quarter.
3. cd_reset_tg, ctl = +0.9 V, ctlb = -0.9 V: on-resistance (1 mV across) at a = -0.25, 0, +0.25 V
   and its maximum over a = -0.25..0.25 V in 50 mV steps.
4. cd_bias_ref: current of one NMOS tap (nfet 2/4, gate on nbias, drain in a 0 V source to vdd),
   one PMOS tap (pfet_lvt 4/4 on pbias) and the reference's own supply current.
5. cd_comp_sa, 5 fF on each output: energy per decision at a 50 MHz clock, vid = 1 mV: 1.8 V x
   the charge drawn from vdd over 8 clock cycles (after 2 cycles of start-up) / 8; also the
   energy both supplies deliver, and the outputs mid-evaluation.
6. (``--ac``) cd_wcell's small-signal figures at every code at 100 kHz: the Elmore delay of its
   current into s, s's capacitance and conductance to AC ground, dp's capacitance (CELL_AC).
7. (``--driver-sweep``) the driver's idle, worst step settling over every load and level at tt,
   and its ringing, at other output idle currents and Miller resistors (DRIVER_SWEEP).
8. (``--driver-loop``) each driver inside small chips' loops: the transient stop's first try and
   the settling of a long transient (driver_loop).

Each deck is built here as text and run as ``ngspice -b deck.cir`` in a temporary folder;
results come back through ``wrdata``. Writes runs/bench/parts.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from codesign.parts import PartKind, get_part, registry
from codesign.parts.cell_sky130_r2r import CELL_CIN_F, G_LSB_S
from codesign.parts.geometry import model_library_dir

LIBRARIES = ("codesign_sky130.lib", "codesign_sky130_cells.lib", "codesign_sky130_periphery.lib")
CELL = "lleg=135.6 wsw=4 wsg=8"
MC_CODES = (1, 8, 32, 63)
R_LOAD = "15.6k"
STEP_AT_S = 1e-7
DRIVER_LOADS_F = {"1 pF": 1e-12, "a column of 64 cells": 64 * CELL_CIN_F}
"""The driver's step loads besides 15.6 kOhm (64 cells' ladders, about 64 uS): 1 pF, and the
capacitance 64 cells put on a driver line (CELL_CIN_F each, from CELL_AC's measurement)."""
DRIVER_STEP_STOP_S = 8e-6
VSWEEP = 0.25
DRIVER_LIGHT: dict[str, tuple[str, float]] = {
    "open, 8 cells": ("1g", 8 * CELL_CIN_F), "open, 64 cells": ("1g", 64 * CELL_CIN_F),
    "250 kOhm, 64 cells": ("250k", 64 * CELL_CIN_F)}
"""The loads a driver meets in a chip (resistance, capacitance): a column's conductance is the sum
of its cells' codes times G_lsb, mostly far below the 64 uS of every cell at full code (and
nearly nothing for a small or sparse core), beside its cells' line capacitance. A class-AB
output idling at a few uA into such a load rings where 15.6 kOhm damps it."""
DRIVER_LEVELS = ((VSWEEP, 0.0), (-VSWEEP, 0.05), (0.0, -VSWEEP))
"""(from, to) [V] of the light-load steps: to zero, where a class-AB output stage carries only
its quiescent current, to just above it, and to the negative rail's side."""


def header(section: str, include: str, temp: float = 27.0, seed: int | None = None,
           rails_v: float = 0.9) -> str:
    """A deck's first lines: the model section, one part library, supplies (+-``rails_v``),
    temperature."""
    lib = model_library_dir(LIBRARIES)
    lines = ["* codesign parts characterisation", f".lib {lib / 'codesign_sky130.lib'} {section}",
             f".include {lib / include}", f".temp {temp:g}"]
    if seed is not None:
        lines.append(f".options seed={seed}")
    return "\n".join(lines + [f"vdd vdd 0 {rails_v:g}", f"vss vss 0 {-rails_v:g}", ""])


def control(analysis: str, vectors: list[str]) -> str:
    """A .control block running ``analysis`` and writing ``vectors`` to out.dat (one scale)."""
    return (".control\nset wr_singlescale\n" + analysis + "\nwrdata out.dat " + " ".join(vectors)
            + "\n.endc\n.end\n")


def run_deck(text: str, executable: str = "ngspice", timeout_s: float = 600.0) -> np.ndarray:
    """Run ``text`` in a temporary folder; the rows of out.dat (column 0: the scale)."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "deck.cir").write_text(text)
        proc = subprocess.run([executable, "-b", "deck.cir"], cwd=tmp, text=True,
                              capture_output=True, timeout=timeout_s)
        out = Path(tmp) / "out.dat"
        if not out.is_file():
            raise RuntimeError(f"ngspice wrote no results (exit {proc.returncode}):\n"
                               + (proc.stdout + proc.stderr)[-2000:])
        data = np.atleast_2d(np.loadtxt(out))
    return data


def run_decks(decks: dict, jobs: int) -> dict:
    """run_deck on every value of ``decks``, ``jobs`` at a time: the results by the same keys."""
    with ThreadPoolExecutor(jobs) as pool:
        return dict(zip(decks, pool.map(run_deck, decks.values()), strict=True))


# ---- 1. weight cell ----------------------------------------------------------------------

def wcell_dc_deck(codes: list[int], temp: float) -> str:
    """cd_wcell, pos=1, one instance per code, dp swept, dn = -dp, each s in a 0 V source."""
    net = header("tt", "codesign_sky130_cells.lib", temp) + "vp dp 0 0\nen dn 0 dp 0 -1\n"
    for c in codes:
        net += f"x{c} dp dn s{c} 0 vdd vss cd_wcell code={c} pos=1 {CELL}\nvs{c} s{c} 0 0\n"
    return net + control(f"dc vp {-VSWEEP} {VSWEEP + 1e-4} 0.025", [f"i(vs{c})" for c in codes])


def wcell_op_deck(codes: tuple[int, ...], section: str, subckt: str, seed: int | None) -> str:
    """``subckt`` at dp = 0.25 V (dn = -0.25 V), .op: the current into each s."""
    extra = CELL if subckt == "cd_wcell" else ""
    net = header(section, "codesign_sky130_cells.lib", seed=seed)
    net += f"vp dp 0 {VSWEEP}\nvn dn 0 {-VSWEEP}\n"
    for c in codes:
        net += f"x{c} dp dn s{c} 0 vdd vss {subckt} code={c} pos=1 {extra}\nvs{c} s{c} 0 0\n"
    return net + control("op", [f"i(vs{c})" for c in codes])


def wcell_fit(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of a dc sweep: least-squares G and nonlinearity (% of G * 0.25 V)."""
    v, currents = data[:, 0], data[:, 1:]
    gs, nls = [], []
    for i in currents.T:
        g = np.polyfit(v, i, 1)[0]
        gs.append(g)
        nls.append(np.max(np.abs(i - g * v)) / (g * VSWEEP) * 100 if g > 1e-12 else np.nan)
    return np.array(gs), np.array(nls)


AC_HZ = 1e5
"""The frequency of the cell's small-signal measurement: omega tau < 0.02 at its slowest bit, so
the phase gives the Elmore delay within 0.02 %."""


def wcell_ac_deck(subckt: str, codes: Sequence[int], drive: str,
                  params: Callable[[int], str] = lambda code: CELL) -> str:
    """``subckt`` (pos=1) at every code, each on nodes of its own, all at 0 V DC (dn too), an
    AC source of 1 V at ``drive`` ("dp": the driver's line; "s": the summing node) and 0 V at
    the other; ``params(code)`` fills its parameters. Writes, per code, the real and imaginary
    parts of the dp source's and the s source's currents at AC_HZ."""
    net = header("tt", "codesign_sky130_cells.lib")
    vectors = []
    for c in codes:
        net += (f"vp{c} dp{c} 0 dc 0 {'ac 1' if drive == 'dp' else ''}\n"
                f"vs{c} s{c} 0 dc 0 {'ac 1' if drive == 's' else ''}\n"
                f"x{c} dp{c} 0 s{c} 0 vdd vss {subckt} code={c} pos=1 {params(c)}\n")
        vectors += [f"real(i(vp{c}))", f"imag(i(vp{c}))", f"real(i(vs{c}))", f"imag(i(vs{c}))"]
    return net + control(f"ac lin 1 {AC_HZ:g} {AC_HZ:g}", vectors)


def wcell_ac_figures(from_dp: np.ndarray, from_s: np.ndarray,
                     codes: Sequence[int]) -> dict[int, tuple[float, float, float, float]]:
    """Per code, from the two AC decks' rows: (Elmore delay of the current into the summing
    node [s], the summing node's capacitance [F] and conductance [S] to AC ground, the driver
    line's capacitance [F])."""
    w = 2 * np.pi * AC_HZ
    out = {}
    for k, c in enumerate(codes):
        ip = complex(*from_dp[0, 1 + 4 * k:3 + 4 * k])
        i21 = complex(*from_dp[0, 3 + 4 * k:5 + 4 * k])
        iss = complex(*from_s[0, 3 + 4 * k:5 + 4 * k])
        tau = -np.angle(i21) / w if c else 0.0
        out[c] = (float(tau), float(-iss.imag / w), float(-iss.real), float(-ip.imag / w))
    return out


def rc_cell(code: int) -> str:
    """cd_wcell_rc's parameters at ``code``, those the cell part writes for a weight of that
    code (its ``code`` apart)."""
    (cell,) = get_part(PartKind.CELL, "sky130_r2r_rc").elements(["c"], ["dp"], ["dn"], ["s"],
                                                                [code * G_LSB_S])
    return " ".join(f"{k}={v:.6g}" for k, v in cell.params if k != "code")


def wcell_step(subckt: str, codes: Sequence[int],
               params: Callable[[int], str] = lambda code: CELL) -> tuple[np.ndarray, np.ndarray]:
    """``subckt`` at each code after a 0.25 V step (0.1 ns ramp) of its driver line: the time
    [s] and the current into each code's summing node (held at 0 V)."""
    net = header("tt", "codesign_sky130_cells.lib") + "vp dp 0 dc 0 pwl(0 0 0.1n 0.25)\n"
    for c in codes:
        net += f"vs{c} s{c} 0 0\nx{c} dp 0 s{c} 0 vdd vss {subckt} code={c} pos=1 {params(c)}\n"
    data = run_deck(net + control("tran 0.02n 400n", [f"i(vs{c})" for c in codes]))
    return data[:, 0], data[:, 1:]


def settling_s(t: np.ndarray, i: np.ndarray, within: float) -> float:
    """The time [s] after which ``i`` stays within ``within`` of its final value."""
    outside = np.nonzero(np.abs(i - i[-1]) > within * abs(i[-1]))[0]
    return float(t[outside[-1] + 1]) if len(outside) else 0.0


def ac_table() -> str:
    """codesign/parts/cell_sky130_r2r.py's CELL_AC, measured on cd_wcell at every code, and the
    1 % settling of cd_wcell's and cd_wcell_rc's currents after a step at three codes."""
    codes = list(range(64))
    figures = wcell_ac_figures(*(run_deck(wcell_ac_deck("cd_wcell", codes, drive))
                                 for drive in ("dp", "s")), codes)
    rows = [f"    ({t * 1e9:.3f}, {cs * 1e15:.2f}, {gs * 1e9:.1f}),"
            for t, cs, gs, _ in figures.values()]
    cin = {round(f[3] * 1e15, 2) for f in figures.values()}
    steps = (1, 21, 63)
    t, device = wcell_step("cd_wcell", steps)
    _, rc = wcell_step("cd_wcell_rc", steps, rc_cell)
    settle = ", ".join(f"code {c}: {settling_s(t, device[:, k], 0.01) * 1e9:.0f} / "
                       f"{settling_s(t, rc[:, k], 0.01) * 1e9:.0f} ns"
                       for k, c in enumerate(steps))
    return "\n".join(["CELL_AC = (", *rows, ")", f"driver line fF per cell: {sorted(cin)}",
                      f"1 % settling after a step, cd_wcell / cd_wcell_rc: {settle}"])


# ---- 2. driver ---------------------------------------------------------------------------

def driver_deck(section: str, seed: int | None, params: str = "", rails_v: float = 0.9) -> str:
    net = header(section, "codesign_sky130_periphery.lib", seed=seed, rails_v=rails_v)
    net += (f"vin in 0 0\nxd in outp outn vdd vss cd_pm_driver_sky130 {params}\n"
            f"rlp outp 0 {R_LOAD}\nrln outn 0 {R_LOAD}\n")
    return net + control(f"dc vin {-VSWEEP} {VSWEEP} {VSWEEP}", ["v(outp)", "v(outn)", "i(vdd)"])


def driver_step_deck(load_f: float, t_stop_s: float, params: str = "", section: str = "tt",
                     temp: float = 27.0, r_load: str = R_LOAD,
                     levels: tuple[float, float] = (0.0, VSWEEP), rails_v: float = 0.9) -> str:
    """cd_pm_driver_sky130 (``params`` over its defaults) after a step of ``in`` from
    ``levels[0]`` to ``levels[1]`` [V] (0.1 ns ramp at 0.1 us), each output into ``r_load`` ||
    ``load_f``."""
    net = header(section, "codesign_sky130_periphery.lib", temp, rails_v=rails_v)
    v0, v1 = levels
    net += (f"vin in 0 pwl(0 {v0:g} {STEP_AT_S:g} {v0:g} {STEP_AT_S + 1e-10:g} {v1:g})\n"
            f"xd in outp outn vdd vss cd_pm_driver_sky130 {params}\n"
            f"rlp outp 0 {r_load}\nclp outp 0 {load_f:g}\n"
            f"rln outn 0 {r_load}\ncln outn 0 {load_f:g}\n")
    return net + control(f"tran 1n {t_stop_s:g} 0 2n", ["v(outp)", "v(outn)", "i(vdd)"])


_FAST = "ib=0.35u kt=3 cc=0.3p rf=200k lin=1 l1=1 lb=1"
DRIVER_SWEEP = (*(f"{_FAST} kq={kq} rz=20k" for kq in (4, 8, 16, 32)),
                *(f"{_FAST} kq=32 rz={rz}" for rz in ("40k", "80k", "120k")), "kq=8", "kq=32")
"""``--driver-sweep``: sky130_ab_fast's sizing at other output idle currents (kq ib) and Miller
series resistors, and sky130_ab's at the library's kq = 8 and at its own 32."""


def tt_step_decks(params: str, rails_v: float = 0.9) -> dict[str, str]:
    """A driver's steps at tt 27 C: into 15.6 kOhm beside each DRIVER_LOADS_F, and into each
    DRIVER_LIGHT load at each of DRIVER_LEVELS, by the case's name."""
    decks = {f"15.6 kOhm, {load}, 0 to +0.25 V": driver_step_deck(
        c, DRIVER_STEP_STOP_S, params, rails_v=rails_v) for load, c in DRIVER_LOADS_F.items()}
    decks.update({f"{load}, {v0:+.2f} to {v1:+.2f} V": driver_step_deck(
        c, DRIVER_STEP_STOP_S, params, r_load=r, levels=(v0, v1), rails_v=rails_v)
        for load, (r, c) in DRIVER_LIGHT.items() for v0, v1 in DRIVER_LEVELS})
    return decks


def driver_sweep(jobs: int) -> str:
    """At each DRIVER_SWEEP point: the driver's idle current, its worst 0.1 % settling over
    every tt step (tt_step_decks) and the ringing left at worst: what its output's idle current
    and compensation buy."""
    data = run_decks({(p, case): text for p in DRIVER_SWEEP
                      for case, text in tt_step_decks(p).items()}, jobs)
    rows = [f"driver at tt 27 C, every load and level (tt_step_decks), a "
            f"{DRIVER_STEP_STOP_S * 1e6:g} us run:"]
    for p in DRIVER_SWEEP:
        figures = {case: driver_step_figures(d) for (q, case), d in data.items() if q == p}
        worst, seconds = worst_step(figures)
        idle = next(iter(figures.values()))["iq_a"]
        ringing = max(f["ringing_v"] for f in figures.values())
        rows.append(f"  {p:<48} idle {idle * 1e6:5.1f} uA  worst {_settle(seconds):>11} "
                    f"({worst}), ringing {ringing * 1e3:.2f} mV p-p")
    return "\n".join(rows)


DRIVER_RAILS_V = (0.9, 0.8, 0.75, 0.7)
"""``--driver-rails``: sky130_ab_fast on symmetric rails of +-these volts (the chip's: 0.9)."""


def driver_rails(jobs: int) -> str:
    """sky130_ab_fast on lower rails (DRIVER_RAILS_V): its idle current and power, gains, and
    its worst 0.1 % settling over every tt step (tt_step_decks): what its supply costs."""
    params = DRIVERS["sky130_ab_fast"]
    decks = {(v, "dc"): driver_deck("tt", None, params, v) for v in DRIVER_RAILS_V}
    decks.update({(v, case): text for v in DRIVER_RAILS_V
                  for case, text in tt_step_decks(params, v).items()})
    data = run_decks(decks, jobs)
    rows = ["sky130_ab_fast at tt 27 C on +-V rails, every load and level (tt_step_decks):"]
    for v in DRIVER_RAILS_V:
        dc = driver_figures(data[(v, "dc")])
        figures = {case: driver_step_figures(d) for (u, case), d in data.items()
                   if u == v and case != "dc"}
        worst, seconds = worst_step(figures)
        rows.append(f"  +-{v:<5g} V  idle {dc['iq_a'] * 1e6:5.1f} uA = "
                    f"{dc['iq_a'] * 2 * v * 1e6:5.1f} uW  gains {dc['gain_outp']:.5f} "
                    f"{dc['gain_minus_outn']:.5f}  worst {_settle(seconds):>11} ({worst})")
    return "\n".join(rows)


def driver_step_figures(data: np.ndarray, within: float = 1e-3) -> dict:
    """Each output's settling time [s] after the step to ``within`` of 0.25 V about its value
    at the end of the run, and that end value; ``None`` where it is still outside in the run's
    last tenth (not settled: it rings, or the run is too short to say). ``ringing_v``: the
    larger output's peak-to-peak swing over the run's last quarter."""
    t = data[:, 0]
    out = {"iq_a": float(-data[(t > 0.5 * STEP_AT_S) & (t < STEP_AT_S), 3].mean())
           if data.shape[1] > 3 else None}
    for k, name in ((1, "outp"), (2, "outn")):
        v = data[:, k]
        outside = np.nonzero(np.abs(v - v[-1]) > within * VSWEEP)[0]
        last = float(t[outside[-1] + 1]) if len(outside) else STEP_AT_S
        settled = last < t[-1] - 0.1 * (t[-1] - STEP_AT_S)
        out[f"settle_{name}_s"] = last - STEP_AT_S if settled else None
        out[f"final_{name}_v"] = float(v[-1])
    tail = t > t[-1] - 0.25 * (t[-1] - STEP_AT_S)
    out["ringing_v"] = float(max(np.ptp(data[tail, 1]), np.ptp(data[tail, 2])))
    return out


DRIVERS: dict[str, str] = {
    name: " ".join(f"{k}={v:g}" for k, v in part.nominal)
    for (kind, name), part in registry().items()
    if kind == PartKind.DRIVER and part.subckt == "cd_pm_driver_sky130"}
"""Every driver part built on cd_pm_driver_sky130, with the parameters its decks give it."""
CORNERS = tuple((section, temp) for section in ("tt", "ss", "ff", "sf", "fs") for temp in (0, 85))


def driver_decks(name: str, params: str, seeds: int) -> dict[str, str]:
    """One driver part's decks: DC at tt and per Monte Carlo seed, its steps at tt 27 C
    (tt_step_decks), and at each corner its step into a column's load beside 15.6 kOhm and into
    an open column to 0 V."""
    column = DRIVER_LOADS_F["a column of 64 cells"]
    r_open, c_open = DRIVER_LIGHT["open, 64 cells"]
    decks = {f"driver_{name}_tt": driver_deck("tt", None, params)}
    decks.update({f"driver_{name}_mc_{s}": driver_deck("tt_mm", s, params)
                  for s in range(1, seeds + 1)})
    decks.update({f"driver_{name}_tt_{case}": text
                  for case, text in tt_step_decks(params).items()})
    for sec, temp in CORNERS:
        decks[f"driver_{name}_corner_{sec}_{temp}"] = driver_step_deck(
            column, DRIVER_STEP_STOP_S, params, sec, temp)
        decks[f"driver_{name}_corner_open_{sec}_{temp}"] = driver_step_deck(
            c_open, DRIVER_STEP_STOP_S, params, sec, temp, r_open, DRIVER_LEVELS[0])
    return decks


def _slower(figures: dict) -> float | None:
    """The slower output's settling [s], None where either did not settle."""
    times = (figures["settle_outp_s"], figures["settle_outn_s"])
    return None if None in times else max(times)


def worst_step(cases: dict[str, dict]) -> tuple[str, float | None]:
    """The case (of driver_step_figures by name) whose slower output settles last, and that
    time [s]; None where one did not settle."""
    times = {case: _slower(f) for case, f in cases.items()}
    worst = max(times, key=lambda case: np.inf if times[case] is None else times[case])
    return worst, times[worst]


def driver_summary(name: str, results: dict[str, np.ndarray], seeds: int) -> dict:
    """One driver part's figures from its decks' results (driver_decks)."""
    driver = driver_figures(results[f"driver_{name}_tt"])
    mcd = [driver_figures(results[f"driver_{name}_mc_{s}"]) for s in range(1, seeds + 1)]
    if seeds > 1:
        for key in ("offset_outp_v", "offset_outn_v"):
            x = np.array([m[key] for m in mcd])
            driver[f"mc_{key}_mean"] = float(x.mean())
            driver[f"mc_{key}_sigma"] = float(x.std(ddof=1))
        driver["mc_seeds"] = seeds
    prefix = f"driver_{name}_tt_"
    tt = {key.removeprefix(prefix): driver_step_figures(data)
          for key, data in results.items() if key.startswith(prefix)}
    driver["step"] = {load: {"load_f": c, **tt[f"15.6 kOhm, {load}, 0 to +0.25 V"]}
                      for load, c in DRIVER_LOADS_F.items()}
    corners = [driver_step_figures(results[f"driver_{name}_corner_{sec}_{temp}"])
               for sec, temp in CORNERS]
    for out in ("outp", "outn"):
        times = [c[f"settle_{out}_s"] for c in corners]
        driver[f"corners_settle_{out}_s"] = (None if None in times
                                             else [float(min(times)), float(max(times))])
    idle = [c["iq_a"] for c in corners]
    driver["corners_iq_a"] = [float(min(idle)), float(max(idle))]
    driver["tt_steps"] = tt
    driver["settle_tt_worst_case"], driver["settle_tt_worst_s"] = worst_step(tt)
    every = {**tt, **{f"open, 64 cells, {VSWEEP:+.2f} to +0.00 V, {sec} {temp} C":
                      driver_step_figures(results[f"driver_{name}_corner_open_{sec}_{temp}"])
                      for sec, temp in CORNERS}}
    driver["settle_worst_case"], driver["settle_worst_s"] = worst_step(every)
    driver["ringing_max_v"] = float(max(f["ringing_v"] for f in every.values()))
    return driver


LOOP_CIRCUIT = {"cell": "sky130_r2r_eq", "periphery.bias": "sky130_beta_mirrors",
                "periphery.reset": "sky130_tg", "neuron.opamp.model": "cd_ota_ab_sky130",
                "tau_s": 1.5e-8, "ota_bias_a": 2e-6, "ota_cc_f": 1e-14,
                "neuron.cmos.attenuator_ohm": 2.5e5}
"""``--driver-loop``: the CMOS level at the dynamic-cell chip's neuron (tau 15 ns, Cc 10 fF),
on the R-2R cells' linear equivalent, its bias reference and reset switches in the deck."""
LOOP_CORES = ((8, 0.5), (8, 0.9))
"""(n, rho) of the --driver-loop cores: a random W scaled to ||W||_2 = rho, 4 inputs."""
LOOP_STOP_S = 10e-6


def driver_loop(jobs: int) -> str:
    """Each driver inside a chip's loop: small random cores (LOOP_CORES, seeded) at the CMOS level
    (LOOP_CIRCUIT) with their +/- copies behavioural and by each sky130 driver part; per core
    and driver, the chip's first-try transient stop (codesign.circuit.dynamics) and the
    settling to 1e-4 FS of one LOOP_STOP_S transient from reset (not settled: it rings or
    creeps past the run)."""
    # deferred: the chip and simulator layers load only for this section
    from codesign.chip.chip import Chip
    from codesign.circuit.dynamics import SETTLE_TOL_FS, transient_stops_s
    from codesign.circuit.settings import build_circuit
    from codesign.deq.weights import CoreWeights
    from codesign.simulator import get_simulator

    sim = get_simulator("process", workers=jobs)
    rows = [f"random cores at tau 15 ns, Cc 10 fF, each +/- copy by the driver; one "
            f"{LOOP_STOP_S * 1e6:g} us transient, settling to {SETTLE_TOL_FS:g} FS:"]
    for n, rho in LOOP_CORES:
        rng = np.random.default_rng(0)
        w = rng.standard_normal((n, n))
        core = CoreWeights(W=w * rho / np.linalg.norm(w, 2), U=0.5 * rng.standard_normal((n, 4)),
                           b=0.1 * rng.standard_normal(n), activation="tanh")
        e = rng.uniform(-1.0, 1.0, (1, 4))
        for driver in ("behavioural", *DRIVERS):
            chip = Chip(core, build_circuit("cmos", {**LOOP_CIRCUIT, "driver": driver}), seed=1,
                        simulator=sim)
            first, _ = transient_stops_s(chip.circuit, chip.prediction(e), SETTLE_TOL_FS)
            with tempfile.TemporaryDirectory() as tmp:
                run = chip.simulate(e, "tran", Path(tmp), t_stop_s=LOOP_STOP_S)
            settle = run.transients[0].settling_time_s
            rows.append(f"  n {n} rho {rho}  {driver:<15} first try {first[0] * 1e6:6.3f} us  "
                        f"settled {_settle(settle if np.isfinite(settle) else None)}")
    return "\n".join(rows)


def driver_figures(data: np.ndarray) -> dict:
    """Rows in = -0.25, 0, +0.25; columns in, outp, outn, i(vdd)."""
    outp, outn, ivdd = data[:, 1], data[:, 2], data[:, 3]
    return {"iq_a": float(-ivdd[1]),
            "gain_outp": float((outp[2] - outp[0]) / (2 * VSWEEP)),
            "gain_minus_outn": float(-(outn[2] - outn[0]) / (2 * VSWEEP)),
            "offset_outp_v": float(outp[1]), "offset_outn_v": float(outn[1])}


# ---- 3. reset switch ---------------------------------------------------------------------

def tg_deck() -> str:
    net = header("tt", "codesign_sky130_periphery.lib")
    net += ("vc ctl 0 0.9\nvcb ctlb 0 -0.9\nva a 0 0\nvb b a 1m\n"
            "xs a b ctl ctlb vdd vss cd_reset_tg\n")
    return net + control(f"dc va {-VSWEEP} {VSWEEP + 1e-4} 0.05", ["v(a)", "i(vb)"])


# ---- 4. bias reference -------------------------------------------------------------------

def bias_deck() -> str:
    net = header("tt", "codesign_sky130_periphery.lib")
    net += ("xr nbias pbias vdd vss cd_bias_ref\n"
            "xtn dn nbias vss vss sky130_fd_pr__nfet_01v8 w=2 l=4\nvtn vdd dn 0\n"
            "xtp dp pbias vdd vdd sky130_fd_pr__pfet_01v8_lvt w=4 l=4\nvtp dp vss 0\n")
    return net + control("op", ["i(vdd)", "i(vtn)", "i(vtp)", "v(nbias)", "v(pbias)"])


# ---- 5. comparator -----------------------------------------------------------------------

COMP_F = 50e6
COMP_VID = 1e-3
COMP_CYCLES = 10
COMP_SKIP = 2


def comp_deck() -> str:
    per = 1 / COMP_F
    net = header("tt", "codesign_sky130_periphery.lib")
    net += (f"vck clk 0 pulse(-0.9 0.9 {per / 2:.6g} 20p 20p {per / 2 - 20e-12:.6g} {per:.6g})\n"
            f"vp inp 0 {COMP_VID:g}\nvn inn 0 0\nxc inp inn outp outn clk vdd vss cd_comp_sa\n"
            "cp outp 0 5f\ncn outn 0 5f\n")
    return net + control(f"tran 10p {COMP_CYCLES * per:.6g}",
                         ["i(vdd)", "i(vss)", "v(outp)", "v(outn)"])


def comp_figures(data: np.ndarray) -> dict:
    per = 1 / COMP_F
    t, ivdd, ivss, outp, outn = data.T
    keep = t >= COMP_SKIP * per
    decisions = COMP_CYCLES - COMP_SKIP
    q_vdd = -np.trapezoid(ivdd[keep], t[keep])
    # power the two sources deliver: -(v * i) each (ngspice's i(v) flows + to - inside)
    e_both = np.trapezoid(-(0.9 * ivdd[keep] - 0.9 * ivss[keep]), t[keep])
    mid = (COMP_SKIP + 0.9) * per
    return {"clock_hz": COMP_F, "vid_v": COMP_VID, "decisions": decisions,
            "energy_per_decision_j": float(1.8 * q_vdd / decisions),
            "energy_both_supplies_per_decision_j": float(e_both / decisions),
            "outp_mid_eval_v": float(np.interp(mid, t, outp)),
            "outn_mid_eval_v": float(np.interp(mid, t, outn))}


# ---- driver ------------------------------------------------------------------------------

def measure(seeds: int, jobs: int) -> dict:
    """Every deck (independent ngspice processes, ``jobs`` at a time) and the figures."""
    codes = list(range(64))
    decks = {"wcell_dc_27": wcell_dc_deck(codes, 27.0),
             "wcell_dc_0": wcell_dc_deck([63], 0.0),
             "wcell_dc_85": wcell_dc_deck([63], 85.0),
             "wcell_eq": wcell_op_deck(MC_CODES, "tt", "cd_wcell_eq", None),
             "tg": tg_deck(), "bias": bias_deck(), "comp": comp_deck()}
    for s in range(1, seeds + 1):
        decks[f"wcell_mc_{s}"] = wcell_op_deck(MC_CODES, "tt_mm", "cd_wcell", s)
    for name, params in DRIVERS.items():
        decks.update(driver_decks(name, params, seeds))
    results = run_decks(decks, jobs)

    # 1. weight cell
    g, nl = wcell_fit(results["wcell_dc_27"])
    lsb = g[63] / 63
    line = g[0] + (g[63] - g[0]) / 63 * np.arange(64)
    inl = (g - line) / ((g[63] - g[0]) / 63)
    g63_t = {t: float(wcell_fit(results[f"wcell_dc_{t}"])[0][0]) for t in (0, 85)}
    mc = np.array([results[f"wcell_mc_{s}"][0, 1:] / VSWEEP for s in range(1, seeds + 1)])
    eq = results["wcell_eq"][0, 1:] / VSWEEP
    wcell = {"g_s": g.tolist(), "g_lsb_s": float(lsb), "g1_s": float(g[1]),
             "g32_s": float(g[32]), "g63_s": float(g[63]),
             "inl_max_lsb": float(np.max(np.abs(inl))),
             "nonlinearity_median_pct": float(np.nanmedian(nl[1:])),
             "nonlinearity_max_pct": float(np.nanmax(nl[1:])),
             "g63_0c_s": g63_t[0], "g63_85c_s": g63_t[85],
             "mc_seeds": seeds,
             "mc_sigma_rel": {str(c): float(mc[:, k].std(ddof=1) / mc[:, k].mean())
                              for k, c in enumerate(MC_CODES)} if seeds > 1 else {},
             "eq_g_s": {str(c): float(eq[k]) for k, c in enumerate(MC_CODES)},
             "eq_vs_code_lsb_rel": {str(c): float(eq[k] / (c * lsb) - 1)
                                    for k, c in enumerate(MC_CODES)}}

    # 2. drivers
    drivers = {name: driver_summary(name, results, seeds) for name in DRIVERS}

    # 3. reset switch
    va, ivb = results["tg"][:, 1], results["tg"][:, 2]
    ron = 1e-3 / -ivb
    tg = {f"ron_ohm_at_{a:+.2f}v": float(np.interp(a, va, ron)) for a in (-0.25, 0.0, 0.25)}
    tg["ron_max_ohm"] = float(ron.max())
    tg["ron_max_at_v"] = float(va[np.argmax(ron)])

    # 4. bias reference
    ivdd, itn, itp, vnb, vpb = results["bias"][0, 1:]
    bias = {"nmos_tap_a": float(itn), "pmos_tap_a": float(itp),
            "own_supply_a": float(-ivdd - itn - itp), "nbias_v": float(vnb),
            "pbias_v": float(vpb)}

    return {"wcell": wcell, "drivers": drivers, "reset_tg": tg, "bias_ref": bias,
            "comp_sa": comp_figures(results["comp"])}


def _settle(seconds: float | None) -> str:
    return "not settled" if seconds is None else f"{seconds * 1e6:.2f} us"


def driver_rows(name: str, d: dict) -> list[tuple[str, str]]:
    """The table's rows of one driver part."""
    rows = [(f"{name} quiescent current", f"{d['iq_a'] * 1e6:.3f} uA"),
            (f"{name} gain outp / -outn", f"{d['gain_outp']:.6f} / {d['gain_minus_outn']:.6f}"),
            (f"{name} offset outp / outn",
             f"{d['offset_outp_v'] * 1e3:.3f} / {d['offset_outn_v'] * 1e3:.3f} mV")]
    if "mc_seeds" in d:
        rows.append((f"{name} MC offset, {d['mc_seeds']} seeds (mean, sigma)",
                     f"outp {d['mc_offset_outp_v_mean'] * 1e3:.2f}, "
                     f"{d['mc_offset_outp_v_sigma'] * 1e3:.2f} mV; "
                     f"outn {d['mc_offset_outn_v_mean'] * 1e3:.2f}, "
                     f"{d['mc_offset_outn_v_sigma'] * 1e3:.2f} mV"))
    for step in d["step"].values():
        rows.append((f"{name} 0.1 % settling, {step['load_f'] * 1e12:.2f} pF, outp / outn",
                     f"{_settle(step['settle_outp_s'])} / {_settle(step['settle_outn_s'])}"))
    corners = [d[f"corners_settle_{o}_s"] for o in ("outp", "outn")]
    rows.append((f"{name} over 5 corners x 0, 85 C: settling outp / outn, idle", " / ".join(
        "not settled" if c is None else f"{c[0] * 1e6:.2f}-{c[1] * 1e6:.2f} us" for c in corners)
        + f", {d['corners_iq_a'][0] * 1e6:.2f}-{d['corners_iq_a'][1] * 1e6:.2f} uA"))
    rows.append((f"{name} worst 0.1 % settling at tt, every load and level",
                 f"{_settle(d['settle_tt_worst_s'])} ({d['settle_tt_worst_case']})"))
    rows.append((f"{name} the same with the corners' open-column steps",
                 f"{_settle(d['settle_worst_s'])} ({d['settle_worst_case']}); ringing "
                 f"{d['ringing_max_v'] * 1e3:.2f} mV p-p at most"))
    return rows


def table(r: dict) -> str:
    w, t, b, c = r["wcell"], r["reset_tg"], r["bias_ref"], r["comp_sa"]
    rows = [
        ("cd_wcell G(1) / G(32) / G(63)",
         f"{w['g1_s'] * 1e9:.3f} / {w['g32_s'] * 1e9:.2f} / {w['g63_s'] * 1e9:.2f} nS"),
        ("cd_wcell G_lsb = G(63)/63", f"{w['g_lsb_s'] * 1e9:.4f} nS"),
        ("cd_wcell max INL (endpoint)", f"{w['inl_max_lsb']:.4f} LSB"),
        ("cd_wcell nonlinearity median (max)",
         f"{w['nonlinearity_median_pct']:.4f} % ({w['nonlinearity_max_pct']:.3f} %)"),
        ("cd_wcell G(63) at 0 / 27 / 85 C",
         f"{w['g63_0c_s'] * 1e9:.2f} / {w['g63_s'] * 1e9:.2f} / {w['g63_85c_s'] * 1e9:.2f} nS"),
        (f"cd_wcell MC sigma(G)/G, {w['mc_seeds']} seeds",
         ", ".join(f"code {k}: {v * 100:.3f} %" for k, v in w["mc_sigma_rel"].items())),
        ("cd_wcell_eq G / (code G_lsb) - 1",
         ", ".join(f"code {k}: {v * 100:+.4f} %" for k, v in w["eq_vs_code_lsb_rel"].items())),
    ]
    for name, d in r["drivers"].items():
        rows += driver_rows(name, d)
    rows += [
        ("reset TG Ron at a = -0.25 / 0 / +0.25 V",
         f"{t['ron_ohm_at_-0.25v'] / 1e3:.3f} / {t['ron_ohm_at_+0.00v'] / 1e3:.3f} / "
         f"{t['ron_ohm_at_+0.25v'] / 1e3:.3f} kOhm"),
        ("reset TG Ron max", f"{t['ron_max_ohm'] / 1e3:.3f} kOhm at {t['ron_max_at_v']:+.2f} V"),
        ("bias ref NMOS / PMOS tap",
         f"{b['nmos_tap_a'] * 1e6:.4f} / {b['pmos_tap_a'] * 1e6:.4f} uA"),
        ("bias ref own supply current", f"{b['own_supply_a'] * 1e6:.3f} uA"),
        ("comp energy / decision (1.8 V x Q_vdd)", f"{c['energy_per_decision_j'] * 1e15:.2f} fJ"),
        ("comp energy / decision (both supplies)",
         f"{c['energy_both_supplies_per_decision_j'] * 1e15:.2f} fJ"),
        ("comp outp / outn mid-evaluation",
         f"{c['outp_mid_eval_v']:+.3f} / {c['outn_mid_eval_v']:+.3f} V"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/bench/parts.json"))
    parser.add_argument("--seeds", type=int, default=8, help="Monte Carlo seeds (tt_mm)")
    parser.add_argument("--jobs", type=int, default=2, help="ngspice processes at a time")
    parser.add_argument("--driver-sweep", action="store_true",
                        help="print only the driver's idle and settling at other parameters")
    parser.add_argument("--driver-rails", action="store_true",
                        help="print only sky130_ab_fast's idle and settling on lower rails")
    parser.add_argument("--driver-loop", action="store_true",
                        help="print only each driver's settling inside small chips' loops")
    parser.add_argument("--ac", action="store_true",
                        help="print only cd_wcell's small-signal table (CELL_AC), about 20 s")
    args = parser.parse_args()
    if args.ac:
        print(ac_table())
        return
    if args.driver_sweep:
        print(driver_sweep(args.jobs))
        return
    if args.driver_loop:
        print(driver_loop(args.jobs))
        return
    if args.driver_rails:
        print(driver_rails(args.jobs))
        return
    start = time.perf_counter()
    result = measure(args.seeds, args.jobs)
    result["runtime_s"] = time.perf_counter() - start
    result["model_libraries"] = str(model_library_dir(LIBRARIES))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"runtime {result['runtime_s']:.1f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
