"""Export a compiled core: a self-contained ngspice deck, the model libraries, the conductances
and a JSON manifest (weights hash, mapping, model parameters, versions)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from codesign import __version__
from codesign.circuit.compile import compile_core
from codesign.circuit.config import CircuitConfig
from codesign.circuit.description import CrossbarCircuit
from codesign.circuit.dynamics import transient_stops_s
from codesign.circuit.predict import predict_equilibrium
from codesign.deq.weights import CoreWeights
from codesign.jsonio import write_json
from codesign.netlist.deck import SampleJob
from codesign.netlist.library import copy_library
from codesign.netlist.spice import standalone_deck, write_deck
from codesign.simulator.ngspice import NgspiceInstall

DECK_NAME = "crossbar.cir"
CONDUCTANCES_NAME = "conductances.npz"


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


def export_core(
    core: CoreWeights,
    config: CircuitConfig,
    out_dir: Path,
    *,
    ngspice: NgspiceInstall | None,
    inputs: np.ndarray | None = None,
    source: str = "",
    settle_tol_fs: float = 1e-4,
    seed: int = 0,
) -> dict:
    """Write the deck (op + transient from reset for one input vector ``inputs``, zeros by
    default), the .lib files, conductances.npz and manifest.json into ``out_dir``. ``seed``
    draws the device mismatch when the config sets a sigma."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    e = np.zeros((1, core.m)) if inputs is None else core.check_inputs(inputs)[:1]
    circuit = compile_core(core, config, np.random.default_rng(seed))
    deck = write_deck(circuit, klu=bool(ngspice and ngspice.klu), library=Path("."), inputs=e[0])
    t_stop = float(transient_stops_s(circuit, predict_equilibrium(circuit, e), settle_tol_fs)[0][0])
    text = standalone_deck(deck, SampleJob(0, tuple(e[0]), t_stop), "tran")
    (out_dir / DECK_NAME).write_text(text)
    libs = copy_library(out_dir)
    np.savez(
        out_dir / CONDUCTANCES_NAME,
        g_feedback=circuit.g_feedback, c_feedback=circuit.c_feedback,
        g_w_plus=circuit.g_w_plus, g_w_minus=circuit.g_w_minus,
        g_u_plus=circuit.g_u_plus, g_u_minus=circuit.g_u_minus,
        g_b_plus=circuit.g_b_plus, g_b_minus=circuit.g_b_minus, offset_v=circuit.offset_v,
        **({} if circuit.pair_area is None else {"pair_area": circuit.pair_area}),
    )
    manifest = {
        "codesign_version": __version__,
        "ngspice_version": ngspice.version if ngspice else None,
        "klu": bool(ngspice and ngspice.klu),
        "source": source,
        "weights_sha256": circuit.weights_sha256,
        "n": core.n,
        "m": core.m,
        "activation": core.activation,
        "spectral_norm": core.spectral_norm,
        "circuit": config.to_dict(),
        "mismatch_seed": seed,
        "elements": conductance_summary(circuit),
        "sample_inputs": e[0].tolist(),
        "t_stop_s": t_stop,
        "files": {
            "deck": DECK_NAME,
            "libraries": [p.name for p in libs],
            "conductances": CONDUCTANCES_NAME,
        },
        "deck_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "run": f"cd {out_dir} && ngspice {DECK_NAME}",
    }
    write_json(out_dir / "manifest.json", manifest)
    return manifest
