"""Control: balance gymnasium's Pendulum-v1 upright with a DEQ policy.

The plant is gymnasium's own Pendulum-v1 (g = 10, m = l = 1, dt = 0.05 s, torque limit 2 N m,
speed limit 8 rad/s; theta = 0 is upright), stepped by ``env.step``. The expert is an LQR on
the plant's discrete-time linearisation about upright, saturated at the torque limit. The
policy learns the expert's action from the observation (cos theta, sin theta, theta_dot) by
imitation; it is judged in closed loop: episodes from seeded random starts, the action at every
step computed by the policy under test (digital, proxy or the SPICE circuit).

Per episode: the cost is gymnasium's, sum of theta^2 + 0.1 theta_dot^2 + 0.001 u^2 over the
steps; the plant counts as stabilised when |theta| stays below ``success_angle`` over the last
``success_steps`` steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from codesign.errors import InputError
from codesign.tasks.base import (
    AcceptanceItem,
    Episodes,
    Evaluation,
    Expert,
    Metric,
    OutputsFn,
    RegressionTask,
    Selection,
    TaskMetrics,
)
from codesign.tasks.profile import TaskProfile, TrainConfig

Policy = Callable[[np.ndarray], np.ndarray]
"""Observations (E, 3) -> torques (E,) [N m]."""


@dataclass(frozen=True)
class PendulumConfig:
    """Episodes, expert and imitation data of the balance task (SI units)."""

    start_angle_rad: float = 0.3
    """Episodes start at theta ~ U(-a, a) from upright (gymnasium's reset option x_init)."""
    start_speed_rad_s: float = 0.5
    """... and theta_dot ~ U(-w, w) (option y_init)."""
    steps: int = 100
    """Control steps per episode (dt = 0.05 s: 5 s)."""
    success_angle_rad: float = 0.05
    success_steps: int = 20
    q_angle: float = 1.0
    """LQR weights: theta^2, theta_dot^2 and u^2, as gymnasium's cost (R heavier for a smooth
    expert)."""
    q_speed: float = 0.1
    r_torque: float = 0.05
    train: int = 4096
    """Imitation states drawn uniformly from the box below."""
    test: int = 1024
    box_angle_rad: float = 0.4
    box_speed_rad_s: float = 1.5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < self.success_steps or self.success_steps < 1:
            raise InputError("PendulumConfig needs steps >= success_steps >= 1")


MAX_TORQUE = 2.0
DT_S = 0.05
"""Pendulum-v1's control step [s]."""
EVAL_SEED = 10_000
"""Evaluation episodes reset with seeds EVAL_SEED + k (training never sees a rollout)."""
SUCCESS_RATE = 0.95
"""The fraction of episodes the circuit must stabilise."""

PROFILE = TaskProfile(
    task="control", core_size=16, core_inputs=8,
    train=TrainConfig(epochs=30, batch_size=64, lr=3e-3, input_noise=0.02),
    finetune=TrainConfig(epochs=8, batch_size=64, lr=1e-3, input_noise=0.02, seed=1),
    verify_samples=128, target=1.10, episodes=32)


def _plant():
    import gymnasium  # deferred: gymnasium takes a second to import

    return gymnasium.make("Pendulum-v1").unwrapped


def lqr_gain(config: PendulumConfig) -> np.ndarray:
    """K (2,) of the discrete LQR u = -K [theta, theta_dot] for the linearised plant."""
    from scipy.linalg import solve_discrete_are  # deferred: scipy.linalg only for the expert

    env = _plant()
    a, b, dt = 3 * env.g / (2 * env.l), 3.0 / (env.m * env.l**2), env.dt
    A = np.array([[1 + a * dt * dt, dt], [a * dt, 1.0]])
    B = np.array([[b * dt * dt], [b * dt]])
    Q = np.diag([config.q_angle, config.q_speed])
    R = np.array([[config.r_torque]])
    P = solve_discrete_are(A, B, Q, R)
    return (np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)).ravel()


def observe(theta: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """Pendulum-v1's observation (cos theta, sin theta, theta_dot)."""
    return np.stack([np.cos(theta), np.sin(theta), speed], -1)


def expert_policy(config: PendulumConfig) -> Policy:
    """The saturated LQR, as a function of the observation."""
    gain = lqr_gain(config)

    def act(obs: np.ndarray) -> np.ndarray:
        theta = np.arctan2(obs[:, 1], obs[:, 0])
        return np.clip(-(gain[0] * theta + gain[1] * obs[:, 2]), -MAX_TORQUE, MAX_TORQUE)

    return act


def load_pendulum_task(config: PendulumConfig = PendulumConfig(),
                       profile: TaskProfile = PROFILE) -> ControlTask:
    """Imitation data: observations -> the expert's torque / MAX_TORQUE (float32)."""
    rng = np.random.default_rng(config.seed)
    count = config.train + config.test
    theta = rng.uniform(-config.box_angle_rad, config.box_angle_rad, count)
    speed = rng.uniform(-config.box_speed_rad_s, config.box_speed_rad_s, count)
    obs = observe(theta, speed)
    target = (expert_policy(config)(obs) / MAX_TORQUE)[:, None]
    obs, target = obs.astype(np.float32), target.astype(np.float32)
    cut = config.train
    return ControlTask(
        name="control", x_train=obs[:cut], y_train=target[:cut], x_test=obs[cut:],
        y_test=target[cut:], profile=profile, config=config,
        source=("gymnasium Pendulum-v1 (balance upright); expert: saturated discrete LQR "
                f"(Q = diag({config.q_angle:g}, {config.q_speed:g}), R = {config.r_torque:g}); "
                f"{config.train} imitation states, uniform |theta| <= {config.box_angle_rad:g} "
                f"rad, |theta_dot| <= {config.box_speed_rad_s:g} rad/s (seed {config.seed})"),
    )


def model_policy(outputs: Callable[[np.ndarray], np.ndarray]) -> Policy:
    """A policy from a model's normalised output (E, 1): torque = MAX_TORQUE clip(out, -1, 1)."""
    def act(obs: np.ndarray) -> np.ndarray:
        return MAX_TORQUE * np.clip(np.asarray(outputs(obs), float).reshape(len(obs)), -1, 1)

    return act


@dataclass(frozen=True, eq=False)
class Rollouts:
    """Closed-loop episodes: per-step states and torques, per-episode cost and success."""

    theta: np.ndarray
    """(E, T + 1) angle from upright [rad]."""
    speed: np.ndarray
    """(E, T + 1) [rad/s]."""
    torque: np.ndarray
    """(E, T) [N m]."""
    cost: np.ndarray
    """(E,) gymnasium's cost summed over the episode."""
    stabilised: np.ndarray
    """(E,) bool."""

    def metrics(self) -> TaskMetrics:
        """Mean cost (the metric), episodes, success rate and the cost's spread."""
        return TaskMetrics(float(self.cost.mean()), int(len(self.cost)),
                           float(self.stabilised.mean()), float(self.cost.std()))


def _wrap(theta: np.ndarray) -> np.ndarray:
    return (theta + math.pi) % (2 * math.pi) - math.pi


def rollout(policy: Policy, config: PendulumConfig, episodes: int, seed: int) -> Rollouts:
    """``episodes`` episodes of Pendulum-v1 in lockstep (so a batched policy, such as a SPICE
    run per step, sees all of them at once); episode k resets with seed ``seed + k``."""
    envs = [_plant() for _ in range(episodes)]
    options = {"x_init": config.start_angle_rad, "y_init": config.start_speed_rad_s}
    for k, env in enumerate(envs):
        env.reset(seed=seed + k, options=options)
    theta = np.zeros((episodes, config.steps + 1))
    speed = np.zeros_like(theta)
    torque = np.zeros((episodes, config.steps))
    cost = np.zeros(episodes)
    for t in range(config.steps + 1):
        state = np.array([env.state for env in envs])
        theta[:, t], speed[:, t] = _wrap(state[:, 0]), state[:, 1]
        if t == config.steps:
            break
        torque[:, t] = np.clip(policy(observe(state[:, 0], state[:, 1])), -MAX_TORQUE,
                               MAX_TORQUE)
        for k, env in enumerate(envs):
            _, reward, *_ = env.step(np.array([torque[k, t]]))
            cost[k] -= reward
    tail = np.abs(theta[:, -config.success_steps:])
    return Rollouts(theta, speed, torque, cost, (tail < config.success_angle_rad).all(1))


@dataclass(frozen=True, eq=False)
class ControlTask(RegressionTask):
    """Imitation data for training (offline metric: RMS action error); judged in closed loop:
    mean cost over episodes and the fraction stabilised."""

    config: PendulumConfig = PendulumConfig()

    metric = Metric("closed-loop cost", higher_is_better=False, label="cost")

    @property
    def offline_metric(self) -> Metric:
        return Metric("RMS action error", higher_is_better=False)

    def score(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        return float(np.sqrt(np.mean((np.asarray(outputs) - targets) ** 2)))

    def verification_set(self) -> Selection:
        return Episodes(self.profile.episodes, EVAL_SEED)

    def full_set(self) -> Selection:
        return self.verification_set()

    def curve_set(self) -> Selection:
        return Episodes(max(8, self.profile.episodes // 2), EVAL_SEED)

    def spot_set(self) -> Selection:
        return self.curve_set()

    def evaluate(self, outputs: OutputsFn, selection: Selection | None = None) -> Evaluation:
        """Episodes in lockstep, every action from ``outputs`` (one call per control step)."""
        episodes = selection or self.full_set()
        runs = rollout(model_policy(outputs), self.config, episodes.count, episodes.seed)
        return Evaluation(runs.metrics(), runs)

    def within_target(self, reference: float, circuit: TaskMetrics) -> bool:
        return (circuit.success_rate >= SUCCESS_RATE
                and circuit.metric <= self.profile.target * reference)

    def acceptance(self, reference: float, circuit: TaskMetrics) -> list[AcceptanceItem]:
        ratio = circuit.metric / reference
        return [
            AcceptanceItem("episodes stabilised, SPICE circuit in the loop",
                           f"{100 * circuit.success_rate:.2f} %",
                           f">= {100 * SUCCESS_RATE:g} %", circuit.success_rate >= SUCCESS_RATE),
            AcceptanceItem("closed-loop cost, circuit / digital DEQ",
                           f"{circuit.metric:.4g} / {reference:.4g} = {ratio:.3f}",
                           f"<= {self.profile.target:.2f}", ratio <= self.profile.target)]

    expert_name: ClassVar[str] = "expert (saturated LQR)"

    def expert(self) -> Policy:
        """The policy the task imitates (torques in N m)."""
        return expert_policy(self.config)

    def experts(self) -> list[Expert]:
        act = self.expert()
        return [Expert(self.expert_name, lambda obs: act(obs) / MAX_TORQUE, 2)]

    def trajectories(self, rollouts: dict, episodes: int = 8):
        """Angle and torque per step of the first ``episodes`` episodes of each policy, with
        the expert's beside them: a long table."""
        import pandas as pd  # deferred: only the loop's tables need it

        runs = dict(rollouts)
        runs["expert"] = rollout(self.expert(), self.config, episodes, EVAL_SEED)
        rows = []
        for name, r in runs.items():
            for k in range(min(episodes, len(r.cost))):
                steps = np.arange(r.theta.shape[1])
                rows.append(pd.DataFrame({"policy": name, "episode": k, "step": steps,
                                          "time_s": steps * DT_S, "theta_rad": r.theta[k],
                                          "torque_nm": np.append(r.torque[k], np.nan)}))
        return pd.concat(rows, ignore_index=True)
