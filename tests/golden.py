"""Golden decks: small cores whose netlists are kept in netlists/golden/ and whose equilibria
have closed forms. ``python -m tests.golden`` (make golden) rewrites the files from the current
writer; review the diff before committing it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from codesign.circuit import circuit_config, compile_core
from codesign.deq import CoreWeights
from codesign.netlist.deck import SampleJob
from codesign.netlist.spice import standalone_deck, write_deck

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "netlists" / "golden"
T_STOP_S = 3e-6

CASES: dict[str, tuple[CoreWeights, str, tuple[float, ...]]] = {
    # one tanh neuron: z = tanh(0.6 z + 0.8 e + 0.1)
    "scalar_tanh_ideal": (
        CoreWeights(np.array([[0.6]]), np.array([[0.8]]), np.array([0.1]), "tanh"),
        "ideal", (0.5,),
    ),
    # a linear pair: (I - W) z = U e + b
    "pair_identity_ideal": (
        CoreWeights(np.array([[0.0, -0.4], [0.3, 0.2]]), np.array([[0.7], [-0.5]]),
                    np.array([0.05, -0.1]), "identity"),
        "ideal", (0.25,),
    ),
    # the same pair through tanh and the single-pole op-amp macromodel (A0 = 1e5)
    "pair_tanh_opamp": (
        CoreWeights(np.array([[0.0, -0.4], [0.3, 0.2]]), np.array([[0.7], [-0.5]]),
                    np.array([0.05, -0.1]), "tanh"),
        "opamp", (0.25,),
    ),
}


def golden_text(name: str) -> str:
    """The deck the current writer produces for golden case ``name``."""
    core, level, inputs = CASES[name]
    circuit = compile_core(core, circuit_config(level))
    deck = write_deck(circuit, klu=False, library=Path(".."), title=f"codesign golden {name}",
                      inputs=inputs)
    return standalone_deck(deck, SampleJob(0, inputs, T_STOP_S), "tran")


def main() -> None:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for name in CASES:
        path = GOLDEN_DIR / f"{name}.cir"
        path.write_text(golden_text(name))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
