"""What the report says, built from a run folder's summary.json and CSV tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from codesign.errors import InputError
from codesign.loop.profiles import SUCCESS_RATE, within_target
from codesign.report import figures
from codesign.report.document import Block, Figure, Heading, Para, Table, to_html, to_markdown

REPORT_DIR = "report"


def _read(run: Path, name: str) -> pd.DataFrame | None:
    path = run / name
    return pd.read_csv(path) if path.is_file() else None


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def acceptance(summary: dict, seeds: pd.DataFrame | None) -> list[dict]:
    """The task's acceptance items, measured: item, value, target, met."""
    kind, target = summary["task_kind"], summary["profile"]["target"]
    last, ref = summary["rounds"][-1], summary["reference"]["digital"]["metric"]
    circuit = {"metric": last["circuit"], "success_rate": last.get("circuit_success_rate")}
    met = within_target(kind, target, ref, circuit)
    items = []
    if kind == "classification":
        items.append({"item": "circuit accuracy vs digital DEQ (same samples)",
                      "value": f"{_pct(last['circuit'])} vs {_pct(ref)} (gap "
                               f"{100 * (ref - last['circuit']):.2f} pt)",
                      "target": f"gap <= {100 * target:g} pt", "met": met})
    elif kind == "control":
        ratio = last["circuit"] / ref
        items.append({"item": "episodes stabilised, SPICE circuit in the loop",
                      "value": _pct(last["circuit_success_rate"]),
                      "target": f">= {100 * SUCCESS_RATE:g} %",
                      "met": last["circuit_success_rate"] >= SUCCESS_RATE})
        items.append({"item": "closed-loop cost, circuit / digital DEQ",
                      "value": f"{last['circuit']:.4g} / {ref:.4g} = {ratio:.3f}",
                      "target": f"<= {target:.2f}", "met": ratio <= target})
    else:
        ratio = last["circuit"] / ref
        items.append({"item": "relative L2 error, circuit / digital DEQ",
                      "value": f"{last['circuit']:.4g} / {ref:.4g} = {ratio:.3f}",
                      "target": f"<= {target:g}", "met": met})
    if seeds is not None and len(seeds):
        items.append(_seed_item(summary, seeds))
    total = summary.get("timings_s", {}).get("total")
    if total is not None:
        items.append({"item": "loop wall time", "value": f"{total / 60:.1f} min",
                      "target": "<= 30 min", "met": total <= 1800})
    return items


def _seed_item(summary: dict, seeds: pd.DataFrame) -> dict:
    """Physics-aware vs naive over seeds: better only if the SPICE chips and the proxy's chip
    instances (full test set) both say so, by more than the SPICE means' standard error."""
    sign = 1 if summary["higher_is_better"] else -1
    percent = summary["metric"] == "accuracy"
    scale, unit = (100, " pt") if percent else (1, "")
    stats = seeds.groupby("training")[["circuit_subset", "proxy_chips_mean"]].agg(
        ["mean", "std"])
    aware, naive = stats.loc["physics-aware"], stats.loc["naive"]
    count = int(seeds.seed.nunique())
    spice = sign * (aware[("circuit_subset", "mean")] - naive[("circuit_subset", "mean")])
    proxy = sign * (aware[("proxy_chips_mean", "mean")] - naive[("proxy_chips_mean", "mean")])
    error = ((aware[("circuit_subset", "std")] ** 2 + naive[("circuit_subset", "std")] ** 2)
             / count) ** 0.5
    return {"item": f"physics-aware vs naive, {count} seeds: SPICE chip (subset) and proxy "
                    "chips (test set), mean +- sd",
            "value": f"SPICE {_spread(aware, percent)} vs {_spread(naive, percent)} "
                     f"(margin {scale * spice:+.3g}{unit}"
                     f", standard error {scale * error:.2g}{unit}); proxy chips margin "
                     f"{scale * proxy:+.3g}{unit}",
            "target": "aware better on both, by more than the standard error",
            "met": bool(spice > error and proxy > 0)}


def _cells(levels: int) -> str:
    if levels == 0:
        return "continuous conductance levels"
    if levels == 2:
        return "binary cells (2 conductance levels; ternary weights from a differential pair)"
    return f"{levels} conductance levels per cell"


def _spread(stats: pd.Series, percent: bool) -> str:
    """'mean +- sd' of the SPICE subset metric, in % if ``percent``."""
    mean, sd = stats[("circuit_subset", "mean")], stats[("circuit_subset", "std")]
    if percent:
        return f"{100 * mean:.2f} +- {100 * sd:.2f} %"
    return f"{mean:.4g} +- {sd:.2g}"


def _intro(summary: dict) -> list[Block]:
    s = summary["settings"]
    c = summary["circuit"]
    return [
        Heading(f"codesign loop: {s['task']}, {s['neuron']} neuron", 1),
        Para(f"Data: {summary['task_source']}. Metric: {summary['metric']} "
             f"({'higher' if summary['higher_is_better'] else 'lower'} is better). "
             f"Core n = {summary['deq']['core_size']}, m = {summary['deq']['core_inputs']}, "
             f"||W||_2 <= {summary['deq']['gamma']}. Chip: {s['neuron']} neurons, "
             f"{100 * s['mismatch_sigma']:g} % programming mismatch per device (chip seed "
             f"{s['chip_seed']}), {_cells(c['array']['levels'])}. "
             f"ngspice {summary['ngspice_version']}, codesign {summary['codesign_version']}."),
        Para("Regenerate: codesign loop --task {t} --neuron {n} --rounds {r} --mismatch {m:g} "
             "--levels {lv} --out RUN (then codesign report RUN).".format(
                 t=s["task"], n=s["neuron"], r=s["rounds"], m=s["mismatch_sigma"],
                 lv=c["array"]["levels"])),
    ]


def _rounds(summary: dict, run: Path, out: Path) -> list[Block]:
    data = _read(run, "rounds.csv")
    cols = ["round", "params", "train_s", "digital", "proxy", "circuit", "reference_digital",
            "calibration_residual_before_fs", "calibration_residual_after_fs", "within_target",
            "wall_s"]
    blocks: list[Block] = [Heading("Rounds"), Para(
        "Each round fine-tunes through the proxy (round 0 starts from the naive digital DEQ, "
        "with the shipped calibration; later rounds from the previous round, with the proxy "
        "re-fitted on its traces), exports the netlist, verifies held-out samples on the SPICE "
        "chip, and re-fits the proxy's static parameters to those equilibria (even samples "
        "fitted, odd samples give the residual). "
        "digital / proxy / circuit: the same model's metric on the same samples, computed by "
        "PyTorch, by the proxy of this chip, and by ngspice; reference_digital: the naively "
        "trained digital DEQ."),
        Table(data[[c for c in cols if c in data.columns]])]
    path = figures.rounds(data, summary["metric"], out / "rounds.png")
    blocks.append(Figure(path.name, "Metric per round.", "../rounds.csv"))
    return blocks


def _baselines(run: Path) -> list[Block]:
    data = _read(run, "baselines.csv")
    return [Heading("Digital baselines"), Para(
        "Same data and seed. test_metric: full test set (control: closed-loop mean cost over "
        "the loop's episodes, same seeds)."), Table(data)]


def _seeds(summary: dict, run: Path, out: Path) -> list[Block]:
    data = _read(run, "seeds.csv")
    if data is None:
        return []
    agg = data.groupby("training")[["digital_test", "proxy_chips_mean", "circuit_subset"]].agg(
        ["mean", "std"])
    agg.columns = [f"{a} {b}" for a, b in agg.columns]
    path = figures.seeds(data, summary["metric"], out / "seeds.png")
    return [Heading("Physics-aware vs naive training"), Para(
        "Per seed: a naive digital DEQ trained from scratch, and the same model fine-tuned "
        "through the proxy (train_s: both together). Columns: the digital test metric, the "
        "proxy's over chip instances drawn from the same mismatch distribution (full test "
        "set), and the SPICE chip (held-out subset)."),
        Table(data), Table(agg.reset_index(), "mean and sd over seeds"),
        Figure(path.name, "Physics-aware vs naive, mean and sd over seeds.", "../seeds.csv")]


def _robustness(summary: dict, run: Path, out: Path) -> list[Block]:
    curves = _read(run, "robustness.csv")
    if curves is None:
        return []
    points = _read(run, "robustness_circuit.csv")
    points = points if points is not None else pd.DataFrame()
    path = figures.robustness(curves, points, summary["metric"], out / "robustness.png")
    blocks: list[Block] = [Heading("Robustness"), Para(
        "The metric against conductance mismatch (other settings as the loop's), bits per cell "
        "(conductance levels 2^bits, at the loop's mismatch; a differential pair of cells "
        "makes one weight) and op-amp DC gain, predicted by "
        "the proxy over seeded chip instances (error bars: sd over chips), for the final "
        "physics-aware model and the naive one (neither re-trained per point); stars: three "
        "points in SPICE, on one chip (chip seed of the run) and the first verified samples "
        "(control: half the episodes, for the curves too)."),
        Figure(path.name, "Robustness curves (proxy) with SPICE-verified points.",
               "../robustness.csv")]
    if len(points):
        blocks.append(Table(points, "SPICE-verified points (data: robustness_circuit.csv)"))
    return blocks


def _energy(summary: dict, run: Path, out: Path) -> list[Block]:
    e = summary.get("energy")
    data = _read(run, "energy.csv")
    if not e or data is None:
        return []
    d = e["digital_solve"]
    st = e["settling_s"]
    circuit = e["circuit"]
    path = figures.energy(data, out / "energy.png")
    analog = data.iloc[0]
    best_digital = data.iloc[1:4].energy_j.min()
    return [Heading("Energy and latency"), Para(
        f"SPICE, {e['samples']} samples, transients from reset to 1e-4 FS: energy per inference "
        f"{1e9 * e['energy_per_inference_j']['mean']:.1f} nJ (neurons "
        f"{1e9 * e['energy_per_inference_j']['core_mean']:.1f}, inputs "
        f"{1e9 * e['energy_per_inference_j']['input_mean']:.1f}), "
        f"{1e12 * e['energy_per_mac_j']:.2f} pJ per equivalent MAC ({e['macs_per_matvec']} MACs "
        f"per matrix-vector product); settling median {1e6 * st['median']:.2f} us, max "
        f"{1e6 * st['max']:.2f} us (tau {1e9 * e['tau_s']:.0f} ns). Circuit parameters: V_FS "
        f"{circuit['v_fs']} V, conductances {1e6 * circuit['g_min_s']:g}-"
        f"{1e6 * circuit['g_max_s']:g} uS, op-amp quiescent current "
        f"{1e6 * circuit['opamp']['quiescent_a']:g} uA, GBW {circuit['opamp']['gbw_hz'] / 1e6:g} "
        "MHz, supplies +-1.65 V."),
        Para(f"Digital solve of the same core (Anderson, {d['iterations']:.0f} iterations to "
             f"1e-6): {data.macs_digital_solve.iloc[0]:.0f} MACs; measured here "
             f"{1e6 * d['latency_batch1_s']:.0f} us per inference at batch 1 and "
             f"{1e6 * d['time_per_sample_batched_s']:.1f} us per sample batched "
             f"({d['torch_threads']} CPU thread). The circuit settles in "
             f"{1e6 * st['median']:.2f} us. Energy: the circuit's "
             f"{1e9 * analog.energy_j:.3g} nJ against {1e9 * best_digital:.3g} nJ for the "
             "cheapest digital estimate, so the analog core "
             + ("wins" if analog.energy_j < best_digital else "loses")
             + " at these circuit parameters; published analog chips reach 0.16-0.8 pJ/MAC."),
        Table(data[["system", "energy_j", "pj_per_mac", "source"]]),
        Figure(path.name, "Energy per inference of the core.", "../energy.csv")]


def _traces(summary: dict, run: Path, out: Path) -> list[Block]:
    blocks: list[Block] = [Heading("Settling and parity")]
    data = _read(run, "settling.csv")
    if data is not None:
        path = figures.settling(data, out / "settling.png")
        blocks.append(Figure(path.name, "Transient from reset: SPICE (solid) and the proxy "
                             "(dashed), final model, one test sample.", "../settling.csv"))
    data = _read(run, "parity.csv")
    if data is not None:
        path = figures.parity(data, out / "parity.png")
        blocks.append(Figure(path.name, "SPICE equilibria of the final round's chip against "
                             "PyTorch and the re-calibrated proxy.", "../parity.csv"))
    data = _read(run, "trajectories.csv")
    if data is not None:
        path = figures.trajectories(data, out / "trajectories.png")
        blocks.append(Figure(path.name, "Pendulum angle in closed loop, first episodes: expert, "
                             "digital policy, proxy, SPICE circuit.", "../trajectories.csv"))
    return blocks


def build(run: Path, out: Path) -> list[Block]:
    summary_path = run / "summary.json"
    if not summary_path.is_file():
        raise InputError(f"{run} has no summary.json; run `codesign loop --out {run}` first")
    summary = json.loads(summary_path.read_text())
    if "rounds" not in summary:
        raise InputError(f"{run} holds an unfinished loop (no rounds yet); re-run "
                         f"`codesign loop --out {run}`")
    seeds = _read(run, "seeds.csv")
    items = pd.DataFrame(acceptance(summary, seeds))
    timings = pd.DataFrame([{"stage": k, "seconds": v}
                            for k, v in summary.get("timings_s", {}).items()])
    return (_intro(summary) + [Heading("Acceptance"), Table(items)]
            + _baselines(run) + _rounds(summary, run, out) + _seeds(summary, run, out)
            + _robustness(summary, run, out) + _energy(summary, run, out)
            + _traces(summary, run, out) + [Heading("Wall time"), Table(timings)])


def write_report(run: Path) -> list[Path]:
    """Write RUN/report/report.md, report.html and the plots; returns the two pages."""
    run = Path(run)
    out = run / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    blocks = build(run, out)
    md, page = out / "report.md", out / "report.html"
    md.write_text(to_markdown(blocks))
    page.write_text(to_html(blocks, f"codesign loop report: {run.name}"))
    return [md, page]
