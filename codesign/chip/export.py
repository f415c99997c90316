"""Export a chip: a self-contained ngspice deck, the model libraries, the conductances and a
JSON manifest (weights hash, mapping, model parameters, versions), written last.

The deck runs by itself: ``ngspice crossbar.cir`` (or ``ngspice -b crossbar.cir``) solves the
operating point and prints the equilibrium as a short table (z_fs, units of full scale) and the
supplies' power, runs the transient from reset and prints the supplies' energy over it and its
mean power, then quits (codesign.netlist.spice.report_control)."""

from __future__ import annotations

import hashlib
import shlex
from pathlib import Path

import numpy as np

from codesign._version import __version__
from codesign.circuit.description import CrossbarCircuit
from codesign.circuit.dynamics import SETTLE_TOL_FS, transient_stops_s
from codesign.files import atomic_write, check_output_dir, write_json, write_text
from codesign.netlist.deck import Analysis, SampleJob
from codesign.netlist.library import copy_library, library_files
from codesign.netlist.spice import analysis_commands, self_running_deck, write_deck
from codesign.simulator.ngspice import NgspiceInstall

DECK_NAME = "crossbar.cir"
CONDUCTANCES_NAME = "conductances.npz"
MANIFEST_NAME = "manifest.json"


def _range(values: np.ndarray) -> dict:
    return {"min": float(np.min(values)), "max": float(np.max(values))}


def conductance_summary(circuit: CrossbarCircuit) -> dict:
    """Ranges of the element values, for the manifest."""
    return {
        "devices": circuit.device_count(),
        "g_feedback_s": _range(circuit.g_feedback),
        "c_feedback_f": _range(circuit.c_feedback),
        "noise_gain": _range(circuit.noise_gain()),
        "tau_s": circuit.time_constant_s(),
    }


def _conductances(circuit: CrossbarCircuit) -> dict[str, np.ndarray]:
    arrays = {name: getattr(circuit, name) for name in (
        "g_feedback", "c_feedback", "g_w_plus", "g_w_minus", "g_u_plus", "g_u_minus",
        "g_b_plus", "g_b_minus", "offset_v")}
    if circuit.pair_area is not None:
        arrays["pair_area"] = circuit.pair_area
    return arrays


def export_chip(chip, out_dir: Path, *, ngspice: NgspiceInstall | None,
                inputs: np.ndarray | None = None, source: str = "",
                settle_tol_fs: float = SETTLE_TOL_FS) -> dict:
    """Write ``chip``'s deck (op + transient from reset for one input vector ``inputs``, zeros
    by default, run from a .control block that prints the equilibrium and the supplies' power
    and energy, then quits), the .lib files, conductances.npz and, last, manifest.json into
    ``out_dir``."""
    out_dir = check_output_dir(Path(out_dir))
    circuit = chip.circuit
    e = np.zeros((1, chip.m)) if inputs is None else chip.inputs(inputs)[:1]
    klu = bool(ngspice and ngspice.klu)
    deck = write_deck(circuit, klu=klu, library=Path("."), inputs=e[0])
    t_stop = float(transient_stops_s(circuit, chip.prediction(e), settle_tol_fs)[0][0])
    job = SampleJob(0, tuple(e[0]), t_stop)
    text = self_running_deck(deck, analysis_commands(Analysis.TRAN, job, deck))
    write_text(out_dir / DECK_NAME, text)
    libs = copy_library(out_dir, library_files(chip.config))
    arrays = _conductances(circuit)
    atomic_write(out_dir / CONDUCTANCES_NAME, lambda tmp: _savez(tmp, arrays))
    manifest = {
        "codesign_version": __version__,
        "ngspice_version": ngspice.version if ngspice else None,
        "klu": klu,
        "source": source,
        "weights_sha256": circuit.weights_sha256,
        "n": chip.n,
        "m": chip.m,
        "activation": chip.core.activation,
        "spectral_norm": chip.core.spectral_norm,
        "circuit": chip.config.to_dict(),
        "mismatch_seed": chip.seed,
        "elements": conductance_summary(circuit),
        "sample_inputs": e[0].tolist(),
        "t_stop_s": t_stop,
        "files": {
            "deck": DECK_NAME,
            "libraries": [p.name for p in libs],
            "conductances": CONDUCTANCES_NAME,
        },
        "deck_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "run": f"cd {shlex.quote(str(out_dir))} && ngspice {DECK_NAME}",
        "prints": "the equilibrium z_fs (units of full scale) and the supply power at the "
                  "operating point; the supply energy and mean power over the transient",
    }
    write_json(out_dir / MANIFEST_NAME, manifest)
    return manifest


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
