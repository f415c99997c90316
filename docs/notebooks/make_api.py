"""Write and execute docs/notebooks/api.ipynb, the Python API session of the documentation site
(``make docs`` runs this, then builds the site; tests/test_docs.py executes the notebook again):

    python docs/notebooks/make_api.py

The session: load a task, train a small DEQ (seconds), compile its chip, verify a few samples
in ngspice, and plot the circuit's equilibria against the digital model's. Its run folders go
to a temporary folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "api.ipynb"

CELLS = [
    ("markdown", """# The Python API in one session

Load a task, train a small deep equilibrium model, compile its core to a chip, run a few
samples in ngspice and compare the circuit's equilibria with the digital model's. Every name
used here is in `codesign.__all__` (the [API reference](../api/index.md) has them all). This
notebook is executed by `make docs` and again by the tests (`tests/test_docs.py`), so what it
shows is what the code does today."""),
    ("code", """%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import torch

import codesign

torch.set_num_threads(1)  # training a small core is fastest on one thread"""),
    ("markdown", """## Train a small DEQ

scikit-learn's digits, with a core of n = 32 neurons and m = 24 inputs (the task's default is
64 x 48), for 5 epochs: a few seconds on one core. `||W||_2 <= 0.9` holds by construction, so
the core is a contraction and its circuit has one stable equilibrium."""),
    ("code", """task = codesign.get_task("digits")
deq = codesign.DEQConfig(in_features=task.in_features, out_features=task.out_features,
                         core_size=32, core_inputs=24)
config = codesign.TrainConfig(epochs=5, seed=0)
trained = codesign.train_model(task, codesign.new_model(task, deq, seed=0), config)
core = trained.model.core.to_weights()
print(f"test accuracy {trained.test_metric:.1%} after {config.epochs} epochs "
      f"({trained.seconds:.1f} s); ||W||_2 = {core.spectral_norm:.3f}")"""),
    ("markdown", """## Compile its chip and verify it in ngspice

A `Chip` is one compiled instance: conductances (here with 5 % programming mismatch, drawn from
`seed`), op-amp neurons, and one deck. `verify_chip` runs the operating points of the given
core inputs in ngspice and compares them with PyTorch's fixed point, the circuit-aware
prediction (finite gain, rails, offsets) and the calibrated proxy."""),
    ("code", """array = codesign.ArrayConfig(mismatch_sigma=0.05)
config = codesign.circuit_config("opamp", array=array)
chip = codesign.Chip(core, config, seed=1, simulator=codesign.get_simulator(timeout_s=120))
with torch.no_grad():  # the digital encoder gives the core's inputs, in units of full scale
    e = trained.model.encode(torch.as_tensor(task.x_test[:24], dtype=torch.float32)).double()
params, _ = codesign.load_params(codesign.default_params_path("opamp"))
result = codesign.verify_chip(chip, e.numpy(), "runs/notebook/verify",
                              codesign.VerifySettings(proxy=params))
s = result.summary
print(f"{len(e)} samples, n = {s.n}: SPICE vs PyTorch max {s.equilibrium_error_fs.max:.1e} FS, "
      f"vs the circuit-aware prediction {s.model_error_fs.max:.1e} FS, "
      f"vs the calibrated proxy {s.proxy_error_fs.max:.1e} FS")"""),
    ("markdown", """## The equilibria, circuit against digital model

Each point is one neuron of one sample. With 5 % mismatch the circuit's equilibrium is off
PyTorch's (the weights it computes with are not the trained ones), and the calibrated proxy,
which draws the same chip instance, predicts where it lands."""),
    ("code", """fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 4))
ax1.plot([-1, 1], [-1, 1], color="0.7", lw=1)
ax1.scatter(result.z_torch.ravel(), result.z_spice.ravel(), s=4, label="SPICE vs PyTorch")
ax1.scatter(result.z_proxy.ravel(), result.z_spice.ravel(), s=4, label="SPICE vs proxy")
ax1.set(xlabel="model equilibrium z* [FS]", ylabel="SPICE equilibrium [FS]")
ax1.legend()
bins = np.logspace(-12, 0, 49)  # differences below 1e-12 FS counted at 1e-12
for z, label in ((result.z_torch, "PyTorch"), (result.z_proxy, "calibrated proxy")):
    ax2.hist(np.clip(np.abs(result.z_spice - z).ravel(), 1e-12, 1), bins, alpha=0.7, label=label)
ax2.set(xscale="log", xlabel="|SPICE - prediction| [FS]", ylabel="neuron outputs")
ax2.legend()
fig.tight_layout()"""),
    ("markdown", """## The task's answer from the circuit

The digital decoder reads the circuit's equilibrium as it reads the model's: the same class on
(nearly) every sample is what "the circuit runs the model" means for digits."""),
    ("code", """with torch.no_grad():
    digital = trained.model.decode(torch.as_tensor(result.z_torch).float()).argmax(1)
    circuit = trained.model.decode(torch.as_tensor(result.z_spice).float()).argmax(1)
labels = torch.as_tensor(task.y_test[:24])
print(f"accuracy on these samples: digital {(digital == labels).float().mean():.1%}, "
      f"circuit {(circuit == labels).float().mean():.1%}, "
      f"same class on {(digital == circuit).float().mean():.0%}")"""),
]


def notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "markdown"
                else nbformat.v4.new_code_cell(src) for kind, src in CELLS]
    return nb


def main() -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    nb = notebook()
    with tempfile.TemporaryDirectory() as work:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": work}}).execute()
    for i, cell in enumerate(nb.cells):  # stable files: no counts or timings in the diff
        cell.id = f"cell-{i}"
        if cell.cell_type == "code":
            cell.execution_count = None
            cell.metadata = {}
            for out in cell.outputs:
                out.pop("execution_count", None)
    nbformat.write(nb, NOTEBOOK)
    print(f"wrote {NOTEBOOK.relative_to(HERE.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
