"""`codesign report RUN` renders every kind of run folder (verify and calibrate from small real
runs with ngspice, a design folder with the files a search writes), and the report's plot and
HTML findings: the "bits per cell" panel not flattened by the 1-bit point, energy labels inside
the figure, one-round series that do not hide each other, tables in scroll containers, text
left and numbers right and unwrapped, missing values as "n/a" with why, and each metric
labelled with its sample set."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from codesign.cli import main
from codesign.deq import random_core
from codesign.deq.checkpoint import save_npz_core
from codesign.report import content, figures
from codesign.report.document import Table, to_html, to_markdown
from codesign.run_folder import CHECK_ENV, README, RunFolder, undescribed

SPEC = """
name = "tiny"
[circuit]
neuron = "ideal"
[probes]
sizes = [4]
rho = [0.5]
cores = 2
holdout_cores = 1
samples = 2
transients = 0
[fit]
adam_steps = 3
lbfgs_steps = 0
"""


def cli(*args, code: int = 0) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output


def test_a_verify_folder_is_rendered_with_its_numbers_and_parity_plot(tmp_path):
    core = save_npz_core(tmp_path / "core.npz", random_core(4, 2, 0.5, np.random.default_rng(5)))
    out = tmp_path / "v"
    cli("verify", core, "--samples", "3", "--neuron", "opamp", "--out", out)
    assert "wrote" in cli("report", out)
    summary = json.loads((out / "summary.json").read_text())
    md = (out / "report" / "report.md").read_text()
    assert md.startswith("# codesign verify: core.npz")
    assert f"| SPICE vs PyTorch, max | {summary['equilibrium_error_fs']['max']:.4g} | FS |" in md
    assert "Status: complete" in md and "## Circuit configuration" in md
    assert (out / "report" / "verify_parity.png").stat().st_size > 0
    assert "../equilibria.parquet" in (out / "report" / "report.html").read_text()


def test_a_calibrate_folder_explains_itself_and_is_rendered_with_its_sweep_and_plots(
        tmp_path, monkeypatch):
    monkeypatch.setenv(CHECK_ENV, "1")  # a file the registry does not describe fails the run
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC)
    work = tmp_path / "cal"
    cli("calibrate", "--spec", spec, "--out", tmp_path / "p.json", "--work", work,
        "--workers", "1")
    readme = (work / README).read_text()
    assert "**Status**: complete" in readme and "store/ are skipped" in readme
    assert "- `report/fit_report.md`: the fit's report" in readme
    cli("report", work)
    assert undescribed(work, "calibrate") == []  # the report's own files included
    md = (work / "report" / "report.md").read_text()
    fit = json.loads((work / "report" / "fit.json").read_text())
    assert md.startswith("# codesign calibrate: tiny")
    assert f"{fit['sweep']['total']} jobs" in md and "## Sweep points" in md
    assert "![Proxy against SPICE equilibria on the held-out cores.](parity.png)" in md
    assert "## Failed jobs\n\nNone." in md


def design_folder(out: Path) -> Path:
    """A finished design search's top-level files, as `codesign design` writes them: trial 1
    chosen, trial 2 cheaper but unsettled, trial 3 failed in SPICE."""
    parts = ["amplifiers_j", "crossbar_j", "activations_j", "dac_drivers_j",
             "dac_conversions_j", "adc_conversions_j"]
    with RunFolder(out, "design", argv=["codesign", "design", "--out", str(out)]).start() as run:
        breakdown = pd.DataFrame({"trial": [2, 1], "on_front": [True, True]})
        for k, part in enumerate(parts):
            breakdown[part] = [1e-12 * (k + 1), 2e-12 * (k + 1)]
        breakdown["total_j"] = breakdown[parts].sum(axis=1)
        front = breakdown.assign(
            samples=4, metric_spice=[0.75, 1.0], metric_digital=[1.0, 1.0],
            metric_proxy=[0.9, 0.95], energy_j=breakdown.total_j, fj_per_mac=[1.0, 2.0],
            settling_s=[7.8e-6, 2e-6], unsettled=[1, 0], refined=False,
            folder=["trials/0002", "trials/0001"])
        front.to_csv(out / "front.csv", index=False)
        breakdown.to_csv(out / "breakdown.csv", index=False)
        pd.DataFrame({"trial": [1, 2, 3], "on_screen_front": [True, True, False]}).to_csv(
            out / "trials.csv", index=False)
        (out / "chosen.json").write_text(json.dumps({
            "schema": "codesign.design_chosen", "number": 1, "design": {"v_fs": 0.25},
            "within_target": True, "target": "within 0.01 of the digital DEQ's accuracy",
            "samples": 8, "metric_spice": 1.0, "metric_digital": 1.0,
            "energy_j": float(breakdown.total_j[1]), "energy_per_mac_j": 2e-15,
            "settling_s": 2e-6, "circuit_path": "chosen/circuit.json",
            "model_path": "chosen/model.pt", "refined": False}))
        (out / "trials" / "0003").mkdir(parents=True)
        (out / "trials" / "0003" / "failed.json").write_text(json.dumps(
            {"trial": 3, "error": "ngspice timed out after 0.05 s", "timeout_s": 0.05}))
        run.complete([out / "front.csv", out / "chosen.json"])
    return out


def test_a_design_folder_is_rendered_with_the_choice_its_energy_and_the_bad_designs(tmp_path):
    out = design_folder(tmp_path / "d")
    cli("report", out)  # refused before: "run `codesign loop --out ...` first"
    md = (out / "report" / "report.md").read_text()
    chosen = md.split("## Chosen design")[1].split("## Measured designs")[0]
    assert "Trial 1, within the target" in chosen and "same 8 test samples" in chosen
    assert "42 pJ per inference" in chosen  # 2 pJ x (1 + ... + 6)
    assert "| amplifiers | 2e-12 | 0.04762 |" in chosen  # 2 / 42 of the total
    assert (out / "report" / "breakdown.png").stat().st_size > 0
    bad = md.split("## Failed and unsettled designs")[1]
    assert "| 3 | measurement | 0.05 | ngspice timed out after 0.05 s |" in bad
    assert "designs with transients that never settled" in bad
    assert "\n| 2 | True | 0.75 |" in bad  # trial 2, unsettled, listed
    assert "metric_spice (4 test samples)" in md and "](../front.png)" not in md
    record = json.loads((out / "chosen.json").read_text())
    (out / "chosen.json").write_text(json.dumps({  # a search whose designs all were unsettled
        "schema": record["schema"], "chosen": False, "measured": 2, "unsettled_designs": [1, 2],
        "reason": "no design chosen: none of the 2 designs measured in SPICE settled"}))
    cli("report", out)
    md = (out / "report" / "report.md").read_text()
    assert "No design chosen: no design chosen: none of the 2 designs measured in SPICE " \
           "settled (unsettled trials: 1, 2)." in md


def test_a_run_that_did_not_finish_is_refused_unless_partial(tmp_path):
    out = tmp_path / "d"
    with pytest.raises(RuntimeError), RunFolder(out, "design").start():
        (out / "trials.csv").write_text("trial,on_screen_front\n0,True\n")
        raise RuntimeError("killed")
    line = cli("report", out, code=2)
    assert "is failed" in line and "--partial" in line and "codesign loop" not in line
    cli("report", out, "--partial")
    assert "INCOMPLETE RUN: status failed (RuntimeError: killed)" in (
        out / "report" / "report.md").read_text()


# --- plots ---------------------------------------------------------------------------------

def test_the_one_bit_point_does_not_flatten_the_bits_panel():
    rows = []
    for model, shift in (("naive", 0.01), ("physics-aware", 0.0)):
        for axis, values in (("mismatch_sigma", [0.0, 0.1]), ("bits", [1, 2, 3, 4]),
                             ("dc_gain", [1e2, 1e5])):
            for v in values:
                metric = 550.0 if (axis, v) == ("bits", 1) else 0.25 + shift + 0.001 * v
                rows.append({"model": model, "axis": axis, "value": v, "metric_mean": metric,
                             "metric_sd": 0.002})
    fig = figures.robustness_figure(pd.DataFrame(rows), pd.DataFrame(), "cost")
    bits = fig.axes[1]
    assert bits.get_xlabel() == "bits per cell"
    assert bits.get_ylim()[1] < 1.0  # the 0.25-0.27 curves fill the panel, not 0-550
    notes = " ".join(t.get_text() for t in bits.texts)
    assert "naive at 1 bit: 550 (off the axis)" in notes


def test_energy_labels_stay_inside_the_figure():
    names = ["this circuit (SPICE)", "digital solve, CPU arithmetic floor (fp32, 45 nm)",
             "digital solve, H100", "digital solve, H200",
             "published analog chip: IBM HERMES PCM chip (Le Gallo 2023), 1-phase, one matvec",
             "published analog chip: Ambrogio et al. 2023 (35 M PCM devices), one matvec"]
    fig = figures.energy_figure(pd.DataFrame({"system": names,
                                              "energy_j": np.logspace(-10, -7, len(names))}))
    fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width = fig.get_figwidth() * fig.dpi
    for label in fig.axes[0].get_yticklabels():
        box = label.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= width, label.get_text()


def test_one_round_keeps_equal_series_visible():
    data = pd.DataFrame({"round": [0], "digital": [0.27], "proxy": [0.286], "circuit": [0.286],
                         "reference_digital": [0.275]})
    ax = figures.rounds_figure(data, "cost").axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    proxy, circuit = lines["proxy"], lines["circuit"]
    assert proxy.get_xdata()[0] != circuit.get_xdata()[0]  # side by side, not on top
    assert proxy.get_marker() != circuit.get_marker()
    assert {t.get_text() for t in ax.texts} >= {"0.286", "0.27"}


# --- HTML ----------------------------------------------------------------------------------

def test_tables_scroll_text_is_left_numbers_right_and_missing_values_say_why():
    frame = pd.DataFrame({"model": ["digital DEQ", "expert"], "metric": [0.2757, 0.2754],
                          "success_rate": [np.nan, 1.0]})
    page = to_html([Table(frame, notes=("success_rate n/a: not measured",))], "t")
    assert "<div class='table-wrap'><table>" in page
    assert ".table-wrap{overflow-x:auto" in page
    assert "<td class='text'>digital DEQ</td><td class='num'>0.2757</td>" \
           "<td class='num'>n/a</td>" in page
    assert "td.num{text-align:right;white-space:nowrap" in page
    assert "td.text{text-align:left}" in page and "nan" not in page
    assert "success_rate n/a: not measured" in to_markdown([Table(frame, notes=(
        "success_rate n/a: not measured",))])


def test_baselines_say_why_a_success_rate_is_missing_and_metrics_name_their_samples(tmp_path):
    (tmp_path / "baselines.csv").write_text(
        "model,parameters,train_s,test_metric,success_rate\n"
        "digital DEQ (naive),449,59.4,0.2757,\ndigital MLP,433,3.9,0.2781,\n"
        "expert (saturated LQR),2,0.0,0.2754,1.0\n")
    (tmp_path / "rounds.csv").write_text(
        "round,params,train_s,digital,digital_count,proxy,circuit,reference_digital,"
        "within_target,wall_s\n0,shipped,26.3,0.2712,32,0.286,0.2861,0.2757,True,45.0\n")
    page = to_html(content._baselines(tmp_path), "b")
    assert "nan" not in page and "<td class='num'>n/a</td>" in page
    assert "success_rate n/a: digital DEQ (naive), digital MLP" in page
    assert "test_metric (full test set)" in page
    summary = SimpleNamespace(metric=SimpleNamespace(name="cost"), verified_samples=32,
                              settings=SimpleNamespace(task="control"))
    md = to_markdown(content._rounds(summary, tmp_path, tmp_path / "report"))
    assert "| digital (verified set, 32 episodes) |" in md
    assert "reference_digital (verified set, 32 episodes)" in md
