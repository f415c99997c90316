"""Typed results on disk: frozen dataclasses written to JSON and read back by one schema, with a
version, so a reader can say clearly when a file comes from another codesign.

``write_result(path, obj, kind)`` writes ``obj``'s fields beside a header (schema name, schema
version, codesign version); ``read_result(path, cls, kind)`` checks the header and rebuilds
``cls`` field by field from its type hints (nested dataclasses, enums, optionals, lists, tuples,
dicts; "inf" / "-inf" / null for non-finite floats). Any mismatch is one InputError naming the
file, the field and the fix. ``from_json`` alone turns tables (TOML spec sections) into configs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from enum import Enum
from pathlib import Path

from codesign._version import __version__
from codesign.choices import Choice
from codesign.errors import CodesignError, InputError
from codesign.files import jsonable, write_json

SCHEMA_VERSION = 2
"""Version of the result files this codesign writes. 1: the untagged files written before
results were typed (codesign 0.1)."""
HEADER = ("schema", "schema_version", "codesign_version")


def _name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _union(tp, data, where: str):
    args = typing.get_args(tp)
    if data is None and type(None) in args:
        return None
    options = [a for a in args if a is not type(None)]
    errors = []
    for option in options:
        try:
            return from_json(option, data, where)
        except InputError as exc:
            errors.append(str(exc))
    raise InputError(errors[0] if len(errors) == 1 else
                     f"{where}: expected one of {', '.join(map(_name, options))}, got {data!r:.60}")


def _float(data, where: str) -> float:
    if data is None:
        return math.nan
    if data in ("inf", "-inf"):
        return float(data)
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise InputError(f"{where}: expected a number, got {data!r:.60}")
    return float(data)


def _dataclass(cls, data, where: str):
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a table of {cls.__name__} fields, got "
                         f"{type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InputError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
    missing = [name for name, f in known.items() if name not in data
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise InputError(f"{where}: missing keys {missing}")
    values = {name: from_json(hints[name], value, f"{where}.{name}")
              for name, value in data.items()}
    try:
        return cls(**values)
    except CodesignError as exc:
        raise InputError(f"{where}: {exc}") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"{where}: {exc}") from None


def from_json(tp, data, where: str = "value"):
    """``data`` (parsed JSON or TOML) as an instance of the type ``tp``; InputError naming
    ``where`` and the field when it does not fit."""
    origin = typing.get_origin(tp)
    if tp is typing.Any:
        return data
    if origin is typing.Union or isinstance(tp, types.UnionType):
        return _union(tp, data, where)
    if dataclasses.is_dataclass(tp):
        return _dataclass(tp, data, where)
    if isinstance(tp, type) and issubclass(tp, Choice):
        return tp.parse(data, where)
    if isinstance(tp, type) and issubclass(tp, Enum):
        raise TypeError(f"enum {tp} must derive from codesign.choices.Choice")
    if tp is float:
        return _float(data, where)
    if tp is bool or tp is int or tp is str:
        if type(data) is not tp:
            raise InputError(f"{where}: expected {tp.__name__}, got {data!r:.60}")
        return data
    if origin in (list, tuple):
        if not isinstance(data, list | tuple):
            raise InputError(f"{where}: expected a list, got {type(data).__name__}")
        args = typing.get_args(tp)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(data):
                raise InputError(f"{where}: expected {len(args)} values, got {len(data)}")
            return tuple(from_json(a, v, f"{where}[{k}]")
                         for k, (a, v) in enumerate(zip(args, data, strict=True)))
        items = [from_json(args[0], v, f"{where}[{k}]") for k, v in enumerate(data)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a table, got {type(data).__name__}")
        _, value_type = typing.get_args(tp)
        return {str(k): from_json(value_type, v, f"{where}.{k}") for k, v in data.items()}
    raise TypeError(f"from_json cannot read type {tp!r}")


def write_result(path: Path, obj, kind: str) -> Path:
    """Write the dataclass ``obj`` as a ``codesign.KIND`` result file (atomically)."""
    return write_json(path, {"schema": f"codesign.{kind}", "schema_version": SCHEMA_VERSION,
                             "codesign_version": __version__, **jsonable(obj)})


def read_json(path: Path) -> dict:
    """The JSON object in ``path``; InputError if it cannot be read or is not an object."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise InputError(f"cannot read {path} ({reason}); it is not a JSON file codesign "
                         "wrote") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} holds {type(data).__name__}, not a JSON object")
    return data


def read_result(path: Path, cls, kind: str):
    """The ``cls`` in a result file written by :func:`write_result` with the same ``kind``."""
    data = read_json(path)
    schema, version = data.get("schema"), data.get("schema_version", 1)
    if schema not in (None, f"codesign.{kind}"):
        raise InputError(f"{path} holds a {schema!r} result, not codesign.{kind}")
    if version != SCHEMA_VERSION:
        written = data.get("codesign_version", "0.1")
        raise InputError(f"{path} was written by codesign {written} (results schema {version}); "
                         f"this is codesign {__version__} (schema {SCHEMA_VERSION}): re-run the "
                         "command that wrote it, or read it with that codesign version")
    body = {k: v for k, v in data.items() if k not in HEADER}
    return from_json(cls, body, str(path))
