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


def data_dir() -> Path:
    """The installed neuraloperator's data folder; InputError naming the install otherwise."""
    spec = importlib.util.find_spec("neuralop")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"the darcy task needs the neuraloperator package: {INSTALL}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    if not (folder / "darcy_train_16.pt").is_file():
        raise InputError(f"no darcy_train_16.pt under {folder}: {INSTALL}")
    return folder


def load_fields(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(a, u) of one of the wheel's files: (K, G, G) float32 each."""
    import torch  # deferred: tasks load their data without torch where they can

    path = data_dir() / name
    try:
        data = torch.load(path, weights_only=True, map_location="cpu")
        a, u = data["x"], data["y"]
    except (OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"cannot read {path} ({exc}); reinstall: {INSTALL}") from None
    return a.numpy().astype(np.float32), u.numpy().astype(np.float32)


def load_darcy_task(profile: TaskProfile = PROFILE) -> RegressionTask:
    """The darcy task at 16 x 16: permeability fields -> pressure, flattened (256 values)."""
    a_train, u_train = load_fields("darcy_train_16.pt")
    a_test, u_test = load_fields("darcy_test_16.pt")
    flat = [x.reshape(len(x), -1) for x in (a_train, u_train, a_test, u_test)]
    return RegressionTask(
        name="darcy", x_train=flat[0], y_train=flat[1], x_test=flat[2], y_test=flat[3],
        source=f"neuraloperator 0.3.0 wheel: darcy_train_16.pt ({len(a_train)} fields), "
               f"darcy_test_16.pt ({len(a_test)}), 16 x 16",
        profile=profile)
