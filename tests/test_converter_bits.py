"""benchmarks.converter_bits: the digital core between ideal converters of a resolution; at a
fine resolution it is the model itself, at a coarse one it is not."""

import pytest

from benchmarks.converter_bits import converter_metrics
from codesign.tasks import get_task
from codesign.training.train import new_model, task_deq_config


def test_fine_converters_leave_the_model_and_coarse_ones_do_not():
    task = get_task("physics")
    model = new_model(task, task_deq_config(task, "none", "per-neuron"), seed=0).eval()
    metrics = converter_metrics(task, model, [2, 16])
    assert metrics["16/16"] == pytest.approx(metrics["ideal"], rel=1e-3)
    assert abs(metrics["2/2"] - metrics["ideal"]) > 0.01 * metrics["ideal"]
    assert set(metrics) == {"ideal", "2/2", "2/16", "16/2", "16/16"}
