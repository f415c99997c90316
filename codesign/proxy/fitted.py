"""What a proxy parameter set was fitted on, and a warning where it is used on another circuit.

A parameter file's provenance (``codesign calibrate`` writes it) records the circuit settings
of its base point (``settings``: the spec's [circuit] table, e.g. {"neuron": "cmos"}) and its
probe cores (``probes``: sizes, spectral norms). The proxy's neuron parameters (gain, rails,
activation shape, offsets, tau, dead time) were measured on that one circuit: its neuron (level,
op-amp, CMOS bias currents, tau), its mapping (conductance window, full scale) and its supplies.
The crossbar itself (weights, cell, levels, wires, mismatch) enters the proxy exactly from the
compiled circuit, so it is not part of the range. On a circuit whose neuron, mapping or supplies
differ, the proxy's error was never measured: the shipped CMOS set at 0.1x currents
(scale_currents) is 3.3e-2 FS off, against about 1e-3 FS on its own circuit. A set without such
a record (a re-fit inside the loop or a design search) has no range to check.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from codesign.circuit.config import CircuitConfig
from codesign.circuit.settings import build_circuit
from codesign.errors import CodesignError

FITTED_SECTIONS = ("neuron", "mapping", "supplies")
"""The parts of a CircuitConfig the fitted neuron parameters depend on."""
REL_TOL = 1e-6
"""Relative difference below which two numeric settings are the same."""
SHOWN = 4
LEVEL = "neuron.level"
"""Named first where it differs: a set of another neuron level."""
"""Differences named in the warning's one line (the rest are counted)."""


class ProxyRangeWarning(UserWarning):
    """A proxy parameter set used on a circuit other than the one it was fitted on: its error
    there was never measured (one line: the differing settings and the fix)."""


def _leaves(value, prefix: str) -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(_leaves(item, f"{prefix}.{key}"))
        return out
    return {prefix: value}


def flat_settings(config: CircuitConfig) -> dict[str, object]:
    """The dotted settings of ``config`` the fitted parameters depend on (FITTED_SECTIONS)."""
    data = asdict(config)
    out: dict[str, object] = {}
    for section in FITTED_SECTIONS:
        out.update(_leaves(data[section], section))
    return out


def _same(a, b) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return a == b or math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)
    return a == b


def _show(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _difference(path: str, fitted, used) -> str:
    text = f"{path} {_show(used)} (fitted {_show(fitted)}"
    if isinstance(used, float) and isinstance(fitted, float) and fitted > 0 and used > 0:
        text += f", x{used / fitted:.3g}"
    return text + ")"


@dataclass(frozen=True)
class FittedRange:
    """The circuit and probe cores a parameter set was fitted on."""

    circuit: CircuitConfig
    """The circuit of the calibration's base point (its recorded settings on this version's
    defaults)."""
    settings: dict
    """The recorded settings themselves (the spec's [circuit] table)."""
    sizes: tuple[int, ...] = ()
    """Core sizes n of the probes."""
    rho: tuple[float, ...] = ()
    """Spectral norms ||W||_2 of the probe cores."""
    spec: str = ""
    """The calibration spec that made the set (where recorded)."""

    @classmethod
    def from_provenance(cls, provenance: dict | None) -> FittedRange | None:
        """The range recorded in a parameter file's provenance; None where it records no
        circuit (or one this version cannot build)."""
        settings = (provenance or {}).get("settings")
        if not isinstance(settings, dict):
            return None
        try:
            circuit = build_circuit("opamp", settings, "fitted circuit setting")
        except CodesignError:
            return None
        probes = provenance.get("probes") if isinstance(provenance.get("probes"), dict) else {}
        spec = provenance.get("spec")
        return cls(circuit, dict(settings), tuple(probes.get("sizes") or ()),
                   tuple(probes.get("rho") or ()), spec if isinstance(spec, str) else "")

    def differences(self, config: CircuitConfig) -> tuple[str, ...]:
        """Each setting of ``config`` (FITTED_SECTIONS) that differs from the fitted circuit's,
        as 'path value (fitted value, xratio)'."""
        fitted, used = flat_settings(self.circuit), flat_settings(config)
        return tuple(_difference(path, fitted.get(path), used.get(path))
                     for path in sorted(set(fitted) | set(used), key=lambda k: (k != LEVEL, k))
                     if not _same(fitted.get(path), used.get(path)))


def range_message(what: str, fitted: FittedRange, differences: tuple[str, ...]) -> str:
    """One line: where ``what`` was fitted, how this circuit differs, and the fix."""
    shown = "; ".join(differences[:SHOWN])
    more = f"; and {len(differences) - SHOWN} more" if len(differences) > SHOWN else ""
    where = f" ({fitted.spec})" if fitted.spec else ""
    return (f"{what} was fitted on the {fitted.circuit.neuron.level} circuit{where}, and this "
            f"circuit differs in {len(differences)} setting{'s' * (len(differences) != 1)}: "
            f"{shown}{more}; the proxy's error here was never measured: calibrate this circuit "
            "(`codesign calibrate` with these settings) or use a set fitted to it")


def check_range(provenance: dict | None, config: CircuitConfig, what: str = "the proxy",
                stacklevel: int = 2) -> tuple[str, ...]:
    """The settings of ``config`` outside the range a parameter set was fitted on (its
    ``provenance``), warned as one ProxyRangeWarning; () where they match or nothing is
    recorded."""
    fitted = FittedRange.from_provenance(provenance)
    if fitted is None:
        return ()
    differences = fitted.differences(config)
    if differences:
        warnings.warn(range_message(what, fitted, differences), ProxyRangeWarning,
                      stacklevel=stacklevel + 1)
    return differences


@contextlib.contextmanager
def range_warnings_to(say: Callable[[str], None]) -> Iterator[None]:
    """Inside, each ProxyRangeWarning is said at once as one line, 'warning: ...' (the command
    line passes click.echo to stderr), every time it is raised; other warnings as before."""
    with warnings.catch_warnings():
        previous = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None) -> None:
            if issubclass(category, ProxyRangeWarning):
                say(f"warning: {message}")
            else:
                previous(message, category, filename, lineno, file, line)

        warnings.simplefilter("always", ProxyRangeWarning)
        warnings.showwarning = show
        yield
