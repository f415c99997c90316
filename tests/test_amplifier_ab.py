"""The class-AB summing amplifier cd_ota_ab_sky130 (codesign/parts/amplifier_sky130_ota_ab.py,
netlists/codesign_cmos_ab.lib) in ngspice, beside the class-A cd_ota_sky130: it is registered and
chosen by ``neuron.opamp.model``; in the summing configuration (Rf || Cf, the row's conductance
to ground, the activation's attenuator) its output is -Rf Iin; it idles far below the class-A
OTA at the same bias and load; it settles from a full-swing step without ringing, on less supply
charge. The decks are benchmarks.amplifier_ab's (``python -m benchmarks.amplifier_ab`` prints
the measurements behind these)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from benchmarks.amplifier_ab import (
    AB,
    CLASS_A,
    RF_OHM,
    SWING_V,
    cmos_config,
    columns,
    neuron,
    printed,
    settle,
    simulate,
    step_lines,
    supply,
)
from codesign.netlist.library import library_dir
from codesign.parts import PartKind, Process, chip_parts, get_part, names

# --- the part ---


def test_the_class_ab_amplifier_is_a_registered_sky130_part():
    part = get_part(PartKind.AMPLIFIER, AB)
    assert AB in names(PartKind.AMPLIFIER) and part.process == Process.SKY130
    text = (library_dir() / part.libraries[-1]).read_text()
    body = re.search(rf"^\.subckt {AB}_core inp inn out nbn vdd vss params:.*?^\.ends {AB}_core$",
                     text, re.M | re.S).group(0)
    assert part.transistors == len(re.findall(r"^x\w+ .* sky130_fd_pr__[np]fet", body, re.M))
    assert part.behavioural() == (f"{AB}.ib",)  # the bias reference only
    assert part.behavioural(taps=True) == ()  # a tap on the chip's reference instead
    assert part.area_um2(taps=True) > part.area_um2()
    assert part.area_um2() > 0
    parts = chip_parts(cmos_config(AB, 0.5e-6, 0.5e-12))
    assert parts.amplifier is part and parts.libraries()[0] == "codesign_cmos_ab.lib"
    assert parts.sky130_transistors_per_neuron() == part.transistors + 4


# --- in ngspice ---


@pytest.mark.parametrize("ib_a", [0.5e-6, 1e-6])
def test_its_closed_loop_output_is_minus_rf_times_the_row_current(tmp_path, ib_a):
    body = neuron(AB, 0, ib_a, 0.1e-12) + ["iin0 0 s0 dc 0"]
    simulate(tmp_path, body, ["dc iin0 -4u 4u 2u", "wrdata dc.txt v(x0)"])
    i_in, v_out = columns(tmp_path / "dc.txt").T
    ideal = -RF_OHM * i_in
    # finite gain and offset: within 1.5 % of the ideal output and 5 mV
    np.testing.assert_allclose(v_out, ideal, rtol=0.015, atol=5e-3)


@pytest.mark.parametrize("ib_a", [0.5e-6, 1e-6])
def test_it_idles_far_below_the_class_a_ota_at_the_same_bias_and_load(tmp_path, ib_a):
    body = neuron(AB, 0, ib_a, 0.1e-12) + neuron(CLASS_A, 1, ib_a, 0.1e-12)
    text = simulate(tmp_path, body, ["op", "print i(vdd0) i(vdd1) v(x0) v(x1)"])
    quiescent_ab, quiescent_a = -printed(text, "i(vdd0)"), -printed(text, "i(vdd1)")
    # the class-A OTA: ib + 2 ib + k2 ib, k2 sized for this load (about 5.5 at 1 uA);
    # the class-AB one: ib + 2 ib + ib/4 and its output's ~ib, whatever the load
    assert 3.5 * ib_a < quiescent_ab < 5 * ib_a
    assert quiescent_ab < 0.5 * quiescent_a
    assert abs(printed(text, "v(x0)")) < 0.01 and abs(printed(text, "v(x1)")) < 0.01


def test_it_settles_from_a_full_swing_step_without_ringing_on_less_charge(tmp_path):
    ib_a, cc_f = 1e-6, 0.1e-12  # a physics chip's OTA
    body = neuron(AB, 0, ib_a, cc_f) + step_lines(0) + neuron(CLASS_A, 1, ib_a, cc_f) \
        + step_lines(1)
    simulate(tmp_path, body, ["tran 1n 2u", "wrdata tran.txt v(x0) i(vdd0) i(vss0) v(x1) "
                              "i(vdd1) i(vss1)"])
    t, v_ab, vdd_ab, vss_ab, v_a, vdd_a, vss_a = columns(tmp_path / "tran.txt").T
    ab, a = settle(t, v_ab), settle(t, v_a)
    assert ab["final_v"] == pytest.approx(SWING_V, abs=0.01)
    assert ab["overshoot"] < 0.002 and ab["extrema"] <= 1  # no ringing
    assert ab["t99_s"] < 1.2 * a["t99_s"]
    assert supply(t, vdd_ab, vss_ab)["energy_j"] < 0.7 * supply(t, vdd_a, vss_a)["energy_j"]
