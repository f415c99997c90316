"""The class-AB summing amplifier cd_ota_ab_sky130 (codesign/parts/amplifier_sky130_ota_ab.py,
netlists/codesign_cmos_ab.lib) beside the class-A cd_ota_sky130 in ngspice, in the summing
configuration of a representative neuron (Rf || Cf, the row's conductance to ground, the
activation's attenuator).

``python -m benchmarks.amplifier_ab`` prints, for both amplifiers at ib = 0.5, 1 uA and
cc = 0.05, 0.1 pF: quiescent current, the supply charge and energy of a 0.8 V step settled for
2 us, its overshoot and 1 % settling time, and the loop gain's phase and gain margins (Tian's
method: a voltage and a current injection at the inverting input). tests/test_amplifier_ab.py
checks the same decks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from codesign.circuit.settings import build_circuit
from codesign.netlist.library import SKY130_LIBRARY, library_dir
from codesign.netlist.spice import CMOS_OPTIONS, element_line
from codesign.parts import PartKind, get_part
from codesign.parts.amplifier_sky130_ota import cmos_output_ratio
from codesign.simulator import find_ngspice
from codesign.simulator.ngspice import error_lines

AB, CLASS_A = "cd_ota_ab_sky130", "cd_ota_sky130"
RF_OHM, CF_F = 0.19e6, 0.54e-12
"""The feedback of a representative neuron: tau = Rf Cf = 0.1 us."""
G_ROW_S = 100e-6
"""The row's cell conductance to (AC) ground at the inverting input."""
SWING_V = 0.8
RAIL_V = 0.9


def cmos_config(model: str, ib_a: float, cc_f: float):
    return build_circuit("cmos", {"neuron.opamp.model": model, "neuron.cmos.ota_bias_a": ib_a,
                                  "neuron.cmos.ota_cc_f": cc_f})


def neuron(model: str, k: int, ib_a: float, cc_f: float, rf_ohm: float = RF_OHM,
           cf_f: float = CF_F, g_row_s: float = G_ROW_S, minus: str = "") -> list[str]:
    """Neuron k's summing amplifier as the compiler writes it (its part's element: +in at
    ground, -in s{k}, out x{k}; supplies vdd{k}, vss{k} of its own), its feedback Rf || Cf, the
    row's conductance to ground and the activation's attenuator. ``minus``: the node the
    amplifier's -in pin takes instead of s{k} (a loop-gain probe between them)."""
    config = cmos_config(model, ib_a, cc_f)
    circuit = SimpleNamespace(config=config, g_feedback=np.full(k + 1, 1.0 / rf_ohm))
    part = get_part(PartKind.AMPLIFIER, model)
    amp = part.element(circuit, k, ("0", minus or f"s{k}", f"x{k}", f"vdd{k}", f"vss{k}"))
    return [element_line(amp), f"vdd{k} vdd{k} 0 {RAIL_V}", f"vss{k} vss{k} 0 {-RAIL_V}",
            f"rrow{k} s{k} 0 {1.0 / g_row_s:.6g}", f"rf{k} s{k} x{k} {rf_ohm:.6g}",
            f"cf{k} s{k} x{k} {cf_f:.6g}",
            f"ratt{k} x{k} 0 {config.neuron.cmos.attenuator_ohm:.6g}"]


def simulate(folder: Path, body: list[str], control: list[str]) -> str:
    """Run a deck of ``body`` (with both amplifiers' libraries, the tt models, the cmos decks'
    options and the parts' own) and its .control ``control`` in ``folder``; its stdout."""
    lib = library_dir()
    parts = [get_part(PartKind.AMPLIFIER, name) for name in (CLASS_A, AB)]
    ngspice = find_ngspice()
    head = ["* codesign summing amplifiers, class A and class AB",
            f'.lib "{lib / SKY130_LIBRARY}" tt',
            *(f'.include "{lib / name}"' for name in dict.fromkeys(
                n for p in parts for n in p.libraries)),
            ".options klu" if ngspice.klu else "* Sparse 1.3",
            f".options {CMOS_OPTIONS}",
            *(f".options {o}" for o in dict.fromkeys(o for p in parts for o in p.options))]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deck.cir").write_text("\n".join(
        [*head, *body, ".control", *control, ".endc", ".end", ""]))
    out = subprocess.run([ngspice.executable, "-b", "deck.cir"], cwd=folder,
                         capture_output=True, text=True, timeout=120)
    text = out.stdout + out.stderr
    assert out.returncode == 0 and not error_lines(text), text[-2000:]
    return text


def printed(text: str, name: str) -> float:
    return float(re.search(rf"^{re.escape(name)} = (\S+)", text, re.M).group(1))


def columns(path: Path) -> np.ndarray:
    """A wrdata file's x and its vectors: (points, 1 + vectors)."""
    data = np.loadtxt(path, ndmin=2)
    return np.column_stack([data[:, 0], data[:, 1::2]])


def step_lines(k: int, rf_ohm: float = RF_OHM) -> list[str]:
    """A current step into s{k} at 10 ns that moves x{k} by +SWING_V in the steady state."""
    return [f"iin{k} 0 s{k} pwl(0 0 10n 0 11n {-SWING_V / rf_ohm:.6g})"]


def settle(t: np.ndarray, v: np.ndarray) -> dict[str, float]:
    """Overshoot beyond the final value [fraction of it], the local extrema after the step's
    half-way point, and the time from the step to staying within 1 % of the final value."""
    final = v[-1]
    half = np.nonzero(v > 0.5 * final)[0][0]
    slope = np.diff(v[half:])
    turns = int(np.sum(np.diff(np.sign(slope[np.abs(slope) > 1e-6])) != 0))
    outside = np.nonzero(np.abs(v - final) > 0.01 * abs(final))[0]
    return {"final_v": float(final), "overshoot": float((v.max() - final) / final),
            "extrema": turns, "t99_s": float(t[outside[-1]] - 10e-9)}


def supply(t: np.ndarray, i_vdd: np.ndarray, i_vss: np.ndarray) -> dict[str, float]:
    """Charge drawn from vdd and returned into vss [C], and the energy both delivered [J]."""
    q_vdd, q_vss = float(np.trapezoid(-i_vdd, t)), float(np.trapezoid(i_vss, t))
    return {"q_vdd_c": q_vdd, "q_vss_c": q_vss, "energy_j": RAIL_V * (q_vdd + q_vss)}


def loop_gain(folder: Path, model: str, ib_a: float, cc_f: float) -> dict[str, float]:
    """The summing loop's gain T(f), broken at the inverting input (Tian's method): its value
    at 1 kHz, the frequency where |T| last falls through 1, the phase margin there, and the gain
    margin where its phase reaches -180 degrees."""
    body = neuron(model, 0, ib_a, cc_f, minus="g0") + ["vi g0 s0 dc 0 ac 1", "ii 0 g0 dc 0 ac 0"]
    simulate(folder, body, [
        "ac dec 40 1k 3g", "let vx1 = v(g0)", "let ix1 = i(vi)",
        "alter vi acmag=0", "alter ii acmag=1", "ac dec 40 1k 3g",
        "let tt = -1/(1-1/(2*(ac1.ix1*v(g0)-ac1.vx1*i(vi))+ac1.vx1+i(vi)))",
        "wrdata loop.txt real(tt) imag(tt)"])
    f, re_t, im_t = columns(folder / "loop.txt").T
    t = re_t + 1j * im_t
    phase = np.degrees(np.unwrap(np.angle(t)))
    above = np.nonzero(np.abs(t) >= 1)[0]
    cross = min(above[-1] + 1, len(f) - 1)
    turn = np.nonzero(phase <= -180)[0]
    return {"t_dc": float(abs(t[0])), "f_c_hz": float(f[cross]),
            "phase_margin_deg": float(180 + phase[cross]),
            "gain_margin_db": float(-20 * np.log10(abs(t[turn[0]]))) if len(turn) else np.inf}


def measure(folder: Path, ib_a: float, cc_f: float) -> dict[str, dict[str, float]]:
    """Both amplifiers at (ib_a, cc_f): quiescent current, and a 0.8 V step settled for 2 us."""
    body = neuron(AB, 0, ib_a, cc_f) + step_lines(0) + neuron(CLASS_A, 1, ib_a, cc_f) \
        + step_lines(1)
    text = simulate(folder / "step", body, [
        "op", "print i(vdd0) i(vdd1)", "tran 1n 2u",
        "wrdata tran.txt v(x0) i(vdd0) i(vss0) v(x1) i(vdd1) i(vss1)"])
    t, *vectors = columns(folder / "step" / "tran.txt").T
    out = {}
    for k, model in enumerate((AB, CLASS_A)):
        v, i_vdd, i_vss = vectors[3 * k: 3 * k + 3]
        out[model] = {"quiescent_a": -printed(text, f"i(vdd{k})"), **settle(t, v),
                      **supply(t, i_vdd, i_vss),
                      **loop_gain(folder / f"loop-{k}", model, ib_a, cc_f)}
    return out


def main() -> None:
    import tempfile

    k2 = {ib: cmos_output_ratio(SimpleNamespace(
        config=cmos_config(CLASS_A, ib, 0.1e-12), g_feedback=[1 / RF_OHM]), 0)
        for ib in (0.5e-6, 1e-6)}
    print(f"Rf {RF_OHM / 1e6:g} MOhm || Cf {CF_F * 1e12:g} pF, row {G_ROW_S * 1e6:g} uS to ground, "
          f"attenuator 4.7 MOhm; tt; step: +{SWING_V} V at the output, 2 us")
    print("amplifier         ib uA  cc pF  Iq uA  Qvdd pC  Qvss pC  E pJ   overshoot  t99 us  "
          "T(1k)  fc MHz  PM deg  GM dB")
    with tempfile.TemporaryDirectory() as tmp:
        for ib in (0.5e-6, 1e-6):
            for cc in (0.05e-12, 0.1e-12):
                for model, m in measure(Path(tmp) / f"{ib}-{cc}", ib, cc).items():
                    label = model + (f" k2={k2[ib]:.2f}" if model == CLASS_A else "")
                    print(f"{label:24s} {ib * 1e6:4.1f} {cc * 1e12:5.2f} "
                          f"{m['quiescent_a'] * 1e6:6.2f} {m['q_vdd_c'] * 1e12:8.2f} "
                          f"{m['q_vss_c'] * 1e12:8.2f} {m['energy_j'] * 1e12:6.2f} "
                          f"{100 * m['overshoot']:8.2f} %  {m['t99_s'] * 1e6:6.3f} "
                          f"{m['t_dc']:6.0f} {m['f_c_hz'] / 1e6:7.2f} "
                          f"{m['phase_margin_deg']:6.0f} {m['gain_margin_db']:6.1f}")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
