"""The report of a `codesign verify` folder (a core's or a grid model's): the summary's numbers,
the circuit it verified, SPICE against PyTorch and the proxy, the transients' settling and
energy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from codesign.errors import InputError
from codesign.report import figures
from codesign.report.document import Block, Figure, Heading, Para, Table
from codesign.report.runs import intro, quantities, read_object, read_table, run_record


def _key_numbers(s: dict) -> list[Block]:
    """The summary's headline numbers, as the command printed them."""
    rows = []

    def add(name: str, value, unit: str = "") -> None:
        if value is not None:
            rows.append({"quantity": name, "value": value, "unit": unit})

    eq, model, proxy = (s.get(k) or {} for k in ("equilibrium_error_fs", "model_error_fs",
                                                   "proxy_error_fs"))
    add("samples", s.get("samples"))
    add("neurons n", s.get("n"))
    add("inputs m", s.get("m"))
    add("SPICE vs PyTorch, max", eq.get("max"), "FS")
    add("SPICE vs PyTorch, RMS", eq.get("rms"), "FS")
    add("SPICE vs the circuit-aware prediction, max", model.get("max"), "FS")
    add("SPICE vs the calibrated proxy, max", proxy.get("max"), "FS")
    add("SPICE vs the calibrated proxy, RMS", proxy.get("rms"), "FS")
    add("neuron outputs on a rail", s.get("rail_clipped_fraction"), "fraction")
    metric = s.get("task_metric") or {}
    if metric:
        add(f"{metric.get('name')}, digital (these {s.get('samples')} samples)",
            metric.get("digital"))
        add(f"{metric.get('name')}, circuit (these {s.get('samples')} samples)",
            metric.get("circuit"))
    add("digital model on the full test set", s.get("test_metric_full_digital"))
    settling = s.get("settling") or {}
    add("settling time, median", (settling.get("time_s") or {}).get("median"), "s")
    add("settling time, max", (settling.get("time_s") or {}).get("max"), "s")
    add("unsettled samples", settling.get("unsettled_samples"))
    energy = s.get("energy_per_inference_j") or {}
    add("energy per inference, mean", energy.get("mean"), "J")
    add("energy per equivalent MAC", s.get("energy_per_mac_j"), "J")
    for key in ("digital_l2", "circuit_l2", "ratio", "equilibrium_error_fs_max",
                "prediction_error_fs_max", "seconds_per_sample"):  # a grid model's summary
        add(key, s.get(key))
    frame = pd.DataFrame(rows, columns=["quantity", "value", "unit"])
    frame["value"] = frame["value"].astype(object)
    return [Heading("Results"), Table(frame)]


def build(run: Path, out: Path, partial: bool) -> tuple[list[Block], str]:
    record = run_record(run, "verify", partial)
    s = read_object(run / "summary.json")
    if s is None:
        raise InputError(f"{run} has no summary.json: the verification did not finish; run its "
                         f"command again (see {run}/README.md)")
    what = (f"SPICE equilibria of {s.get('source') or 'a core'} against the PyTorch fixed point: "
            f"{s.get('samples')} samples, n = {s.get('n')} neurons, {s.get('neuron', '')} "
            f"neuron, ngspice {s.get('ngspice_version', '?')}, {s.get('analysis', 'op')}.")
    blocks = intro(run, record, f"codesign verify: {Path(str(s.get('source', run))).name}", what)
    blocks += _key_numbers(s)
    equilibria = read_table(run, "equilibria.parquet")
    name = "equilibria.parquet"
    if equilibria is None:
        equilibria, name = read_table(run, "equilibria.csv"), "equilibria.csv"
    if equilibria is not None and {"z_spice", "z_torch"} <= set(equilibria.columns):
        path = figures.verify_parity(equilibria, out / "verify_parity.png")
        blocks += [Heading("SPICE against PyTorch and the proxy"),
                   Figure(path.name, "Each point one neuron of one sample (units of full "
                          "scale).", f"../{name}")]
    transients = read_table(run, "transients.csv")
    if transients is not None:
        numeric = transients.select_dtypes("number").drop(columns=["sample"], errors="ignore")
        stats = numeric.describe().T[["count", "mean", "50%", "max"]].reset_index().rename(
            columns={"index": "column", "50%": "median"})
        blocks += [Heading("Transients from reset"),
                   Para("One transient per sample from reset: settling time and energy per "
                        "inference (data: ../transients.csv)."), Table(stats)]
    blocks += [Heading("Everything in summary.json"),
               quantities(s, "the summary (circuit configuration below)", skip=("circuit",))]
    if isinstance(s.get("circuit"), dict):
        blocks += [Heading("Circuit configuration"), quantities(s["circuit"])]
    return blocks, f"codesign verify report: {run.name}"
