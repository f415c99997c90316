"""``codesign report RUN`` for any run folder (:func:`write_report` chooses the renderer from
run.json's command: loop, design, verify, calibrate, noise; a folder without run.json holding a
loop's summary.json is a loop run's, as written before run folders were marked), and what a
loop run's report says, built from a run folder's summary.json (a typed LoopSummary, read
through codesign.schema, so a run from another codesign version is named as such) and its CSV
tables; the verdicts are the loop's (summary.acceptance), rendered here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from codesign.errors import InputError
from codesign.files import write_text
from codesign.report import calibrate, design, figures, noise, verify
from codesign.report.document import Block, Figure, Heading, Para, Table, to_html, to_markdown
from codesign.results.loop import LoopSummary
from codesign.run_folder import RUN_MARKER, folder_command
from codesign.schema import read_json, read_result

REPORT_DIR = "report"
TABLES = {
    "rounds.csv": ("round", "params", "train_s", "digital", "proxy", "circuit",
                   "reference_digital"),
    "baselines.csv": ("model", "parameters", "train_s", "test_metric"),
    "seeds.csv": ("seed", "training", "digital_test", "proxy_chips_mean", "circuit_subset"),
    "robustness.csv": ("model", "axis", "value", "metric_mean", "metric_sd"),
    "robustness_circuit.csv": ("model", "axis", "value", "circuit", "proxy"),
    "energy.csv": ("system", "energy_j", "pj_per_mac", "source", "macs_digital_solve"),
    "settling.csv": ("time_s", "neuron", "z_spice", "z_proxy"),
    "parity.csv": ("sample", "neuron", "z_digital", "z_proxy", "z_spice"),
    "trajectories.csv": ("policy", "episode", "step", "time_s", "theta_rad"),
}
"""The CSV tables a run may hold, and the columns the report reads from each."""
TEXT_COLUMNS = {"params", "model", "training", "axis", "system", "source", "policy",
                "within_target"}
"""Columns that hold text (or flags); every other column the report reads holds numbers."""


def _read(run: Path, name: str, required: bool = False) -> pd.DataFrame | None:
    path = run / name
    if not path.is_file():
        if required:
            raise InputError(f"{run} lacks {name}, which its summary says was written; re-run "
                             f"`codesign loop --out {run}`")
        return None
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} ({type(exc).__name__}); re-run the loop") from None
    missing = [c for c in TABLES[name] if c not in frame.columns]
    if missing or frame.empty:
        raise InputError(f"{path} lacks {'rows' if not missing else f'columns {missing}'}: it "
                         "was not written by this codesign's loop; re-run it")
    text = [c for c in TABLES[name] if c not in TEXT_COLUMNS and frame[c].dtype.kind not in "biuf"]
    if text:
        raise InputError(f"{path}: columns {text} do not hold numbers; re-run the loop")
    return frame


def load_summary(run: Path, partial: bool = False) -> LoopSummary:
    """The run's typed summary; InputError unless it is a finished run (or ``partial``)."""
    path = run / "summary.json"
    command = folder_command(run) if Path(run).is_dir() else None
    if command not in (None, "loop"):
        raise InputError(f"{run} holds a `codesign {command}` run, not a loop's; `codesign "
                         f"report {run}` renders it")
    if not path.is_file():
        raise InputError(f"{run} has no summary.json: it is not the folder of a codesign loop "
                         "run; pass the --out of `codesign loop`")
    summary = read_result(path, LoopSummary, "loop")
    if not summary.rounds:
        raise InputError(f"{run} holds an unfinished loop (no rounds yet); re-run "
                         f"`codesign loop --out {run}`")
    if not summary.complete and not partial:
        raise InputError(f"{run} holds an incomplete loop run (stages done: "
                         f"{', '.join(summary.timings_s)}; it was killed or failed): re-run "
                         f"`codesign loop --out {run}`, or pass --partial to render what it has")
    return summary


def _cells(levels: int) -> str:
    if levels == 0:
        return "continuous conductance levels"
    if levels == 2:
        return "binary cells (2 conductance levels; ternary weights from a differential pair)"
    return f"{levels} conductance levels per cell"


def _intro(summary: LoopSummary, written_by: str) -> list[Block]:
    s, c, metric, deq = summary.settings, summary.circuit, summary.metric, summary.deq
    blocks: list[Block] = [Heading(f"codesign loop: {s.task}, {s.neuron} neuron", 1)]
    if not summary.complete:
        blocks.append(Para(f"INCOMPLETE RUN: the loop stopped after the stages "
                           f"{', '.join(summary.timings_s)}; what follows is what it wrote."))
    return blocks + [
        Para(f"Data: {summary.task_source}. Metric: {metric.name} "
             f"({'higher' if metric.higher_is_better else 'lower'} is better). "
             f"Core n = {deq.core_size}, m = {deq.core_inputs}, "
             f"||W||_2 <= {deq.gamma}. Chip: {s.neuron} neurons, "
             f"{100 * s.mismatch_sigma:g} % programming mismatch per device (chip seed "
             f"{s.chip_seed}), {_cells(c.array.levels)}, {_converters(c.converters)}. "
             f"ngspice {summary.ngspice_version}, codesign {written_by}."),
        Para(f"Regenerate: codesign loop --task {s.task} --neuron {s.neuron} --rounds {s.rounds} "
             f"--mismatch {s.mismatch_sigma:g} --levels {c.array.levels} --dac-bits "
             f"{c.converters.dac_bits} --adc-bits {c.converters.adc_bits} --out RUN (then "
             "codesign report RUN)."),
    ]


def _converters(converters) -> str:
    if converters.dac_bits == 0 and converters.adc_bits == 0:
        return "ideal DACs and ADCs"
    return (f"{converters.dac_bits or 'ideal'}-bit input DACs and "
            f"{converters.adc_bits or 'ideal'}-bit output ADCs")


def _sample_set(data: pd.DataFrame, summary: LoopSummary) -> str:
    """The sample set the rounds' metrics are computed on, as a column label."""
    count = data["digital_count"].iloc[0] if "digital_count" in data.columns else \
        summary.verified_samples
    unit = "episodes" if summary.settings.task in ("control", "swingup") else "samples"
    return f"verified set, {int(count)} {unit}"


def _rounds(summary: LoopSummary, run: Path, out: Path) -> list[Block]:
    data = _read(run, "rounds.csv", required=True)
    cols = ["round", "params", "train_s", "digital", "proxy", "circuit", "reference_digital",
            "calibration_residual_before_fs", "calibration_residual_after_fs", "within_target",
            "wall_s"]
    label = _sample_set(data, summary)
    table = data[[c for c in cols if c in data.columns]].rename(columns={
        c: f"{c} ({label})" for c in ("digital", "proxy", "circuit", "reference_digital")})
    blocks: list[Block] = [Heading("Rounds"), Para(
        "Each round fine-tunes through the proxy (round 0 starts from the naive digital DEQ, "
        "with the shipped calibration; later rounds from the previous round, with the proxy "
        "re-fitted on its traces), exports the netlist, verifies held-out samples on the SPICE "
        "chip, and re-fits the proxy's static parameters to those equilibria (even samples "
        "fitted, odd samples give the residual). "
        "digital / proxy / circuit: the same model's metric on the same samples (the "
        f"{label}), computed by PyTorch, by the proxy of this chip, and by ngspice; "
        "reference_digital: the naively trained digital DEQ on the same samples (the "
        "baselines' test_metric is on the full test set, so it differs)."),
        Table(table)]
    path = figures.rounds(data, summary.metric.name, out / "rounds.png")
    blocks.append(Figure(path.name, f"Metric per round ({label}); markers offset along x so "
                         "that equal values stay visible.", "../rounds.csv"))
    return blocks


def _baselines(run: Path) -> list[Block]:
    data = _read(run, "baselines.csv", required=True)
    notes = []
    if "success_rate" in data.columns and data.success_rate.isna().any():
        missing = ", ".join(data.model[data.success_rate.isna()])
        notes.append(f"success_rate n/a: {missing} (measured only for the experts' episodes "
                     "here; the models' own success rates are in rounds.csv and seeds.csv)")
    data = data.rename(columns={"test_metric": "test_metric (full test set)"})
    return [Heading("Digital baselines"), Para(
        "Same data and seed. test_metric: full test set (control: closed-loop mean cost over "
        "the loop's episodes, same seeds)."), Table(data, notes=tuple(notes))]


def _seeds(summary: LoopSummary, run: Path, out: Path) -> list[Block]:
    data = _read(run, "seeds.csv")
    if data is None:
        return []
    agg = data.groupby("training")[["digital_test", "proxy_chips_mean", "circuit_subset"]].agg(
        ["mean", "std"])
    agg.columns = [f"{a} {b}" for a, b in agg.columns]
    path = figures.seeds(data, summary.metric.name, out / "seeds.png")
    return [Heading("Physics-aware vs naive training"), Para(
        "Per seed: a naive digital DEQ trained from scratch, and the same model fine-tuned "
        "through the proxy (train_s: both together). Columns: the digital test metric, the "
        "proxy's over chip instances drawn from the same mismatch distribution (full test "
        "set), and the SPICE chip (held-out subset)."),
        Table(data, notes=("digital_test, proxy_chips_*: full test set; *_subset: the verified "
                           "set",)), Table(agg.reset_index(), "mean and sd over seeds"),
        Figure(path.name, "Physics-aware vs naive, mean and sd over seeds.", "../seeds.csv")]


def _robustness(summary: LoopSummary, run: Path, out: Path) -> list[Block]:
    curves = _read(run, "robustness.csv")
    if curves is None:
        return []
    points = _read(run, "robustness_circuit.csv")
    points = points if points is not None else pd.DataFrame()
    path = figures.robustness(curves, points, summary.metric.name, out / "robustness.png")
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


def _settled(st) -> str:
    """The settling sentence; a run whose transients never settled says so (its energies are
    integrated over the whole transient, an upper bound)."""
    if st.median is None:
        return ("no transient settled to 1e-4 FS before it ended, so the energies above are "
                "integrated over the whole transient (an upper bound)")
    return f"settling median {1e6 * st.median:.2f} us, max {1e6 * st.max:.2f} us"


def _energy(summary: LoopSummary, run: Path, out: Path) -> list[Block]:
    e = summary.energy
    data = _read(run, "energy.csv")
    if e is None or data is None:
        return []
    d, st, c, en = e.digital_solve, e.settling_s, e.circuit, e.energy_per_inference_j
    path = figures.energy(data, out / "energy.png")
    analog = data.iloc[0]
    best_digital = data.iloc[1:4].energy_j.min()
    sup = c.supplies
    return [Heading("Energy and latency"), Para(
        f"SPICE, {e.samples} samples, transients from reset to 1e-4 FS: energy per inference "
        f"{1e9 * en.mean:.3g} nJ (neurons {1e9 * en.core_mean:.3g}, inputs "
        f"{1e9 * en.input_mean:.3g}, DAC/ADC conversions {1e9 * en.converters:.3g}), "
        f"{1e12 * e.energy_per_mac_j:.3g} pJ per equivalent MAC "
        f"({e.macs_per_matvec} MACs per matrix-vector product); {_settled(st)} (tau "
        f"{1e9 * e.tau_s:.0f} ns). "
        f"Circuit parameters: V_FS {c.mapping.v_fs} V, conductances {1e6 * c.mapping.g_min_s:g}-"
        f"{1e6 * c.mapping.g_max_s:g} uS, op-amp quiescent current "
        f"{1e6 * c.neuron.opamp.quiescent_a:g} uA, GBW {c.neuron.opamp.gbw_hz / 1e6:g} MHz, "
        f"supplies {sup.vss_v:g}/{sup.vdd_v:g} V."),
        Para(f"Digital solve of the same core (Anderson, {d.iterations:.0f} iterations to "
             f"1e-6): {data.macs_digital_solve.iloc[0]:.0f} MACs; measured here "
             f"{1e6 * d.latency_batch1_s:.0f} us per inference at batch 1 and "
             f"{1e6 * d.time_per_sample_batched_s:.1f} us per sample batched "
             f"({d.torch_threads} CPU thread). "
             + ("" if st.median is None else
                f"The circuit settles in {1e6 * st.median:.2f} us. ")
             + "Energy: the circuit's "
             f"{1e9 * analog.energy_j:.3g} nJ against {1e9 * best_digital:.3g} nJ for the "
             "cheapest digital estimate, so the analog core "
             + ("wins" if analog.energy_j < best_digital else "loses")
             + " at these circuit parameters; published analog chips reach 0.16-0.8 pJ/MAC."),
        Table(data[["system", "energy_j", "pj_per_mac", "source"]]),
        Figure(path.name, "Energy per inference of the core.", "../energy.csv")]


def _traces(run: Path, out: Path) -> list[Block]:
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


def build(run: Path, out: Path, partial: bool = False) -> list[Block]:
    summary = load_summary(run, partial)
    items = pd.DataFrame([vars(item) for item in summary.acceptance],
                         columns=["item", "value", "target", "met"])
    timings = pd.DataFrame([{"stage": k, "seconds": v} for k, v in summary.timings_s.items()])
    written_by = str(read_json(run / "summary.json").get("codesign_version", ""))
    return (_intro(summary, written_by) + [Heading("Acceptance"), Table(items)]
            + _baselines(run) + _rounds(summary, run, out) + _seeds(summary, run, out)
            + _robustness(summary, run, out) + _energy(summary, run, out)
            + _traces(run, out) + [Heading("Wall time"), Table(timings)])


# --- any run folder: the renderer chosen from run.json's command ---------------------------

Builder = Callable[[Path, Path, bool], tuple[list[Block], str]]


def _loop(run: Path, out: Path, partial: bool) -> tuple[list[Block], str]:
    return build(run, out, partial), f"codesign loop report: {run.name}"


RENDERERS: dict[str, Builder] = {"loop": _loop, "design": design.build, "verify": verify.build,
                                 "calibrate": calibrate.build, "noise": noise.build}
"""The report of each command's run folder (blocks and the page's title)."""


def write_report(run: Path, partial: bool = False) -> list[Path]:
    """Write RUN/report/report.md, report.html and their plots for the run folder ``run`` of
    any command in :data:`RENDERERS`; returns the two pages. A run that did not finish is
    refused unless ``partial`` (then the report says so)."""
    run = Path(run)
    if not run.is_dir():
        raise InputError(f"{run} is not a folder; pass a run folder (the --out of `codesign "
                         "loop`, `design`, `verify` or `noise`, or the --work of `calibrate`)")
    command = folder_command(run)
    if command is None and not (run / "summary.json").is_file():
        raise InputError(f"{run} has no {RUN_MARKER} and no summary.json: it is not the "
                         "folder of a codesign run; pass the --out of `codesign loop`, "
                         "`design`, `verify` or `noise`, or the --work of `calibrate`")
    builder = RENDERERS.get(command or "loop")
    if builder is None:
        raise InputError(f"{run} holds a `codesign {command}` run, which has no report: its "
                         f"README.md says what each of its files holds")
    out = run / REPORT_DIR
    try:
        blocks, title = builder(run, out, partial)
    except InputError as exc:
        if command in (None, "loop"):
            raise
        raise InputError(f"{run} holds a `codesign {command}` run whose report cannot be "
                         f"written: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{run} holds a `codesign {command or 'loop'}` run whose files are "
                         f"not as this codesign writes them ({type(exc).__name__}: {exc}); run "
                         "its command again") from None
    md = write_text(out / "report.md", to_markdown(blocks))
    page = write_text(out / "report.html", to_html(blocks, title))
    return [md, page]
