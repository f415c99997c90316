"""The tasks against analytic oracles: the PDE solver on a manufactured solution and the linear
case, the pendulum against its closed-form step and gymnasium's own, the LQR against its
Riccati equation, the swing-up expert against the published RL agents."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.errors import InputError
from codesign.tasks import get_task
from codesign.tasks.base import TaskMetrics, relative_l2
from codesign.tasks.control import (
    EVAL_SEED,
    MAX_TORQUE,
    PendulumConfig,
    expert_policy,
    lqr_gain,
    observe,
    rollout,
)
from codesign.tasks.physics import PoissonConfig, laplacian, load_poisson_task, solve_steady_state
from codesign.tasks.swingup import (
    SAC,
    SwingUpConfig,
    ValueFunction,
    plant_cost,
    plant_step,
    swingup_expert,
)


def test_laplacian_eigenvalues_match_the_closed_form():
    g = 6
    h = 1 / (g + 1)
    k = np.arange(1, g + 1)
    one_d = 4 / h**2 * np.sin(k * np.pi * h / 2) ** 2
    expected = np.sort((one_d[:, None] + one_d[None, :]).ravel())
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(laplacian(g))), expected, rtol=1e-12)


def test_newton_recovers_a_manufactured_solution(rng):
    lap, kappa = laplacian(8), 40.0
    u_true = rng.uniform(-1.5, 1.5, 64)
    s = lap @ u_true + kappa * u_true**3
    np.testing.assert_allclose(solve_steady_state(s, kappa, lap), u_true, atol=1e-10)


def test_without_reaction_the_steady_state_is_the_linear_solve(rng):
    lap = laplacian(5)
    s = rng.normal(size=25)
    np.testing.assert_allclose(solve_steady_state(s, 0.0, lap), np.linalg.solve(lap, s),
                               rtol=1e-12)


def test_physics_task_is_seeded_and_nonlinear():
    a, b = load_poisson_task(PoissonConfig(train=8, test=4)), load_poisson_task(
        PoissonConfig(train=8, test=4))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    lap = laplacian(8)
    linear = np.linalg.solve(lap, a.x_test.T.astype(float)).T
    assert relative_l2(linear, a.y_test).mean() > 0.2  # the cubic term matters
    assert a.metric.name == "relative L2 error" and a.out_features == 64


def test_pendulum_step_is_gymnasiums_closed_form():
    config = PendulumConfig(steps=1, success_steps=1)
    runs = rollout(lambda obs: np.full(len(obs), 1.0), config, 3, seed=5)
    th, w = runs.theta[:, 0], runs.speed[:, 0]
    w1 = np.clip(w + (15.0 * np.sin(th) + 3.0 * 1.0) * 0.05, -8, 8)
    np.testing.assert_allclose(runs.speed[:, 1], w1, rtol=1e-12)
    np.testing.assert_allclose(runs.theta[:, 1], th + w1 * 0.05, rtol=1e-12)
    cost = th**2 + 0.1 * w**2 + 0.001
    np.testing.assert_allclose(runs.cost, cost, rtol=1e-9)


def test_lqr_gain_solves_the_riccati_equation_and_stabilises():
    config = PendulumConfig()
    K = lqr_gain(config)
    dt = 0.05
    A = np.array([[1 + 15 * dt * dt, dt], [15 * dt, 1.0]])
    B = np.array([[3 * dt * dt], [3 * dt]])
    assert np.abs(np.linalg.eigvals(A - B @ K[None])).max() < 1
    runs = rollout(expert_policy(config), config, 40, seed=0)
    assert runs.stabilised.all() and runs.cost.mean() < 1.0


def test_control_task_targets_are_the_normalised_expert():
    task = get_task("control")
    theta = np.arctan2(task.x_train[:, 1], task.x_train[:, 0])
    act = expert_policy(PendulumConfig())(observe(theta, task.x_train[:, 2]))
    np.testing.assert_allclose(task.y_train[:, 0], act / MAX_TORQUE, atol=1e-5)


@pytest.mark.parametrize("kind,outputs,targets,expected", [
    ("classification", [[0.1, 0.9], [0.8, 0.2]], [1, 1], 0.5),
    ("regression", [[3.0, 4.0], [1.0, 0.0]], [[3.0, 5.0], [2.0, 0.0]], (34**-0.5 + 0.5) / 2),
])
def test_scores(kind, outputs, targets, expected):
    task = get_task("digits") if kind == "classification" else get_task("physics")
    value = task.score(np.array(outputs), np.array(targets))
    assert value == pytest.approx(expected, rel=1e-12)


def test_darcy_is_the_neural_operator_librarys_data_and_scores_relative_l2():
    """1000 training and 50 test fields of 16 x 16 from the neuraloperator wheel; the metric
    against its own analytic extremes: the truth scores 0, zero and twice the truth score 1."""
    task = get_task("darcy")
    assert task.x_train.shape == task.y_train.shape == (1000, 256)
    assert task.x_test.shape == task.y_test.shape == (50, 256)
    assert set(np.unique(task.x_train)) == {0.0, 1.0}  # binary permeability
    assert task.score(task.y_test, task.y_test) == 0.0
    assert task.score(np.zeros_like(task.y_test), task.y_test) == pytest.approx(1.0)
    assert task.score(2 * task.y_test, task.y_test) == pytest.approx(1.0)
    assert task.profile.core_size >= 256


def test_darcy_without_the_library_says_how_to_install_it(monkeypatch):
    import importlib.util

    from click.testing import CliRunner

    from codesign.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "neuralop" else real(name, *a))
    result = CliRunner().invoke(main, ["train", "--task", "darcy", "--out", "x.pt"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install neuraloperator==0.3.0" in lines[0]


@settings(max_examples=30, deadline=None)
@given(theta=st.floats(-10, 10), speed=st.floats(-8, 8), torque=st.floats(-2, 2))
def test_swingup_plant_is_gymnasiums_step(theta, speed, torque):
    import gymnasium

    env = gymnasium.make("Pendulum-v1").unwrapped
    env.reset(seed=0)
    env.state = np.array([theta, speed])
    _, reward, *_ = env.step(np.array([torque]))
    th, w = plant_step(np.array(theta), np.array(speed), np.array(torque))
    np.testing.assert_allclose([th, w], env.state, rtol=1e-12, atol=1e-12)
    assert plant_cost(np.array(theta), np.array(speed), np.array(torque)) == \
        pytest.approx(-reward, rel=1e-12, abs=1e-12)


def test_value_function_interpolates_bilinearly_and_wraps_the_angle():
    angles, speeds = 8, 5
    theta = np.linspace(-np.pi, np.pi, angles, endpoint=False)
    speed = np.linspace(-8, 8, speeds)
    v = ValueFunction(np.add.outer(np.cos(theta), 0.5 * speed))
    np.testing.assert_allclose(v(theta[3], speed[2]), np.cos(theta[3]) + 0.5 * speed[2])
    mid = (theta[3] + theta[4]) / 2
    np.testing.assert_allclose(v(mid, 1.0), (np.cos(theta[3]) + np.cos(theta[4])) / 2 + 0.5)
    np.testing.assert_allclose(v(theta[1] + 2 * np.pi, 3.0), v(theta[1], 3.0))
    np.testing.assert_allclose(v(0.3, 20.0), v(0.3, 8.0))  # speeds clipped to the limit


@pytest.mark.slow(seconds=30)
def test_swingup_expert_beats_the_published_agents_from_gymnasiums_reset():
    """The value-iteration expert on the 100 evaluation episodes (the default grid, ~20 s)."""
    task = get_task("swingup")
    assert task.config.start_angle_rad == pytest.approx(np.pi) and task.config.steps == 200
    runs = rollout(task.expert(), task.config, 100, EVAL_SEED)
    assert -runs.cost.mean() > SAC.value + 20  # -127 measured, SAC -157
    assert runs.stabilised.mean() >= 0.95
    assert np.abs(task.y_train).max() <= 1.0 and task.x_train.shape[1] == 3
    worse = TaskMetrics(-SAC.value + 1, 100)
    items = task.acceptance(reference=-SAC.value - 10, circuit=worse)
    assert [item.met for item in items] == [True, False]
    assert not task.within_target(-SAC.value - 10, worse)
    assert task.within_target(130.0, TaskMetrics(140.0, 100))


def test_a_coarse_value_iteration_is_still_a_swing_up():
    config = SwingUpConfig(angles=61, speeds=41, torques=9, greedy_torques=21, discount=0.97,
                           tolerance=1e-4)
    runs = rollout(swingup_expert(config), PendulumConfig(start_angle_rad=np.pi, steps=200),
                   16, seed=3)
    idle = rollout(lambda obs: np.zeros(len(obs)), PendulumConfig(start_angle_rad=np.pi,
                                                                   steps=200), 16, seed=3)
    assert runs.cost.mean() < 0.5 * idle.cost.mean()
    with pytest.raises(InputError, match="discount"):
        SwingUpConfig(discount=1.0)
