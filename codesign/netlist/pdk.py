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

``python -m codesign.netlist.pdk`` writes the file from the PDK's (its text is made by
codesign.netlist.spice.shared_fet_models, where all SPICE text is written); `tests/test_pdk.py`
checks that it is current and that every device draws the same currents from both, in ngspice.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from codesign.netlist.spice import SHARED_FETS, shared_fet_models

__all__ = ["SHARED", "SHARED_FETS", "SOURCE", "main", "shared_fet_models"]

SOURCE = "sky130/models_fet.spice"
SHARED = "sky130/models_fet_shared.spice"


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
