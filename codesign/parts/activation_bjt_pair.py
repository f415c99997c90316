"""A BJT differential pair (2N3904 models, codesign_devices.lib) making tanh, with its emitter
areas' mismatch drawn at compile time (codesign_neurons.lib: cd_act_bjt_pair)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from codesign.parts.base import Activation, Circuit, Process
from codesign.parts.items import Element, Nodeset

BJT_PAIR_BIAS = {"ra": 8.66e3, "rb": 1e3, "rc": 12.4e3, "rref": 66.5e3, "vbe": 0.65}
"""Nominal component values of cd_act_bjt_pair and a V_BE [V], for the bias-point guess."""

TRANSISTOR_OPTRAN = "optran 1 1 0 10n 10u 0"
"""How the transistor level finds its operating point: Newton, then gmin stepping, then (no
source stepping) a transient of up to 10 us in 10 ns steps. ngspice's default fallback (source
stepping, then a transient in 100 ns steps) failed on 1 of 32 samples of the trained digits core
("singular matrix"); this order solved all 32 (measured on that chunk)."""


@dataclass(frozen=True)
class BjtPair(Activation):
    def element(self, circuit: Circuit, i: int, nodes: tuple[str, ...]) -> Element:
        """Reads neuron i's emitter areas ``circuit.pair_area[i]``."""
        area = circuit.pair_area[i]
        params = (("vfs", circuit.v_fs), ("a1", float(area[0])), ("a2", float(area[1])))
        return Element(f"xact{i}", nodes, model="cd_act_bjt_pair", params=params)

    def guesses(self, circuit: Circuit) -> Iterator[Nodeset]:
        """The bias nodes at the hand-calculated bias point (mirror, emitters, collectors).
        Without them ngspice's Newton starts from all-off transistors and falls back on gmin,
        source and transient stepping for most samples (an order of magnitude slower, and a
        failed .op on some small cores); with them it converges directly
        (tests/test_transistor.py solves such cores from these guesses)."""
        sup, b = circuit.config.supplies, BJT_PAIR_BIAS
        tail = (sup.vdd_v - sup.vss_v - b["vbe"]) / b["rref"]
        guesses = {"r": sup.vss_v + b["vbe"], "e": -b["vbe"],
                   "c1": sup.vdd_v - b["rc"] * tail / 2, "c2": sup.vdd_v - b["rc"] * tail / 2}
        for i in range(circuit.n):
            for node, volts in guesses.items():
                yield Nodeset(f"xact{i}.{node}", volts)

    def draws_mismatch(self, circuit: Circuit) -> bool:
        return circuit.config.neuron.pair_mismatch_sigma > 0

    def setup(self) -> tuple[str, ...]:
        return (TRANSISTOR_OPTRAN,)


PART = BjtPair("bjt_pair", "a BJT differential pair (2N3904) making tanh",
               libraries=("codesign_devices.lib", "codesign_neurons.lib"),
               process=Process.DISCRETE, transistors=5, realises=frozenset({"tanh"}))
