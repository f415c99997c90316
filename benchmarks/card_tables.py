"""The chip-card tables of README.md and docs/parts.md, generated from the stored card outputs
(docs/results/card-*.json, written by ``python -m benchmarks.chip_card``;
docs/results/heldout-*.json by ``python -m benchmarks.proxy_heldout``), and the buildable
chip's design searches in docs/design.md (docs/results/design/RUN/, copied from
``codesign design --out RUN``):

    python -m benchmarks.card_tables            # rewrite the tables between their markers
    python -m benchmarks.card_tables --check    # exit 1 if a table and its data disagree

tests/test_card_tables.py runs the check.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.common import CARD_BITS, between
from codesign.circuit.settings import build_circuit
from codesign.deq.model import DEFAULT_GAMMA
from codesign.references import ANALOG_CHIPS_MAC, IMAGINE_SYSTEM_MAC

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
START, END = "<!-- card-table:start -->", "<!-- card-table:end -->"
TARGETS = ((ROOT / "README.md", False), (ROOT / "docs" / "parts.md", True))
"""Where the tables go, and whether with each card's energy lines."""
SWEEP = RESULTS / "sweep"
"""Cards of the same models at other design points (``--set tau_s=... --set ota_bias_a=...``)."""
SWEEP_START, SWEEP_END = "<!-- card-table:sweep:start -->", "<!-- card-table:sweep:end -->"
SWEEP_TARGET = ROOT / "docs" / "parts.md"
PROBES = RESULTS / "probe-cell"
"""Short cards (16 test inputs, 4 transients, the readout as trained) of one chip with the cell's
DC equivalent and with its dynamics (cell=sky130_r2r_rc) at several design points."""
PROBE_START, PROBE_END = "<!-- card-table:probe:start -->", "<!-- card-table:probe:end -->"
SEARCHES = RESULTS / "design"
"""Design searches on the buildable chip: each folder holds a run's run.json, chosen.json,
front.csv and trials.csv (copied from ``codesign design --out RUN``)."""
SEARCH_START, SEARCH_END = "<!-- card-table:search:start -->", "<!-- card-table:search:end -->"
SEARCH_TARGET = ROOT / "docs" / "design.md"
_CMOS = build_circuit("cmos")
CMOS_V_FS, CMOS_PAIR_TAIL_A, CMOS_ATTENUATOR_OHM = (
    _CMOS.mapping.v_fs, _CMOS.neuron.cmos.pair_tail_a, _CMOS.neuron.cmos.attenuator_ohm)
"""The cmos level's full scale [V], activation pair tail current [A] and attenuator [Ohm]: a
card names them where its chip's differ."""
CMOS_RAILS_V = (_CMOS.supplies.vdd_v, _CMOS.supplies.vss_v, _CMOS.supplies.input_vdd_v,
                _CMOS.supplies.input_vss_v)
"""The cmos level's core and input rails [V]: a card names its own where they differ."""
ANALOG = ("summing amplifiers", "activations and output drivers",
          "input DAC drivers and bias buffer")


def _cards(folder: Path = RESULTS, pattern: str = "card-*.json") -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob(pattern))]


def _name(card: dict) -> str:
    parts = card["parts"].replace("; ", ", ")
    model = card.get("model") or {}
    digital = [w for w, on in (("no digital encoder", model.get("encoder") == "none"),
                               ("a per-neuron decoder", model.get("decoder") == "per-neuron"),
                               (f"gamma {_gamma(model):g}", _gamma(model) != DEFAULT_GAMMA))
               if on]
    searched = ("the buildable design search's chosen design: "
                if card.get("command", "").startswith("codesign design") else "")
    return (f"{card['task']} ({searched}{parts}{''.join(', ' + d for d in digital)}; "
            f"{_point(card)})")


def _gamma(model: dict) -> float:
    """The model's contraction bound (cards written before it was recorded: the default)."""
    return float(model.get("gamma", DEFAULT_GAMMA))


def _point(card: dict) -> str:
    """The design point: the neuron's time constant, the OTA's bias and Miller capacitor, and
    the activation pair's tail current and attenuator, the full scale and the converters' bits
    where they are not the cmos level's (the bits: not chip_card's default), and a sky130
    driver where the +/- drivers are one."""
    neuron = card["config"]["neuron"]
    cmos = neuron.get("cmos")
    point = f"tau {neuron['tau_s'] * 1e6:.3g} us"
    if cmos:
        point += (f", OTA bias {cmos['ota_bias_a'] * 1e6:.3g} uA, Cc "
                  f"{cmos['ota_cc_f'] * 1e12:.3g} pF")
        if cmos["pair_tail_a"] != CMOS_PAIR_TAIL_A:
            point += f", pair tail {cmos['pair_tail_a'] * 1e6:.3g} uA"
        if cmos["attenuator_ohm"] != CMOS_ATTENUATOR_OHM:
            point += f", attenuator {cmos['attenuator_ohm'] / 1e6:.3g} MOhm"
    if card["config"]["mapping"]["v_fs"] != CMOS_V_FS:
        point += f", v_FS {card['config']['mapping']['v_fs']:.3g} V"
    conv = card["config"]["converters"]
    if (conv["dac_bits"], conv["adc_bits"]) != CARD_BITS:
        point += f", DAC {conv['dac_bits']} b, ADC {conv['adc_bits']} b"
    sup = card["config"].get("supplies")
    rails = (sup["vdd_v"], sup["vss_v"], sup["input_vdd_v"], sup["input_vss_v"]) if sup else None
    if rails and rails != CMOS_RAILS_V:
        point += (f", rails {rails[1]:+.2g}/{rails[0]:+.2g} V (inputs "
                  f"{rails[3]:+.2g}/{rails[2]:+.2g} V)")
    driver = card["config"].get("periphery", {}).get("driver", "behavioural")
    if driver != "behavioural":
        point += f", every +/- driver {driver}"
    return point


def _model(card: dict) -> str:
    """The task, and the model's encoder and decoder where they are not the digital layers."""
    model = card.get("model") or {}
    kinds = [f"encoder {model['encoder']}" if model.get("encoder", "linear-tanh") !=
             "linear-tanh" else "", f"decoder {model['decoder']}" if model.get(
             "decoder", "linear") != "linear" else "",
             f"gamma {_gamma(model):g}" if _gamma(model) != DEFAULT_GAMMA else ""]
    kinds = [k for k in kinds if k]
    return card["task"] + (f" ({', '.join(kinds)})" if kinds else "")


def _metric(card: dict) -> str:
    """The SPICE metric (and, with a readout fitted to the chip, the trained readout's) against
    the naive digital DEQ where the card names it, else the same model's digital core."""
    text = f"{card['metric_spice']:.4f}"
    tune = card.get("tune")
    if tune:
        text += (f" (model tuned to the chip instance: {tune['epochs']} epochs through its "
                 f"proxy trimmed on {tune['samples']} training inputs)")
    readout = card.get("readout")
    if readout:
        text += (f" (readout fitted on {readout['samples']} training inputs; as trained "
                 f"{card['metric_spice_trained_readout']:.4f})")
    reference = card.get("metric_reference")
    if reference:
        return text + f" / {reference['metric']:.4f} digital DEQ"
    return text + f" / {card['metric_digital']:.4f} its digital core"


IDLE_LINE = "behavioural drivers' idle current"
"""The card line (codesign.chip.card) charging behavioural drivers a real driver's idle
current; cards measured before it have none."""


def _idle(card: dict) -> str:
    """A mark on a card measured before the behavioural drivers' idle current was charged."""
    counted = any(r["block"] == IDLE_LINE for r in card["energy"]["lines"])
    return "" if counted else ", drivers' idle not counted"


def _step(card: dict) -> str:
    """A mark on a card whose transients stepped at up to t_stop / 100 (measured before
    Deck.tran_max_step_s bounded the step by the neurons' time constant): its sampling instant,
    and so its energy, may be off either way (on the dynamic cell's chip 2.4-2.8x late)."""
    return "" if "max_step_s" in card["energy"] else ", steps of t_stop/100 (before the bound)"


DC_CELL = "cell sky130_r2r_eq"
"""The R-2R cell as its DC equivalent (cd_wcell_eq): no capacitance, delay or summing-node
conductance of the cell's own, so a fast chip's transients are short (sky130_r2r_rc has them)."""


def _cell(card: dict) -> str:
    """A mark on a card whose cells are their DC equivalent."""
    return ", cells' dynamics left out" if DC_CELL in card["parts"].split("; ") else ""


def render(cards: list[dict], lines_too: bool = True) -> str:
    """The summary table and, with ``lines_too``, each card's energy lines."""
    lines = ["| chip (parts) | SPICE metric / digital reference | energy per "
             "inference, median "
             "(p95) | per equivalent MAC, median (p95) | TOPS/W | area | TOPS/mm^2 |",
             "|---|---|---|---|---|---|---|"]
    for c in cards:
        e, a = c["energy"], c["area"]
        complete = "" if a["complete"] else " (incomplete: behavioural parts)"
        lines.append(
            f"| {_name(c)} | {_metric(c)} ({c['samples']} samples) | {e['median_j'] * 1e12:.0f} pJ "
            f"({e['p95_j'] * 1e12:.0f}){_idle(c)}{_cell(c)}{_step(c)} | "
            f"{e['per_mac_j'] * 1e15:.0f} fJ "
            f"({e['p95_per_mac_j'] * 1e15:.0f}) | {e['tops_per_w']:.3g} | "
            f"{a['total_mm2']:.2f} mm^2{complete} | {a['tops_per_mm2']:.3g} |")
    anchors = ", ".join(f"{r.name}: {r.value:.0f} {r.unit}" for r in
                        (*ANALOG_CHIPS_MAC, IMAGINE_SYSTEM_MAC))
    lines += ["", f"Chip-level anchors that count the same way (codesign.references): {anchors}."]
    lines += heldout_table() if lines_too else []
    for c in cards if lines_too else ():
        e = c["energy"]
        lines += ["", f"Energy card, {_name(c)}: {e['transients']} transients, sampling at "
                  f"{e['sampling_s'] * 1e6:.2f} us (median); there "
                  f"{e['code_agreement'] * 100:.1f} % of the ADC codes equal the DC ones (all "
                  "of a sample's on "
                  f"{e['codes_equal'] * 100:.0f} %), and the decoded output equals the DC one on "
                  f"{e['same_output_at_sampling'] * 100:.0f} %{_sampled_metric(e)}; "
                  f"`{c['command'].strip()}`", "",
                  "| line | median | p95 | basis |", "|---|---|---|---|"]
        lines += [f"| {r['block']} | {r['median_j'] * 1e12:.2f} pJ | {r['p95_j'] * 1e12:.2f} pJ "
                  f"| {r['basis']} |" for r in e["lines"]]
    return "\n".join(lines)


def _sampled_metric(energy: dict) -> str:
    """The task metric of the card's transients' inputs read at the sampling instant and at
    the DC codes (cards measured before it was recorded: nothing)."""
    if "metric_at_sampling" not in energy:
        return ""
    return (f"; on these inputs the metric read at the sampling instant is "
            f"{energy['metric_at_sampling']:.4f}, at the DC codes {energy['metric_at_dc']:.4f}")


def heldout_table() -> list[str]:
    """Each stored held-out comparison (docs/results/heldout-*.json) as a table."""
    lines = []
    for path in sorted(RESULTS.glob("heldout-*.json")):
        h = json.loads(path.read_text())
        lines += ["", f"Against SPICE on {h['test_samples']} held-out test inputs ({h['task']}: "
                  f"{h['parts'].replace('; ', ', ')}; fitted on {h['fit_samples']} training "
                  f"inputs): `{h['command'].strip()}`", "", "| model | RMS [FS] |", "|---|---|"]
        lines += [f"| {name} | {value:.2e} |" for name, value in h["rms_fs"].items()]
    return lines


def sweep_table(cards: list[dict], points: list[dict]) -> str:
    """Each task's card beside its cards at other design points: the metric, the sampling
    instant and where the energy goes (the SPICE-measured analog lines apart)."""
    lines = ["| task | design point | SPICE metric / digital reference | sampling | amplifiers "
             "| activations and output drivers | input drivers | these three per MAC | card, "
             "median (p95) | per equivalent MAC |", "|---|---|---|---|---|---|---|---|---|---|"]
    tasks = {p["task"] for p in points}
    rows = [c for c in cards if c["task"] in tasks] + points
    rows.sort(key=lambda c: (_model(c), -c["config"]["neuron"]["tau_s"],
                             -(c["config"]["neuron"].get("cmos") or {}).get("ota_bias_a", 0.0)))
    for c in rows:
        e = c["energy"]
        line = {r["block"]: r["median_j"] for r in e["lines"]}
        analog = sum(line[b] for b in ANALOG)
        lines.append(
            f"| {_model(c)} | {_point(c)} | {_metric(c)} | "
            f"{e['sampling_s'] * 1e6:.2f} us{_step(c)} | "
            + " | ".join(f"{line[b] * 1e9:.2f} nJ" for b in ANALOG)
            + f" | {analog / e['macs'] * 1e15:.0f} fJ | {e['median_j'] * 1e9:.2f} nJ "
            f"({e['p95_j'] * 1e9:.2f}){_idle(c)} | {e['per_mac_j'] * 1e15:.0f} fJ |")
    commands = [f"- `{c['command'].strip()}`" for c in points]
    return "\n".join([*lines, "", "Measured by (stored as `docs/results/sweep/card-*.json`; the "
                       "chips of the card table below by the commands beside their lines):", "",
                       *commands])


def probe_table(probes: list[dict]) -> str:
    """The probes: cell, design point, metric, sampling instant, energy; then their commands."""
    lines = ["| cell | design point | SPICE metric / digital reference | sampling | energy per "
             "inference, median (p95) | per equivalent MAC |", "|---|---|---|---|---|---|"]
    probes = sorted(probes, key=lambda c: (c["config"]["array"]["cell"],
                                           -c["config"]["neuron"]["tau_s"],
                                           -c["config"]["neuron"]["cmos"]["ota_cc_f"]))
    for c in probes:
        e = c["energy"]
        lines.append(f"| {c['config']['array']['cell']} | {_point(c)} | {_metric(c)} "
                     f"({c['samples']} samples) | {e['sampling_s'] * 1e6:.2f} us{_step(c)} | "
                     f"{e['median_j'] * 1e12:.0f} pJ ({e['p95_j'] * 1e12:.0f}) | "
                     f"{e['per_mac_j'] * 1e15:.0f} fJ |")
    commands = [f"- `{c['command'].strip()}`" for c in probes]
    return "\n".join([*lines, "", "Measured by (stored as `docs/results/probe-cell/*.json`):", "",
                       *commands])


def search_table(folder: Path) -> str:
    """The measured designs of one stored design search, least energy first, the chosen one
    marked, with the command that ran it."""
    import pandas as pd  # deferred: only this table reads CSV

    run = json.loads((folder / "run.json").read_text())
    chosen = json.loads((folder / "chosen.json").read_text())
    front = pd.read_csv(folder / "front.csv").sort_values("energy_j")
    trials = pd.read_csv(folder / "trials.csv")
    lines = [f"`{run['command_line']}` ({len(trials)} designs screened, {len(front)} measured "
             f"in SPICE on {int(front.samples.iloc[0])} test samples and "
             f"{int(front.transients.iloc[0])} transients each):", "",
             "| trial | tau | v_FS | OTA bias, Cc | DAC / ADC bits | input rails | SPICE metric "
             "| energy / inference, median (p95) | per MAC | sampling | codes = DC codes | area "
             "| |", "|" + "---|" * 13]
    for r in front.itertuples():
        mark = []
        if chosen.get("chosen") and int(r.trial) == chosen["number"]:
            mark.append("**chosen**")
        if r.refined:
            mark.append("own calibration")
        if r.unsettled:
            mark.append(f"unsettled in {int(r.unsettled)}: not measured")
        elif r.on_front:
            mark.append("on the front")
        lines.append(
            f"| {int(r.trial)} | {r.tau_s * 1e6:.3g} us | {r.v_fs:.3f} V | "
            f"{r.ota_bias_a * 1e6:.2g} uA, {r.ota_cc_f * 1e12:.2g} pF | {int(r.dac_bits)} / "
            f"{int(r.adc_bits)} | +-{r.input_supply_v:.2f} V | {r.metric_spice:.4f} | "
            f"{r.energy_j * 1e9:.2f} nJ ({r.energy_p95_j * 1e9:.2f}) | {r.fj_per_mac:,.0f} fJ | "
            f"{r.settling_s * 1e6:.2f} us | {100 * r.codes_equal:.0f} % | "
            f"{r.area_mm2:.2f} mm^2 | {', '.join(mark)} |")
    if chosen.get("chosen"):
        lines += ["", f"Chosen: trial {chosen['number']}, SPICE {chosen['metric_spice']:.4f} on "
                  f"all {chosen['samples']} test samples vs the search's digital DEQ "
                  f"{chosen['metric_digital']:.4f} "
                  f"({'within' if chosen['within_target'] else 'outside'} the target: "
                  f"{chosen['target']})."]
    else:
        lines += ["", f"No design chosen: {chosen['reason']}"]
    return "\n".join(lines)


def replaced(text: str, table: str) -> str:
    return between(text, table, START, END)


def _updates() -> list[tuple[Path, str]]:
    """(file, its text with every generated table current)."""
    cards, points, probes = _cards(), _cards(SWEEP), _cards(PROBES, "probe-*.json")
    out = []
    for path, lines_too in TARGETS:
        text = path.read_text()
        if START not in text:
            continue
        text = replaced(text, render(cards, lines_too))
        if path == SWEEP_TARGET and points and SWEEP_START in text:
            text = between(text, sweep_table(cards, points), SWEEP_START, SWEEP_END)
        if path == SWEEP_TARGET and probes and PROBE_START in text:
            text = between(text, probe_table(probes), PROBE_START, PROBE_END)
        out.append((path, text))
    searches = sorted(p for p in SEARCHES.glob("*") if (p / "chosen.json").is_file())
    text = SEARCH_TARGET.read_text()
    if searches and SEARCH_START in text:
        table = "\n\n".join(search_table(p) for p in searches)
        out.append((SEARCH_TARGET, between(text, table, SEARCH_START, SEARCH_END)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for path, new in _updates():
        if new != path.read_text():
            stale.append(path)
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print(f"stale card tables in {', '.join(map(str, stale))}: run python -m "
              "benchmarks.card_tables", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
