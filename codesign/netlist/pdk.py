"""The sky130 FET models with their bins shared by every instance (``models_fet_shared.spice``).

The PDK's ``models_fet.spice`` defines each FET as a subcircuit holding its 28-63 size bins as
``.model`` cards. ngspice copies a subcircuit's models into every instance, so each transistor
carries all its bins: about 1 MB of memory and 250 expanded netlist lines per instance, and a
chip of 8,000 transistors spends 12 minutes expanding its netlist for one minute of analysis.
Only one model parameter depends on the instance: the source/drain sheet resistance
``rsh = {swx_nrds}`` (a function of w and nf). With ``rdsmod = 0`` and ``rgeomod = 0`` BSIM4
uses rsh only as rsh x nrs and rsh x nrd, so moving the factor onto the instance
(``nrs = {nrs*swx_nrds}``, ``rsh = 1``) leaves every device equation as it was and lets the
bins move out of the subcircuit, to the top level, under the device's own name
(``sky130_fd_pr__nfet_01v8__nshort_model.12``); ngspice bins them by size as before, and the
per-instance mismatch (``delvto``, drawn in the subcircuit's ``.param``) stays per instance.

``python -m codesign.netlist.pdk`` writes the file from the PDK's; `tests/test_pdk.py` checks
that it is current and that every device draws the same currents from both, in ngspice.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

SHARED_FETS = ("sky130_fd_pr__nfet_01v8", "sky130_fd_pr__nfet_01v8_lvt",
               "sky130_fd_pr__pfet_01v8", "sky130_fd_pr__pfet_01v8_lvt",
               "sky130_fd_pr__pfet_01v8_hvt")
"""The FETs codesign's parts draw (the 1.8 V core devices); the file holds these only."""
SOURCE = "sky130/models_fet.spice"
SHARED = "sky130/models_fet_shared.spice"
_RSH = "rsh = {swx_nrds}"
_SQUARES = "nrd = {nrd} nrs = {nrs}"
_HEADER = """\
* sky130 FET models, bins shared (codesign): derived from models_fet.spice of the SkyWater PDK
* (Apache-2.0, copyright 2020-2022 The SkyWater PDK Authors; see LICENSE) by
* `python -m codesign.netlist.pdk` (codesign/netlist/pdk.py says how and why). Changes: only
* the subcircuits {names};
* each one's .model cards moved to the top level under the name <subcircuit>__<model>, their
* rsh = {{swx_nrds}} set to 1 and the factor moved onto the instance's nrd and nrs. Do not edit.
"""


def _blocks(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Each subcircuit's first and last line index, by name."""
    found, start, name = {}, None, ""
    for i, line in enumerate(lines):
        words = line.split()
        if words and words[0].lower() == ".subckt":
            start, name = i, words[1]
        elif words and words[0].lower() == ".ends" and start is not None:
            found[name] = (start, i)
            start = None
    return found


def _share(name: str, block: list[str]) -> tuple[list[str], list[str]]:
    """The subcircuit ``block`` without its models, and its models renamed for the top level."""
    body, models, in_model, base = [], [], False, None
    local, in_param = {"mult"}, False  # the subcircuit's own parameters
    for line in block:
        words = line.split()
        if words and (words[0].lower() == ".param" or (in_param and line.startswith("+"))):
            local |= set(re.findall(r"(\w+)\s*=", re.sub(r"\{[^}]*\}", "", line)))
            in_param = True
        elif words and not line.startswith("*"):
            in_param = False
    for line in block:
        words = line.split()
        if words and words[0].lower() == ".model":
            model, _, bin_ = words[1].partition(".")
            if base not in (None, model):
                raise ValueError(f"{name}: models {base} and {model}; expected one binned model")
            base, in_model = model, True
            models.append(line.replace(f" {words[1]} ", f" {name}__{words[1]} ", 1))
            continue
        if in_model and line.startswith("+"):
            shared = line.replace(_RSH, "rsh = 1")
            for expr in re.findall(r"\{([^}]*)\}", shared):
                used = set(re.findall(r"[A-Za-z_]\w*", expr)) & local
                if used:
                    raise ValueError(f"{name}: a model parameter depends on {sorted(used)}")
            models.append(shared)
            continue
        in_model = False
        if line.strip():
            body.append(line)
    if base is None:
        raise ValueError(f"{name} holds no models")
    devices = [i for i, line in enumerate(body) if line[:1] in "Mm" and f" {base} " in line]
    if len(devices) != 1 or _SQUARES not in body[devices[0]]:
        raise ValueError(f"{name}: expected one device line using {base} with '{_SQUARES}'")
    line = body[devices[0]].replace(f" {base} ", f" {name}__{base} ", 1)
    body[devices[0]] = line.replace(_SQUARES, "nrd = {nrd*swx_nrds} nrs = {nrs*swx_nrds}")
    return body, models


def shared_fet_models(text: str, names: tuple[str, ...] = SHARED_FETS) -> str:
    """The subcircuits ``names`` of the PDK's models_fet.spice ``text``, their bins shared."""
    lines = text.splitlines()
    blocks = _blocks(lines)
    missing = [n for n in names if n not in blocks]
    if missing:
        raise ValueError(f"not in the model file: {', '.join(missing)}")
    out = [_HEADER.format(names=", ".join(names))]
    for name in names:
        first, last = blocks[name]
        body, models = _share(name, lines[first:last + 1])
        out += ["", *models, "", *body]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--netlists", type=Path, default=Path(__file__).parents[2] / "netlists",
                        help="the folder holding sky130/models_fet.spice")
    args = parser.parse_args(argv)
    text = (args.netlists / SOURCE).read_text()
    (args.netlists / SHARED).write_text(shared_fet_models(text))
    print(args.netlists / SHARED)


if __name__ == "__main__":
    main()
