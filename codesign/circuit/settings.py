"""The one way settings become a circuit config: a preset (a neuron level's whole circuit, or a
circuit config JSON) changed by dotted overrides, each checked against its field's type.

Every caller builds its circuit here: the command line (options and ``--set KEY=VALUE``), the
calibration specs' ``[circuit]`` and ``[sweep]`` tables, the design space and the loop.

A setting is named by its dotted path in :class:`~codesign.circuit.config.CircuitConfig`
(``neuron.opamp.dc_gain``, ``array.tile_rows``, ``converters.adc_bits``), or by its last part
alone where that is unique (``dc_gain``, ``tile_rows``, ``adc_bits``: :data:`ALIASES`, derived
from the config's fields, so a field added to a config is a setting at once). Nested tables
(TOML ``[circuit.array]``) are the same as dotted keys. ``neuron`` (or ``level``) names the
preset. Values are read by codesign.schema.from_json: a wrong type, an unknown key or a value
out of range is one InputError naming the setting.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from codesign.circuit.config import CircuitConfig, circuit_config, with_cell
from codesign.errors import CodesignError, InputError
from codesign.schema import from_json, read_json

LEVEL_KEYS = ("neuron", "level")
"""Keys that name the preset: a neuron level (NEURON_LEVELS)."""
FIXED = ("neuron.level",)
"""Fields set by the preset alone (a level is chosen with ``neuron``, not edited)."""


def _dataclass_type(tp):
    """The dataclass in ``tp`` (itself, or the one of an Optional), else None."""
    if dataclasses.is_dataclass(tp):
        return tp
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return args[0] if len(args) == 1 and dataclasses.is_dataclass(args[0]) else None


def _leaves(cls, prefix: str = "") -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    out: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        path = f"{prefix}{f.name}"
        inner = _dataclass_type(hints[f.name])
        if inner is not None:
            out.update(_leaves(inner, f"{path}."))
        elif path not in FIXED:
            out[path] = hints[f.name]
    return out


@lru_cache(maxsize=1)
def setting_types() -> dict[str, object]:
    """Every settable dotted path of CircuitConfig and its type."""
    return _leaves(CircuitConfig)


@lru_cache(maxsize=1)
def aliases() -> dict[str, str]:
    """Last part of a path -> the path, for the last parts that name one field only."""
    count: dict[str, list[str]] = {}
    for path in setting_types():
        count.setdefault(path.rsplit(".", 1)[-1], []).append(path)
    return {name: paths[0] for name, paths in count.items() if len(paths) == 1}


ALIASES = aliases()


def resolve(key: str, where: str = "circuit setting") -> str:
    """The dotted path of ``key`` (a path or a unique last part); InputError otherwise."""
    if not isinstance(key, str):
        raise InputError(f"{where} names must be text, got {key!r}")
    if key in setting_types():
        return key
    if key in ALIASES:
        return ALIASES[key]
    examples = "neuron.opamp.dc_gain, array.levels, mapping.v_fs, converters.adc_bits"
    raise InputError(f"unknown {where} {key!r}; use a dotted path such as {examples} (every "
                     "field of codesign.CircuitConfig), or a unique field name such as dc_gain")


def flatten(table: Mapping, prefix: str = "", where: str = "circuit settings") -> dict:
    """Nested tables as dotted keys: {"array": {"levels": 2}} -> {"array.levels": 2}."""
    if not isinstance(table, Mapping):
        raise InputError(f"{where} must be a table of settings, got {type(table).__name__}")
    out = {}
    for key, value in table.items():
        if not isinstance(key, str):
            raise InputError(f"{where} names must be text, got {key!r}")
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{path}.", where))
        else:
            out[path] = value
    return out


def canonical(changes: Mapping, where: str = "circuit setting") -> dict:
    """``changes`` (nested or dotted, aliases allowed) with every key its dotted path; the
    level key, if any, as ``neuron``."""
    out: dict = {}
    for key, value in flatten(changes, where=f"{where}s").items():
        path = "neuron" if key in LEVEL_KEYS else resolve(key, where)
        if path in out:
            raise InputError(f"{where} {path} is given twice (as {key!r} and another name)")
        out[path] = value
    return out


def _apply(obj, changes: dict, prefix: str, where: str):
    direct: dict = {}
    nested: dict[str, dict] = {}
    for path, value in changes.items():
        head, _, rest = path.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    hints = typing.get_type_hints(type(obj))
    updates = {name: from_json(hints[name], value, f"{where} {prefix}{name}")
               for name, value in direct.items()}
    for name, sub in nested.items():
        child = getattr(obj, name)
        if child is None:
            raise InputError(f"{where}s {sorted(f'{prefix}{name}.{k}' for k in sub)} do not "
                             f"apply: this circuit has no {prefix}{name} (e.g. the CMOS "
                             "design of the cmos level only)")
        updates[name] = _apply(child, sub, f"{prefix}{name}.", where)
    try:
        return dataclasses.replace(obj, **updates)
    except CodesignError as exc:
        raise InputError(f"{where}s {sorted(f'{prefix}{k}' for k in changes)}: {exc}") from None


def override(config: CircuitConfig, changes: Mapping | None,
             where: str = "circuit setting") -> CircuitConfig:
    """``config`` with dotted ``changes`` applied (the level key is not allowed here: a level
    is a preset, see :func:`build_circuit`)."""
    changes = canonical(changes or {}, where)
    if "neuron" in changes:
        raise InputError(f"{where} neuron (the level) picks a preset; it cannot change a "
                         "built circuit: start from build_circuit(level, ...)")
    if not changes:
        return config
    if not isinstance(config, CircuitConfig):
        raise InputError(f"expected a CircuitConfig, got {type(config).__name__}")
    if "array.cell" in changes:  # a cell brings its window: with_cell, then the rest
        cell = changes.pop("array.cell")
        if not isinstance(cell, str):
            raise InputError(f"{where} array.cell must be a cell's name, got {cell!r}")
        config = with_cell(config, cell)
    return _apply(config, changes, "", where) if changes else config


def build_circuit(base: str | CircuitConfig = "opamp", changes: Mapping | None = None,
                  where: str = "circuit setting") -> CircuitConfig:
    """The circuit of a preset (a neuron level's name, or a CircuitConfig) with ``changes``
    (a ``neuron`` key among them picks the level instead of ``base``)."""
    changes = canonical(changes or {}, where)
    if "neuron" in changes:
        level = changes.pop("neuron")
        if not isinstance(level, str):
            raise InputError(f"{where} neuron must be a level name, got {level!r}")
        base = level
    if isinstance(base, str):
        base = circuit_config(base)
    elif not isinstance(base, CircuitConfig):
        raise InputError(f"a circuit preset is a neuron level name or a CircuitConfig, got "
                         f"{type(base).__name__}")
    return override(base, changes, where)


def read_circuit(path: Path) -> CircuitConfig:
    """A circuit config from a JSON file of its fields (as ``codesign design`` writes)."""
    return from_json(CircuitConfig, read_json(path), str(path))


def parse_assignment(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` of ``--set`` as (key, value): the value read as JSON where it is JSON
    (numbers, true/false, lists), as text otherwise."""
    key, sep, raw = str(text).partition("=")
    if not sep or not key.strip():
        raise InputError(f"--set {text!r} is not KEY=VALUE; e.g. --set neuron.opamp.gbw_hz=1e7")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def assignments(texts: tuple[str, ...] | list[str]) -> dict:
    """Several ``--set KEY=VALUE`` as one mapping (a key given twice is an error)."""
    out: dict = {}
    for text in texts:
        key, value = parse_assignment(text)
        if key in out:
            raise InputError(f"--set {key} is given twice")
        out[key] = value
    return out
