"""The sky130 FET models with shared bins (codesign.netlist.pdk) are current and draw, in ngspice,
the same currents as the PDK's own subcircuits, at every corner and with its mismatch on."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from benchmarks.parts import run_deck
from benchmarks.pdk_models import model_header
from codesign.netlist.library import library_dir
from codesign.netlist.pdk import SHARED, SHARED_FETS, SOURCE, shared_fet_models

GEOMETRIES = ((0.42, 0.15), (1, 1), (4, 4), (2, 8), (8, 0.5), (1, 0.35), (20, 1), (0.5, 20))
"""W x L [um] across the bins the parts use and beyond (short, long, narrow, wide); the lvt and
hvt devices' shortest bin is L = 0.35 um, where they take it in place of 0.15."""


def test_the_shared_model_file_is_derived_from_the_pdks():
    source = (library_dir() / SOURCE).read_text()
    assert (library_dir() / SHARED).read_text() == shared_fet_models(source), (
        "run `python -m codesign.netlist.pdk`")


def test_a_model_parameter_that_depends_on_the_instance_is_refused():
    source = (library_dir() / SOURCE).read_text()
    changed = source.replace("+ ngcon = 1 vth0 = 0.5190093", "+ ngcon = 1 vth0 = {0.5/w}", 1)
    assert changed != source
    with pytest.raises(ValueError, match=r"depends on \['w'\]"):
        shared_fet_models(changed)
    mismatch = source.replace("+ ngcon = 1 vth0 = 0.5190093", "+ ngcon = 1 vth0 = {swx_vth}", 1)
    with pytest.raises(ValueError, match=r"depends on \['swx_vth'\]"):
        shared_fet_models(mismatch)  # a continuation line's parameter of the subcircuit
    with pytest.raises(ValueError, match="not in the model file"):
        shared_fet_models(source, ("sky130_fd_pr__nfet_99v9",))


def _deck(models: str, corner: str, vds: float) -> str:
    lines = model_header(models, corner, mismatch=False, seed=11, vds=vds)
    probes = []
    for fet in SHARED_FETS:
        n = "nfet" in fet
        for w, length in GEOMETRIES:
            length = 0.35 if fet.endswith("vt") and length < 0.35 else length
            k = len(probes)
            lines += [f"vm{k} {'dn' if n else 'dp'} d{k} 0",
                      f"xm{k} d{k} {'g' if n else 'gp'} 0 0 {fet} w={w} l={length}"]
            probes.append(f"i(vm{k})")
    return "\n".join(lines) + (
        "\n.control\nset wr_singlescale\ndc vg 0 1.8 0.15\nwrdata out.dat "
        + " ".join(probes) + "\n.endc\n.end\n")


@pytest.mark.parametrize("corner", ["tt", "ss", "ff", "sf"])
@pytest.mark.parametrize("vds", [0.05, 0.9])
def test_every_shared_fet_draws_the_pdk_subcircuits_currents(corner, vds):
    """Saturation and deep triode (where the source/drain resistance moved onto the instance
    matters most), 40 devices over a gate sweep."""
    pdk = run_deck(_deck("models_fet", corner, vds))[:, 1:]
    shared = run_deck(_deck("models_fet_shared", corner, vds))[:, 1:]
    assert pdk.shape == shared.shape == (13, len(SHARED_FETS) * len(GEOMETRIES))
    assert np.abs(pdk).max() > 1e-4  # the sweep turns the devices on
    np.testing.assert_allclose(shared, pdk, rtol=1e-9, atol=1e-15)  # 1e-3 of abstol


MISMATCH_N = 300


def _delvto(models: str, tmp_path) -> np.ndarray:
    """Each of MISMATCH_N 1 x 1 um nfet_01v8 instances' threshold shift, mismatch on."""
    lines = model_header(models, seed=11)
    lines += [f"xm{k} dn g 0 0 sky130_fd_pr__nfet_01v8 w=1 l=1" for k in range(MISMATCH_N)]
    lines += [".control", "op"]
    lines += [f"print @m.xm{k}.msky130_fd_pr__nfet_01v8[delvto]" for k in range(MISMATCH_N)]
    lines += [".endc", ".end"]
    (tmp_path / f"{models}.cir").write_text("\n".join(lines) + "\n")
    out = subprocess.run(["ngspice", "-b", f"{models}.cir"], cwd=tmp_path, text=True,
                         capture_output=True, timeout=300).stdout
    return np.array([float(v) for v in re.findall(r"\[delvto\] = (\S+)", out)])


def test_the_shared_fets_draw_the_pdks_threshold_mismatch(tmp_path):
    """With the PDK's mismatch on, each instance draws its own threshold shift, as in the PDK's
    subcircuits: the same distribution (ngspice's generator is consumed in another order, so
    not the same draws), its spread the PDK's sw_mm_vth0 / sqrt(W L) times its geometry
    factors (3.356 mV x 1.348 at 1 x 1 um)."""
    pdk, shared = _delvto("models_fet", tmp_path), _delvto("models_fet_shared", tmp_path)
    assert len(pdk) == len(shared) == MISMATCH_N
    sigma = 3.356e-3 * (0.008 * 8 + 0.992) * (0.035 * 7 + 0.965) * (0.001 * 56 + 0.999)
    assert len(set(np.round(shared, 12))) == MISMATCH_N  # one draw per instance
    for draws in (pdk, shared):
        assert draws.std() == pytest.approx(sigma, rel=0.15)
    assert abs(shared.mean() - pdk.mean()) < 4 * sigma / np.sqrt(MISMATCH_N / 2)
