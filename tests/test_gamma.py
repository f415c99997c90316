"""The core's contraction bound gamma as a design choice of the loop (`codesign loop --gamma`):
it reaches every model the run trains, a bound outside (0, 1) is a one-line error before any
work, and the settling it buys is the analytic one: the circuit tau dx/dt = -x + W z + u with
a linear neuron decays at (1 - lambda_max(W)) / tau, so a lower bound settles faster."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from codesign.chip.chip import Chip
from codesign.circuit.config import circuit_config
from codesign.cli import main
from codesign.deq import DEQConfig, HybridDEQ
from codesign.deq.weights import CoreWeights
from codesign.errors import InputError
from codesign.loop.context import check_settings
from codesign.results.loop import LoopSettings
from codesign.tasks import get_task
from codesign.training.train import task_deq_config


def test_the_loops_models_take_its_gamma():
    task = get_task("physics")
    deq = task_deq_config(task, "none", "per-neuron", gamma=0.7)
    assert deq.gamma == 0.7
    assert task_deq_config(task).gamma == 0.9  # the default is unchanged
    model = HybridDEQ(deq, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.core.V.mul_(100.0)  # far outside the bound: the weight is rescaled to it
    norm = float(torch.linalg.matrix_norm(model.core.weight().detach(), ord=2))
    assert norm == pytest.approx(0.7, rel=1e-5)


@pytest.mark.parametrize("gamma", [0.0, 1.0, 1.5, -0.2, "0.5"])
def test_a_gamma_outside_the_open_unit_interval_is_refused(gamma):
    with pytest.raises(InputError, match="--gamma must lie in"):
        check_settings(LoopSettings(task="physics", gamma=gamma))


def test_the_cli_refuses_a_bound_of_one_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["loop", "--task", "physics", "--gamma", "1", "--out",
                                       str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert "--gamma must lie in (0, 1)" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run" / "summary.json").exists()


def test_a_lower_bound_settles_faster_at_the_analytic_rate(simulator, tmp_path):
    """A SPICE transient from reset of the ideal level with a linear neuron and a symmetric W of
    eigenvalues in [-gamma, gamma]: the error's tail decays at (1 - gamma) / tau for both bounds
    (the slowest mode), so gamma 0.7 settles 3x as fast as 0.9."""
    rng = np.random.default_rng(5)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    u = rng.uniform(-0.3, 0.3, (6, 2))
    config = circuit_config("ideal")
    rates = {}
    for gamma in (0.9, 0.7):
        w = q @ np.diag(np.linspace(-gamma, gamma, 6)) @ q.T
        core = CoreWeights(w, u, np.zeros(6), activation="identity")
        chip = Chip(core, config, seed=0, simulator=simulator)
        e = np.array([0.5, -0.4])
        t, z = chip.trace(e, tmp_path / f"g{gamma}", stretch=3.0)
        err = np.abs(z - chip.operating_points(e[None], tmp_path / f"op{gamma}").z[0]).max(1)
        tail = (err > 1e-5) & (err < 1e-3)
        assert tail.sum() > 5, "the trace has no tail to fit"
        rate = -np.polyfit(t[tail], np.log(err[tail]), 1)[0]
        tau = chip.circuit.time_constant_s()
        assert rate * tau == pytest.approx(1 - gamma, rel=0.05)
        rates[gamma] = rate
    assert rates[0.7] / rates[0.9] == pytest.approx(3.0, rel=0.1)


def test_the_cli_passes_its_gamma_to_the_runs_models(tmp_path, monkeypatch):
    import codesign.loop.pipeline as pipeline
    from codesign.cli.options import GAMMA
    from codesign.deq.model import DEFAULT_GAMMA
    from codesign.loop.context import context

    assert GAMMA == DEFAULT_GAMMA == LoopSettings().gamma
    seen = {}

    def run_loop(settings, out, simulator, log):
        seen["deq"] = context(settings, out, simulator, log).deq

    monkeypatch.setattr(pipeline, "run_loop", run_loop)
    for args, gamma in ((["--gamma", "0.7"], 0.7), ([], DEFAULT_GAMMA)):
        result = CliRunner().invoke(main, ["loop", "--task", "physics", "--neuron", "cmos",
                                           *args, "--out", str(tmp_path / "run")])
        assert result.exit_code == 0, result.output
        assert seen.pop("deq").gamma == gamma


def test_the_deq_config_names_the_bound():
    with pytest.raises(InputError, match="gamma must lie in"):
        DEQConfig(gamma=1.0)


def test_the_design_search_trains_its_base_model_at_the_cli_gamma(tmp_path, monkeypatch):
    """--gamma reaches the search's settings (refused outside (0, 1) in one line) and the base
    model every design fine-tunes is trained at that bound."""
    import codesign.design.search as search
    from codesign.deq.model import DEFAULT_GAMMA
    from codesign.design.settings import DesignSettings
    from codesign.tasks import get_task

    class Stop(Exception):
        pass

    seen = {}

    def run_design(settings, *args, **kwargs):
        seen["gamma"] = settings.gamma
        raise Stop

    monkeypatch.setattr(search, "run_design", run_design)
    for args, gamma in ((["--gamma", "0.7"], 0.7), ([], DEFAULT_GAMMA)):
        result = CliRunner().invoke(main, ["design", "--task", "physics", *args, "--out",
                                           str(tmp_path / "run")])
        assert isinstance(result.exception, Stop), result.output
        assert seen.pop("gamma") == gamma
    result = CliRunner().invoke(main, ["design", "--gamma", "1.2", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "--gamma must lie in (0, 1)" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert DesignSettings().gamma == DEFAULT_GAMMA

    def train_model(task, model, train):
        seen["gamma"] = model.config.gamma
        raise Stop

    monkeypatch.setattr(search, "train_model", train_model)
    with pytest.raises(Stop):
        search.base_model(get_task("physics"), tmp_path / "base", lambda line: None,
                          "none", "per-neuron", 0.8)
    assert seen["gamma"] == 0.8
