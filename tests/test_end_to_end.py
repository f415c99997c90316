"""The demo's claims as a test: the default digits model reaches >= 94 % test accuracy, and
its opamp circuit (A0 = 1e5) classifies 200 test samples within 0.5 points of the digital
model."""

import numpy as np
import pytest
import torch

from codesign.chip.verify import VerifySettings, task_metric, verify_core
from codesign.circuit import circuit_config
from codesign.deq import DEQConfig
from codesign.tasks import get_task
from codesign.training.train import TrainConfig, new_model, train_model


@pytest.mark.slow(seconds=25)
def test_digits_model_and_its_opamp_circuit(process_sim, tmp_path):
    task = get_task("digits")
    result = train_model(task, new_model(task, DEQConfig(), 0), TrainConfig(seed=0))
    assert result.test_metric >= 0.94
    model = result.model
    with torch.no_grad():
        e = model.encode(torch.from_numpy(task.x_test[:200])).double().numpy()
    core = model.core.to_weights()
    verified = verify_core(core, e, circuit_config("opamp"), process_sim, tmp_path,
                           VerifySettings(analysis="op"))

    def decode(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model.decode(torch.from_numpy(z).float()).numpy()

    acc = task_metric(verified, task, decode, task.y_test[:200])
    assert abs(acc.circuit - acc.digital) <= 0.005 and acc.agreement >= 0.99
    assert verified.summary.model_error_fs.max < 1e-6
