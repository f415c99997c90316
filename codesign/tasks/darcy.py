"""Darcy flow, the small benchmark the neural-operator library ships (Li et al., "Fourier Neural
Operator for Parametric PDEs", ICLR 2021): -div(a grad u) = 1 on the unit square, u = 0 on the
boundary, for a binary permeability field a; the model maps a (16 x 16) to the pressure u
(16 x 16). The files come with the ``neuraloperator`` 0.3.0 wheel (BSD-3-Clause):
``neuralop/datasets/data/darcy_train_16.pt`` (1000 fields), ``darcy_test_16.pt`` and
``darcy_test_32.pt`` (the same 50 test fields at 32 x 32), tensors only, read with
``torch.load(weights_only=True)`` from the installed package's folder (neuralop is not
imported). The metric is the mean relative L2 error over test fields.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np

from codesign.errors import InputError
from codesign.tasks.base import RegressionTask
from codesign.tasks.profile import TaskProfile, TrainConfig

PROFILE = TaskProfile(
    task="darcy", core_size=256, core_inputs=256,
    train=TrainConfig(epochs=120, lr=2e-3, input_noise=0.3),
    finetune=TrainConfig(epochs=20, lr=1e-3, input_noise=0.3, seed=1),
    verify_samples=50, target=1.25)
"""Measured here (seed 0, test relative L2 of the digital DEQ): m = 64 without input noise 0.18
(80 epochs; 0.20 after 150: it overfits the 1000 fields), m = 256 with noise 0.3 0.145 (80
epochs), 0.141 (150)."""

INSTALL = "pip install neuraloperator==0.3.0 (its wheel carries the data)"


DATA_ENV = "CODESIGN_DARCY_DATA"
"""A folder holding darcy_train_16.pt and darcy_test_16.pt to use instead of the installed
package's (the same format)."""
MAX_FIELDS = 1_000_000
"""Fields per file accepted (the wheel's hold 1000 and 50)."""


def data_dir() -> Path:
    """The folder of the Darcy files: $CODESIGN_DARCY_DATA, else the installed neuraloperator's
    data folder; InputError naming the install otherwise."""
    override = os.environ.get(DATA_ENV)
    if override:
        folder = Path(override)
    else:
        spec = importlib.util.find_spec("neuralop")
        if spec is None or not spec.submodule_search_locations:
            raise InputError(f"the darcy task needs the neuraloperator package: {INSTALL}")
        folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    if not (folder / "darcy_train_16.pt").is_file():
        where = f"${DATA_ENV} = {folder}" if override else str(folder)
        raise InputError(f"no darcy_train_16.pt under {where}: {INSTALL}")
    return folder


def read_fields(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(a, u) of a Darcy file: a torch archive of tensors only, {"x": a, "y": u}, each (K, G, G)
    of finite real values; read with torch.load(weights_only=True). InputError for anything
    else (a damaged archive, pickled objects, other keys, shapes or non-finite values)."""
    import torch  # deferred: tasks load their data without torch where they can

    path = Path(path)
    fix = f"restore it (reinstall: {INSTALL})"
    try:
        data = torch.load(path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise InputError(f"{path} does not exist; {fix}") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a damaged archive
        kind = "pickled objects other than tensors" if isinstance(
            exc, pickle.UnpicklingError) else f"not a readable torch archive ({type(exc).__name__})"
        raise InputError(f"{path} holds {kind}; {fix}") from None
    if not isinstance(data, dict) or not {"x", "y"} <= set(data):
        raise InputError(f"{path} is not a Darcy file (a table with tensors x and y); {fix}")
    a, u = data["x"], data["y"]
    for name, value in (("x", a), ("y", u)):
        if not isinstance(value, torch.Tensor) or value.is_complex():
            raise InputError(f"{path}: {name} is not a tensor of real numbers; {fix}")
        if value.dim() != 3 or value.shape[1] != value.shape[2] or value.shape[1] < 2 \
                or not 1 <= value.shape[0] <= MAX_FIELDS:
            raise InputError(f"{path}: {name} has shape {tuple(value.shape)}, not (fields, G, G) "
                             f"with G >= 2; {fix}")
    if a.shape != u.shape:
        raise InputError(f"{path}: x {tuple(a.shape)} and y {tuple(u.shape)} differ; {fix}")
    a, u = a.double().numpy(), u.double().numpy()
    if not (np.isfinite(a).all() and np.isfinite(u).all()):
        raise InputError(f"{path} holds NaN or infinite values; {fix}")
    return a.astype(np.float32), u.astype(np.float32)


def load_fields(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(a, u) of one of the Darcy files (data_dir): (K, G, G) float32 each."""
    return read_fields(data_dir() / name)


def load_darcy_task(profile: TaskProfile = PROFILE) -> RegressionTask:
    """The darcy task at 16 x 16: permeability fields -> pressure, flattened (256 values)."""
    a_train, u_train = load_fields("darcy_train_16.pt")
    a_test, u_test = load_fields("darcy_test_16.pt")
    for name, a in (("darcy_train_16.pt", a_train), ("darcy_test_16.pt", a_test)):
        if a.shape[1:] != (16, 16):
            raise InputError(f"{data_dir() / name} holds {a.shape[1]} x {a.shape[2]} fields; the "
                             "darcy task is 16 x 16")
    flat = [x.reshape(len(x), -1) for x in (a_train, u_train, a_test, u_test)]
    return RegressionTask(
        name="darcy", x_train=flat[0], y_train=flat[1], x_test=flat[2], y_test=flat[3],
        source=f"neuraloperator 0.3.0 wheel: darcy_train_16.pt ({len(a_train)} fields), "
               f"darcy_test_16.pt ({len(a_test)}), 16 x 16",
        profile=profile)
