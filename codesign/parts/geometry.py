"""Drawn areas of sky130 devices from the PDK's densities and sheet resistances: what the parts'
``area_um2`` add up (routing is the area card's stated overhead, codesign.chip.card)."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from codesign.errors import CodesignError

CONTACTED_DIFFUSION_UM = 0.29
"""Source or drain length of a contacted diffusion beside the gate (one side) [um]: an estimate
from the sky130 rules (licon 0.17 um, its enclosure and spacing to poly)."""
MIM_F_PER_UM2 = 2.0e-15
"""sky130 MIM capacitor (cap_mim_m3_1) area density, tt: camimc = 2.00 fF/um^2
(google/skywater-pdk-libs-sky130_fd_pr, models/r+c/res_typical__cap_typical__lin.spice); the
0.19 fF/um perimeter term is left out (a 1 pF square gains 2.7 %)."""
XHIGH_PO_OHM_PER_SQ = 2000.0
"""sky130 xhigh_po sheet resistance (parameters_res_nom.spice: sw_sky130_fd_pr__res_xhigh_po_rs)."""
XHIGH_PO_W_UM = 0.35
XHIGH_PO_PITCH_UM = 0.35 + 0.48
"""Strip width plus the poly resistor spacing (poly.9, 0.48 um)."""
XHIGH_PO_HEADS_UM = 2 * (2.0 + 0.06)
"""Contact heads at both ends (the PDK pcell's 2.0 um slot and 0.06 um enclosure)."""
XHIGH_PO_W_EFF_UM = 0.35 - 0.056 - 0.0672 * (0.69 - 0.35)
"""The model's effective width of a 0.35 um strip (models_resistors.spice, res_xhigh_po)."""


def mos_area_um2(w_um: float, l_um: float) -> float:
    """A transistor: its width times its gate length plus contacted source and drain."""
    return w_um * (l_um + 2 * CONTACTED_DIFFUSION_UM)


def mim_area_um2(farads: float) -> float:
    """A MIM capacitor of ``farads``."""
    return farads / MIM_F_PER_UM2


def poly_area_um2(ohms: float) -> float:
    """An xhigh_po resistor of ``ohms`` drawn as one 0.35 um strip (its heads' 2 x 112 Ohm
    neglected), at the resistor pitch."""
    length = ohms * XHIGH_PO_W_EFF_UM / XHIGH_PO_OHM_PER_SQ
    return (length + XHIGH_PO_HEADS_UM) * XHIGH_PO_PITCH_UM


# --- a subcircuit's area, read from its library text ---


def model_library_dir(required: tuple[str, ...] = ("codesign_devices.lib",)) -> Path:
    """The folder of the SPICE model libraries (netlists/*.lib): the repository's netlists/, or
    its copy inside an installed wheel (codesign/_netlists)."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_netlists", package.parent / "netlists"):
        if all((candidate / name).is_file() for name in required):
            return candidate
    raise CodesignError(
        f"SPICE model libraries {required} not found next to {package}; "
        "reinstall codesign (pip install -e . from the repository)"
    )


def part_area(library: str, name: str, **params: float) -> Area:
    """:func:`subckt_area` of subcircuit ``name`` in the model library file ``library``."""
    return subckt_area(model_library_dir() / library, name, **params)

_SUFFIX = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "m": 1e-3, "u": 1e-6, "n": 1e-9,
           "p": 1e-12, "f": 1e-15}
_NUMBER = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)(meg|[tgkmunpf])?[a-z]*$")


def spice_number(text: str) -> float | None:
    """A SPICE number with its scale suffix (1meg, 0.5u, 3p), None if it is not one."""
    match = _NUMBER.match(text.strip().lower())
    if match is None:
        return None
    return float(match.group(1)) * _SUFFIX.get(match.group(2) or "", 1.0)


class Subckt(NamedTuple):
    pins: tuple[str, ...]
    params: dict[str, str]
    lines: tuple[str, ...]


def _logical_lines(text: str) -> list[str]:
    out: list[str] = []
    for raw in text.lower().splitlines():
        line = raw.split(";")[0].rstrip()
        if not line.strip() or line.lstrip().startswith("*"):
            continue
        if line.lstrip().startswith("+") and out:
            out[-1] += " " + line.lstrip()[1:]
        else:
            out.append(line.strip())
    return out


def _assignments(tokens: list[str]) -> dict[str, str]:
    text = " ".join(tokens).replace(" = ", "=").replace("= ", "=").replace(" =", "=")
    return dict(token.split("=", 1) for token in text.split() if "=" in token)


@lru_cache(maxsize=16)
def subckts(path: Path) -> dict[str, Subckt]:
    """The subcircuits of a library file (and of the files it includes), by name."""
    found: dict[str, Subckt] = {}
    current: tuple[str, list[str], dict[str, str]] | None = None
    body: list[str] = []
    for line in _logical_lines(Path(path).read_text()):
        words = line.split()
        if words[0] == ".include":
            found.update(subckts((Path(path).parent / words[1].strip('"')).resolve()))
        elif words[0] == ".subckt":
            split = next((k for k, w in enumerate(words) if "=" in w or w == "params:"),
                         len(words))
            params = _assignments([w for w in words[split:] if w != "params:"])
            current, body = (words[1], words[2:split], params), []
        elif words[0] == ".ends" and current is not None:
            found[current[0]] = Subckt(tuple(current[1]), current[2], tuple(body))
            current = None
        elif current is not None and not words[0].startswith("."):
            body.append(line)
    return found


def _evaluate(text: str, scope: dict[str, float]) -> float:
    text = text.strip().strip("'")
    number = spice_number(text)
    if number is not None:
        return number
    expression = text.strip("{}")
    for word in sorted(set(re.findall(r"[a-z_][a-z_0-9]*", expression)), key=len, reverse=True):
        if word in scope:
            expression = re.sub(rf"\b{word}\b", repr(scope[word]), expression)
    expression = re.sub(r"(\d)(meg|[tgkmunpf])\b",
                        lambda m: f"{m.group(1)}*{_SUFFIX[m.group(2)]!r}", expression)
    return float(eval(expression, {"__builtins__": {}},  # noqa: S307 - our own library text
                      {"floor": math.floor, "sqrt": math.sqrt, "max": max, "min": min}))


class Area(NamedTuple):
    """A subcircuit's drawn area [um^2] and what in it is not a drawable device."""

    um2: float
    behavioural: tuple[str, ...]
    """Elements with no device behind them (sources, B-sources, switch models)."""
    transistors: int = 0
    """Its sky130 transistors, nested subcircuits' included (a device's ``m`` counted)."""


def subckt_area(library: Path, name: str, **params: float) -> Area:
    """The drawn area of subcircuit ``name`` of ``library`` at ``params``: its sky130
    transistors (mos_area_um2), xhigh_po strips, capacitors as MIM (mim_area_um2), resistors as
    xhigh_po strips (poly_area_um2), nested subcircuits; sources and behavioural elements are
    listed, not counted."""
    table = subckts(Path(library).resolve())
    return _area(table, name, {k.lower(): float(v) for k, v in params.items()}, name)


def _area(table: dict[str, Subckt], name: str, given: dict[str, float], path: str) -> Area:
    sub = table[name]
    scope: dict[str, float] = {}
    for key, value in sub.params.items():
        scope[key] = given[key] if key in given else _evaluate(value, scope)
    total, behavioural, transistors = 0.0, [], 0
    for line in sub.lines:
        words = line.split()
        kind = words[0][0]
        if kind == "x":
            split = next((k for k, w in enumerate(words) if "=" in w), len(words))
            model = words[split - 1]
            args = {k: _evaluate(v, scope) for k, v in _assignments(words[split:]).items()}
            if "nfet" in model or "pfet" in model:
                total += mos_area_um2(args["w"], args["l"]) * args.get("m", 1.0)
                transistors += round(args.get("m", 1.0))
            elif "res_xhigh_po" in model:
                total += (args["l"] + XHIGH_PO_HEADS_UM) * XHIGH_PO_PITCH_UM
            elif model in table:
                inner = _area(table, model, args, f"{path}.{words[0]}")
                total += inner.um2
                behavioural += inner.behavioural
                transistors += inner.transistors
            else:
                behavioural.append(f"{path}.{words[0]} ({model})")
        elif kind in "rc":
            value = words[3] if len(words) > 3 else "0"
            value = value.split("=", 1)[1] if value.startswith("r=") else value
            ohms_or_farads = _evaluate(value, scope)
            total += poly_area_um2(ohms_or_farads) if kind == "r" else \
                mim_area_um2(ohms_or_farads)
        else:
            behavioural.append(f"{path}.{words[0]}")
    return Area(total, tuple(behavioural), transistors)
