"""Every reader of user files, under Hypothesis: cores (.npz), checkpoints, inputs (.npy),
calibration specs (TOML), proxy parameter files (JSON) and run folders (``codesign report``).
Whatever the bytes, a reader returns a valid object or raises a CodesignError (one line at the
CLI): never another exception."""

import dataclasses
import io
import json
import math
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesign.calibration.spec import load_spec
from codesign.circuit.config import CircuitConfig, circuit_config
from codesign.circuit.settings import ALIASES, build_circuit, flatten, resolve, setting_types
from codesign.deq.checkpoint import FORMAT, load_checkpoint, load_inputs, load_npz_core
from codesign.deq.model import DEQConfig, HybridDEQ
from codesign.design.search import open_study
from codesign.design.space import DesignSpace
from codesign.errors import CodesignError
from codesign.files import jsonable
from codesign.proxy.params import load_params, nominal_params, save_params
from codesign.report import write_report
from codesign.results.calibration import RefitResult
from codesign.results.loop import (
    BaselineRow,
    LoopSettings,
    LoopSummary,
    ModelRun,
    RoundRecord,
)
from codesign.schema import SCHEMA_VERSION
from codesign.tasks.base import AcceptanceItem, Metric, TaskMetrics
from codesign.tasks.darcy import read_fields
from codesign.tasks.physics import PROFILE

EXAMPLES = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=12)
           | st.floats(allow_nan=True, allow_infinity=True))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3), max_leaves=8)


def read(reader, data: bytes | str, suffix: str):
    """``reader`` on a file holding ``data``: a value, or None after a CodesignError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"file{suffix}"
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        try:
            return reader(path)
        except CodesignError as exc:
            assert "\n" not in str(exc).strip(), str(exc)
            return None


# --- arrays -------------------------------------------------------------------------------

dtypes = st.sampled_from(["<f8", "<f4", "<i4", "|b1", "<c16", "<U3"])
shapes = st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple)


@st.composite
def arrays(draw):
    dtype, shape = draw(dtypes), draw(shapes)
    count = math.prod(shape)
    if dtype == "<U3":
        return np.array(draw(st.lists(st.text(max_size=3), min_size=count, max_size=count)),
                        dtype=dtype).reshape(shape)
    values = draw(st.lists(st.floats(-4, 4) | st.sampled_from([np.nan, np.inf]),
                           min_size=count, max_size=count))
    with np.errstate(invalid="ignore"):
        return np.array(values, dtype="<f8").reshape(shape).astype(dtype)


def npz_bytes(members: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **members)
    return buffer.getvalue()


@st.composite
def core_files(draw):
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.binary(max_size=200))
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 100)))
    members = {"W": rng.normal(size=(n, n)) * 0.2, "U": rng.normal(size=(n, m)),
               "b": rng.normal(size=n)}
    for key in draw(st.lists(st.sampled_from(["W", "U", "b", "activation", "extra"]),
                             max_size=3)):
        members[key] = draw(arrays())
    if draw(st.booleans()):
        members.pop(draw(st.sampled_from(["W", "U", "b"])))
    if draw(st.booleans()):
        members["activation"] = np.array(draw(st.sampled_from(["tanh", "relu", "", "identity"])))
    return npz_bytes(members)


@EXAMPLES
@given(core_files())
def test_core_reader(data):
    core = read(load_npz_core, data, ".npz")
    if core is not None:
        assert np.isfinite(core.W).all() and core.W.shape == (core.n, core.n)


@EXAMPLES
@given(st.one_of(st.binary(max_size=200), arrays().map(
    lambda a: _npy(a)), st.just(npz_bytes({"e": np.zeros((2, 2))}))))
def test_inputs_reader(data):
    def reader(path):
        values = load_inputs(path)
        from codesign.deq.weights import CoreWeights

        core = CoreWeights(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2))
        return core.check_inputs(values)

    e = read(reader, data, ".npy")
    if e is not None:
        assert e.shape[1] == 2 and np.isfinite(e).all()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


# --- checkpoints --------------------------------------------------------------------------

CONFIG = DEQConfig(in_features=3, core_inputs=2, core_size=4, out_features=2)
STATE = {k: v.clone() for k, v in HybridDEQ(CONFIG, torch.Generator().manual_seed(0))
         .state_dict().items()}


@st.composite
def checkpoints(draw):
    if draw(st.integers(0, 5)) == 0:
        return draw(st.binary(max_size=200))
    config = jsonable(CONFIG.to_dict())
    for key in draw(st.lists(st.sampled_from([*config, "unknown"]), max_size=2)):
        config[key] = draw(scalars)
    state = {k: v.clone() for k, v in STATE.items()}
    for key in draw(st.lists(st.sampled_from([*state, "extra"]), max_size=2)):
        state[key] = draw(st.sampled_from([torch.zeros(3), torch.full((4, 4), math.nan),
                                           torch.zeros(4, 4, dtype=torch.int64), 1.5]))
    payload = {"format": draw(st.sampled_from([FORMAT, FORMAT, "other"])),
               "format_version": draw(st.sampled_from([1, 1, 0, 2, "1"])),
               "task": draw(st.sampled_from(["digits", 3, None])),
               "metrics": draw(st.sampled_from([{}, {"test_metric": 0.5}, [1]])),
               "config": config, "state_dict": state}
    for key in draw(st.lists(st.sampled_from(list(payload)), max_size=1)):
        payload.pop(key)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


@EXAMPLES
@given(checkpoints())
def test_checkpoint_reader(data):
    ckpt = read(load_checkpoint, data, ".pt")
    if ckpt is not None:
        ckpt.model(torch.zeros(1, ckpt.model.config.in_features))


# --- specs --------------------------------------------------------------------------------

def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


toml_scalars = (st.booleans() | st.integers(-3, 70000) | st.text(max_size=6)
                | st.floats(allow_nan=True, allow_infinity=True))
SPEC_KEYS = {
    "circuit": ["neuron", "n", "dc_gain", "rail_fs", "levels", "g_min_s", "v_fs", "width"],
    "probes": ["sizes", "rho", "cores", "holdout_cores", "samples", "transients", "instances",
               "mc_samples", "seed", "size"],
    "sweep": ["dc_gain", "n", "mismatch_sigma", "levels", "tau_s"],
    "fit": ["adam_steps", "lr", "lbfgs_steps", "tran_steps"],
}


@st.composite
def specs(draw):
    if draw(st.integers(0, 6)) == 0:
        return draw(st.text(max_size=60))
    lines = [f"name = {toml_value(draw(st.sampled_from(['ok', '../up', 'a b', 'x'])))}"]
    for table, keys in SPEC_KEYS.items():
        if not draw(st.booleans()):
            continue
        lines.append(f"[{table}]")
        for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
            value = draw(toml_scalars | st.lists(toml_scalars, max_size=3))
            if table == "circuit" and key == "neuron":
                value = draw(st.sampled_from(["ideal", "opamp", "spice", 3]))
            lines.append(f"{key} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


@EXAMPLES
@given(specs())
def test_spec_reader(text):
    spec = read(load_spec, text, ".toml")
    if spec is not None:
        assert spec.points() and ".." not in spec.name


# --- proxy parameter files ----------------------------------------------------------------

PARAMS = jsonable({"format": "codesign.proxy/1",
                   "params": vars(nominal_params(circuit_config("opamp"))), "provenance": {}})


@st.composite
def param_files(draw):
    if draw(st.integers(0, 5)) == 0:
        return draw(st.binary(max_size=100))
    data = json.loads(json.dumps(PARAMS))
    for key in draw(st.lists(st.sampled_from([*data["params"], "gain"]), max_size=3)):
        data["params"][key] = draw(scalars.filter(lambda v: not isinstance(v, float)
                                                  or math.isfinite(v)) | st.just("inf"))
    if draw(st.booleans()):
        data[draw(st.sampled_from(["format", "params", "provenance"]))] = draw(json_values)
    return json.dumps(data)


@EXAMPLES
@given(param_files())
def test_proxy_file_reader(text):
    params = read(lambda p: load_params(p)[0], text, ".json")
    if params is not None:
        with tempfile.TemporaryDirectory() as folder:
            assert load_params(save_params(Path(folder) / "p.json", params))[0] == params


# --- run folders --------------------------------------------------------------------------

def _summary() -> dict:
    metrics = TaskMetrics(0.05, 12)
    run = ModelRun(metrics, metrics, replace(metrics, metric=0.06))
    summary = LoopSummary(
        settings=LoopSettings(task="physics"), profile=PROFILE,
        deq=DEQConfig(in_features=64, out_features=64, core_size=12, core_inputs=8),
        circuit=circuit_config("opamp"), task_source="test", metric=Metric("relative L2 error",
                                                                           False),
        verified_samples=12, ngspice_version="46", backend="process",
        timings_s={"baselines": 1.0, "rounds": 2.0, "total": 3.0},
        baselines=(BaselineRow("digital DEQ (naive)", 10, 1.0, 0.05),), reference=run,
        rounds=(RoundRecord(0, "shipped", 1.0, run, 0.05, True,
                            RefitResult(1e-4, 1e-5, 6, 6, 1.0, 0.1), 2.0),),
        converged=True, acceptance=(AcceptanceItem("x", "1", "<= 2", True),), complete=True)
    return {"schema": "codesign.loop", "schema_version": SCHEMA_VERSION,
            "codesign_version": "test", **jsonable(summary)}


SUMMARY = _summary()


def _paths(value, prefix=()):
    if isinstance(value, dict):
        yield prefix
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from _paths(item, (*prefix, k))
    else:
        yield prefix


PATHS = [p for p in _paths(SUMMARY) if p]
ROUNDS_CSV = ("round,params,train_s,digital,proxy,circuit,reference_digital,within_target,"
              "wall_s\n0,shipped,1.0,0.05,0.05,0.06,0.05,True,2.0\n")
ROUNDS_TEXT = ROUNDS_CSV.replace("0.05,0.05,0.06,0.05", "a,b,c,d")
BASELINES_CSV = "model,parameters,train_s,test_metric\ndigital DEQ (naive),10,1.0,0.05\n"


@st.composite
def run_folders(draw):
    if draw(st.integers(0, 8)) == 0:
        return {"summary.json": draw(st.binary(max_size=80))}
    data = json.loads(json.dumps(SUMMARY))
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=2)):
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()):
                parent[path[-1]] = draw(json_values)
            elif isinstance(parent, dict):
                parent.pop(path[-1], None)
        except (KeyError, IndexError, TypeError):
            pass
    files = {"summary.json": json.dumps(data)}
    for name, valid in (("rounds.csv", ROUNDS_CSV), ("baselines.csv", BASELINES_CSV)):
        choice = draw(st.integers(0, 4))
        if choice:
            files[name] = (valid if choice > 2 else ROUNDS_TEXT if choice == 2
                           else draw(st.text(max_size=40)))
    return files


@EXAMPLES
@given(run_folders(), st.booleans())
def test_run_folder_reader(files, partial):
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder)
        for name, content in files.items():
            (run / name).write_bytes(content if isinstance(content, bytes) else content.encode())
        try:
            pages = write_report(run, partial)
        except CodesignError as exc:
            assert "\n" not in str(exc).strip()
        else:
            assert all(page.is_file() for page in pages)


# --- circuit settings (dotted overrides), design spaces, the design journal, Darcy files -----

SETTING_PATHS = sorted(setting_types())
setting_keys = st.sampled_from([*SETTING_PATHS, *ALIASES, "neuron", "level", "gain",
                                "array.nope", "neuron.cmos.x", ""])
setting_values = (scalars | st.sampled_from(["tt", "ss", "cmos", "differential", "switched"])
                  | st.lists(st.integers(0, 5), max_size=2))


@EXAMPLES
@given(st.sampled_from(["ideal", "opamp", "transistor", "cmos"]),
       st.dictionaries(setting_keys, setting_values, max_size=4), st.booleans())
def test_circuit_settings_reader(level, changes, nested):
    """Any settings give a valid circuit whose fields hold the given values, or one line."""
    if nested:  # the same settings as nested tables, as TOML writes [circuit.array]
        table: dict = {}
        for key, value in changes.items():
            *heads, last = key.split(".") if key else [""]
            node = table
            for head in heads:
                node = node.setdefault(head, {}) if isinstance(node.get(head, {}), dict) else {}
            node[last] = value
        changes = table
    try:
        config = build_circuit(level, changes)
    except CodesignError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(config, CircuitConfig)
    for key, value in flatten(changes).items():
        if key in ("neuron", "level"):
            assert config.neuron.level == value
            continue
        got = config
        for part in resolve(key).split("."):
            got = getattr(got, part)
        assert got == value or (isinstance(value, float) and math.isnan(value)) or \
            (isinstance(got, tuple) and list(got) == value)


space_values = (st.lists(st.floats(-1, 2) | st.integers(-2, 20) | st.text(max_size=2),
                         max_size=3) | scalars | st.dictionaries(st.text(max_size=3), scalars,
                                                                 max_size=2))


@st.composite
def space_files(draw):
    if draw(st.integers(0, 6)) == 0:
        return draw(st.binary(max_size=80))
    lines = [] if draw(st.booleans()) else ["[space]"]
    names = [f.name for f in dataclasses.fields(DesignSpace)] + ["speed"]
    for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
        value = draw(space_values)
        if isinstance(value, dict):
            lines.append(f"{name} = {{ {', '.join(f'{json.dumps(k)} = {toml_value(v)}' for k, v in value.items() if v is not None and not (isinstance(v, float) and not math.isfinite(v)))} }}")  # noqa: E501
        elif value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        else:
            lines.append(f"{name} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


@EXAMPLES
@given(space_files())
def test_design_space_reader(text):
    space = read(DesignSpace.load, text, ".toml")
    if space is not None:
        assert all(0 < low <= high for name in ("current_ratio", "v_fs", "tau_s", "dac_bits",
                                                "adc_bits", "input_headroom_v")
                   for low, high in [getattr(space, name)])
        assert space.levels and all(type(k) is int for k in space.levels)


JOURNAL_LINES = st.sampled_from([
    '{"op_code": 0, "worker_id": "w", "study_name": "design", "directions": [1, 2, 1]}',
    '{"op_code": 4, "worker_id": "w", "study_id": 0, "datetime_start": "2026-01-01T00:00:00"}',
    '{"op_code": 5, "worker_id": "w", "trial_id": 0, "param_name": "v_fs", "param_value_internal"'
    ': 0.2, "distribution": "{\\"name\\": \\"FloatDistribution\\", \\"attributes\\": {\\"low\\"'
    ': 0.1, \\"high\\": 0.3, \\"step\\": null, \\"log\\": false}}"}',
    '{"op_code": 8, "worker_id": "w", "trial_id": 0, "user_attr": {"design": {"v_fs": 0.2}}}',
    '{"op_code": 6, "worker_id": "w", "trial_id": 0, "state": 1, "values": [1.0, 0.5, 1e-6],'
    ' "datetime_complete": "2026-01-01T00:00:01"}',
    '{"op_code": 99}', "[1, 2]", "null", "{", "garbage", ""])


@EXAMPLES
@given(st.lists(JOURNAL_LINES, max_size=6), st.binary(max_size=20), st.booleans())
def test_design_journal_reader(lines, tail, truncate):
    data = "\n".join(lines).encode() + (tail if truncate else b"")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "study.log"
        path.write_bytes(data)
        try:
            study = open_study(path, ["minimize", "maximize", "minimize"], 0, 2)
        except CodesignError as exc:
            assert "\n" not in str(exc)
            return
        for trial in study.trials:
            assert trial.number >= 0


@st.composite
def darcy_files(draw):
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=120))
    if kind == 1:  # a pickled object other than tensors
        buffer = io.BytesIO()
        torch.save({"x": torch.zeros(2, 3, 3), "y": torch.zeros(2, 3, 3),
                    "z": Path("evil")}, buffer)
        return buffer.getvalue()
    count, grid = draw(st.integers(0, 3)), draw(st.integers(0, 4))
    shape = draw(st.sampled_from([(count, grid, grid), (count, grid), (count, grid, grid + 1),
                                  (count, grid, grid, 1)]))
    dtype = draw(st.sampled_from([torch.float32, torch.float64, torch.bool, torch.int32,
                                  torch.complex64]))
    x = torch.zeros(shape, dtype=dtype)
    y = torch.randn(*shape) if dtype != torch.bool else torch.zeros(shape)
    if draw(st.booleans()) and y.numel():
        y.view(-1)[0] = draw(st.sampled_from([math.nan, math.inf, 1.0]))
    members = {"x": x, "y": y.to(torch.float32)}
    if draw(st.booleans()):
        members.pop(draw(st.sampled_from(["x", "y"])))
    if draw(st.booleans()):
        members["y"] = draw(st.sampled_from([torch.zeros(1), [1, 2], "y"]))
    buffer = io.BytesIO()
    torch.save(draw(st.sampled_from([members, list(members.values()), 3])), buffer)
    return buffer.getvalue()


@EXAMPLES
@given(darcy_files())
def test_darcy_reader(data):
    fields = read(read_fields, data, ".pt")
    if fields is not None:
        a, u = fields
        assert a.shape == u.shape and a.ndim == 3 and a.shape[1] == a.shape[2] >= 2
        assert np.isfinite(a).all() and np.isfinite(u).all() and a.dtype == np.float32
