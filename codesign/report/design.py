"""The report of a `codesign design` folder: the search's settings, the chosen design with its
energy breakdown, the front of SPICE-measured designs (front.png), the chosen design beside the
digital systems, and the designs SPICE could not measure or whose transients never settled."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from codesign.errors import InputError
from codesign.report import figures
from codesign.report.document import Block, Figure, Heading, Para, Table
from codesign.report.runs import columns, intro, read_object, read_table, run_record
from codesign.schema import read_json

PARTS = {"amplifiers_j": "amplifiers", "crossbar_j": "crossbar", "activations_j": "activations",
         "dac_drivers_j": "DAC drivers", "dac_conversions_j": "DAC conversions",
         "adc_conversions_j": "ADC conversions"}
"""The energy breakdown's columns (breakdown.csv, front.csv) and their names."""
FRONT = ["trial", "on_front", "measured", "metric_spice", "metric_digital", "metric_proxy",
         "energy_j", "fj_per_mac", "settling_s", "unsettled", "transients", "refined",
         "current_ratio", "v_fs", "tau_s", "levels", "dac_bits", "adc_bits", "folder"]


def _settings(record: dict | None) -> list[Block]:
    if not record:
        return []
    s, space = record.get("settings", {}), record.get("space", {})
    rows = [{"setting": k, "value": str(v)} for k, v in s.items()]
    rows += [{"setting": f"space {k}", "value": str(v)} for k, v in space.items()]
    return [Heading("Search settings"), Table(pd.DataFrame(rows), "design.json")]


def _unsettled(front: pd.DataFrame | None, number: int) -> int:
    if front is None or "unsettled" not in front.columns:
        return 0
    row = front[front.trial == number]
    return int(row.unsettled.iloc[0]) if len(row) else 0


def _chosen(run: Path, out: Path, chosen: dict, front: pd.DataFrame | None,
            breakdown: pd.DataFrame | None) -> list[Block]:
    number = int(chosen["number"])
    unsettled = _unsettled(front, number)
    flag = (f" WARNING: {unsettled} of its transients never settled, so its settling time is "
            "the simulated window and its energy an upper bound." if unsettled else "")
    passed = chosen.get("unsettled_designs") or []
    if passed:
        flag += (" Passed over as unsettled (not measured): trials "
                 f"{', '.join(map(str, passed))}.")
    refined = " (refined: measured with its own calibration)" if chosen.get("refined") else ""
    within = ("within the target" if chosen.get("within_target") else
              "NOT within the target on these samples")
    blocks: list[Block] = [Heading("Chosen design"), Para(
        f"Trial {number}{refined}, {within} ({chosen.get('target', '')}). Metric "
        f"{chosen.get('metric_spice', float('nan')):.4g} in "
        f"SPICE against the digital DEQ's {chosen.get('metric_digital', float('nan')):.4g} on "
        f"the same {chosen.get('samples')} test samples; "
        f"{1e12 * chosen.get('energy_j', float('nan')):.4g} pJ per inference "
        f"({1e15 * chosen.get('energy_per_mac_j', float('nan')):.3g} fJ per equivalent MAC), "
        f"settling {1e6 * chosen.get('settling_s', float('nan')):.3g} us. Its circuit: "
        f"{chosen.get('circuit_path', '')}; its model: {chosen.get('model_path', '')}." + flag)]
    design = chosen.get("design") or {}
    if design:
        blocks.append(Table(pd.DataFrame({"parameter": list(design),
                                          "value": pd.Series(list(design.values()),
                                                             dtype=object)}),
                            "the chosen design's parameters"))
    source = front if breakdown is None else breakdown
    if source is not None and "trial" in source.columns:
        row = source[source.trial == number]
        parts = [(name, float(row[col].iloc[0])) for col, name in PARTS.items()
                 if col in row.columns and len(row)]
        if parts:
            frame = pd.DataFrame(parts, columns=["part", "energy_j"])
            total = frame.energy_j.sum()
            frame["share"] = frame.energy_j / total if total > 0 else float("nan")
            path = figures.breakdown(frame, f"trial {number}: {1e12 * total:.4g} pJ per "
                                     "inference", out / "breakdown.png")
            blocks += [Heading("Energy breakdown of the chosen design", 3),
                       Table(frame, "energy per inference by part [J], measured in SPICE on "
                             "its transients (conversions: figure of merit)"),
                       Figure(path.name, f"Trial {number}'s energy per inference by part.",
                              "../breakdown.csv")]
    return blocks


def _failed(run: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(run.glob("trials/*/failed.json")) + sorted(
            run.glob("trials/*/refined/failed.json")):
        data = read_json(path)
        rows.append({"trial": data.get("trial", path.parts[-2]),
                     "stage": "refinement" if path.parent.name == "refined" else "measurement",
                     "timeout_s": data.get("timeout_s"), "error": str(data.get("error", "")),
                     "file": str(path.relative_to(run))})
    return pd.DataFrame(rows, columns=["trial", "stage", "timeout_s", "error", "file"])


def build(run: Path, out: Path, partial: bool) -> tuple[list[Block], str]:
    record = run_record(run, "design", partial)
    settings = read_object(run / "design.json")
    task = (settings or {}).get("settings", {}).get("task", "")
    blocks = intro(run, record, f"codesign design: {task or run.name}", (
        "The energy-accuracy-latency search over the sky130 CMOS design space: designs "
        "screened through their proxies, the best measured in SPICE (metric on operating "
        "points, energy and settling on transients from reset), the least energy within the "
        "task's target chosen and measured again on the final samples."))
    chosen = read_object(run / "chosen.json")
    front = read_table(run, "front.csv")
    trials = read_table(run, "trials.csv")
    if chosen is None and front is None and trials is None:
        raise InputError(f"{run} holds a design search that has not screened any design yet; "
                         f"run its command again to go on (see {run}/README.md)")
    if chosen is not None and chosen.get("chosen", True) is False:
        passed = ", ".join(map(str, chosen.get("unsettled_designs") or [])) or "-"
        blocks += [Heading("Chosen design"), Para(
            f"No design chosen: {chosen.get('reason') or 'none of the measured designs settled'}"
            f" (unsettled trials: {passed}).")]
    elif chosen is not None:
        blocks += _chosen(run, out, chosen, front, read_table(run, "breakdown.csv"))
    if front is not None:
        samples = int(front.samples.iloc[0]) if "samples" in front.columns else None
        label = f"{samples} test samples" if samples else "the measured samples"
        table = columns(front, FRONT).rename(columns={
            "metric_spice": f"metric_spice ({label})",
            "metric_digital": f"metric_digital ({label}, the design's float core)",
            "metric_proxy": "metric_proxy (screen set)"})
        blocks += [Heading("Measured designs and the front"), Para(
            f"{len(front)} designs measured in SPICE, {int(front.on_front.sum())} on the front "
            "of energy, metric and settling (on_front). unsettled: transients that never "
            "settled (their settling time is the window, their energy a bound; never chosen)."),
            Table(table)]
        if (run / "front.png").is_file():
            blocks.append(Figure("../front.png", "Energy per inference against the metric: "
                                 "screened, measured and chosen designs.", "../front.csv"))
    energy = read_table(run, "energy.csv")
    if energy is not None:
        blocks += [Heading("The chosen design beside digital systems"),
                   Table(columns(energy, ["system", "energy_j", "pj_per_mac", "source"]))]
    failed = _failed(run)
    blocks.append(Heading("Failed and unsettled designs"))
    blocks.append(Table(failed, "designs SPICE could not measure (a run with a longer "
                        "--timeout tries them again)") if len(failed) else
                  Para("No design failed in SPICE."))
    if front is not None and "unsettled" in front.columns and (front.unsettled > 0).any():
        blocks.append(Table(columns(front[front.unsettled > 0], FRONT),
                            "designs with transients that never settled (not measured; never "
                            "chosen)"))
    else:
        blocks.append(Para("Every measured design's transients settled."))
    if trials is not None:
        blocks += [Heading("Screened designs"), Para(
            f"{len(trials)} designs screened through their proxies"
            + (f", {int(trials.on_screen_front.sum())} on the screened front"
               if "on_screen_front" in trials.columns else "") + " (data: ../trials.csv).")]
    blocks += _settings(settings)
    return blocks, f"codesign design report: {run.name}"
