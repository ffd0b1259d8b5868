"""The directional ant: AntMaze's ant learning to walk in any commanded direction, the low-level policy of the
AntMaze datasets.

D4RL drove its AntMaze ant with a goal-reaching policy fed BFS waypoints; OGBench made a cheaper one with SAC on
a *directional* task (``shared/reference/behaviour-data.md`` §4): the observation is the ant's own (no x, y) plus a
unit direction z, re-drawn every 100 steps, and the ant is paid for moving along z. Here:

* the ant is gymnasium's Ant-v4 ``AntEnv``, the very body (XML, frame skip 5, 27-dim observation without x, y) that
  gymnasium-robotics' ``AntMaze_*-v4`` builds its mazes around, so a policy trained here acts in the mazes as is;
* observation = [ant observation (27), z (2)];
* reward = (v_xy · z) + Ant-v4's healthy reward and control cost, where v_xy = Δxy / dt is the torso's velocity:
  Ant-v4's own reward with its forward term turned towards z (the healthy reward and the fall termination keep
  the ant upright, as in the Ant-v4 task SAC is known to learn);
* z is drawn uniformly on the circle from a generator seeded by ``reset(seed=...)``, at reset and every
  ``interval`` steps.

Registered as ``iql_jax/DirectionalAnt-v0`` (1000-step episodes) by :func:`iql_jax.registry.register_own`.

Steering (:func:`steer`). The shipped policy walks most world directions but not all: from some headings it stands
still when told to walk roughly west (z at 160-240 degrees), a hole SAC left in its training. The ant's world is
invariant under turns about the vertical axis (flat floor, vertical gravity; the policy sees no walls), so an
action chosen for the state *as seen in a turned world* moves the real ant exactly as it moves the turned one.
:func:`steer` turns the world so that every command becomes the one heading the policy walks best
(:data:`STEER_HEADING`) and asks the policy for that; the hole disappears. Only the torso's orientation and its
world-frame linear velocity change under the turn: joint angles, height and the body-frame angular velocity do not.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

ENV_ID = "iql_jax/DirectionalAnt-v0"
INTERVAL = 100
# The heading every command is turned to (radians). Measured by the AntMaze driver's success on the U, medium and
# large evaluation tasks, 40 attempts each: 45° 2.5/60/37.5 %, 60° 5/50/25 %, 75° 5/60/37.5 %; without steering
# 0/7.5/10 % (docs/results.md, "AntMaze").
STEER_HEADING = math.radians(75.0)
QUAT, LINEAR_VELOCITY = slice(1, 5), slice(13, 15)  # in the 27-dim ant observation (qpos[2:], qvel)


def unit_direction(rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0.0, 2.0 * np.pi)
    return np.array([np.cos(angle), np.sin(angle)])


class DirectionalAnt(gym.Wrapper):
    """Ant-v4 paid for its velocity along a unit direction that changes every ``interval`` steps."""

    def __init__(self, env: gym.Env | None = None, interval: int = INTERVAL):
        if env is None:
            from gymnasium.envs.mujoco.ant_v4 import AntEnv

            env = AntEnv()
        super().__init__(env)
        self.interval = int(interval)
        inner = env.observation_space
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (inner.shape[0] + 2,), np.float64)
        self._rng = np.random.default_rng(0)
        self.direction = unit_direction(self._rng)
        self._steps = 0

    def reset(self, *, seed: int | None = None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is not None:
            self._rng = np.random.default_rng([seed, 1])
        self.direction, self._steps = unit_direction(self._rng), 0
        return np.concatenate([obs, self.direction]), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        velocity = np.array([info["x_velocity"], info["y_velocity"]])
        along = float(velocity @ self.direction)
        reward = float(reward) - float(info["reward_forward"]) + along
        info = {**info, "direction": self.direction.copy(), "velocity_along": along}
        self._steps += 1
        if self._steps % self.interval == 0:
            self.direction = unit_direction(self._rng)
        return np.concatenate([obs, self.direction]), reward, terminated, truncated, info


def turn_observation(observation: np.ndarray, angle: float) -> np.ndarray:
    """The 27-dim ant observation of the same state in a world turned by ``angle`` about the vertical axis."""
    turned = np.array(observation, dtype=np.float64)
    c, s = math.cos(angle / 2), math.sin(angle / 2)
    w, x, y, z = turned[QUAT]
    turned[QUAT] = [c * w - s * z, c * x - s * y, c * y + s * x, c * z + s * w]  # (c, 0, 0, s) ⊗ q
    vx, vy = turned[LINEAR_VELOCITY]
    turned[LINEAR_VELOCITY] = [math.cos(angle) * vx - math.sin(angle) * vy, math.sin(angle) * vx + math.cos(angle) * vy]
    return turned


def steer(policy, observation: np.ndarray, direction: np.ndarray, noise: np.ndarray | None = None,
          heading: float = STEER_HEADING) -> np.ndarray:
    """The policy's action walking the ant along the world unit vector ``direction``: the state turned so that
    ``direction`` becomes ``heading``, and the policy asked to walk ``heading``."""
    angle = heading - math.atan2(float(direction[1]), float(direction[0]))
    command = np.array([math.cos(heading), math.sin(heading)])
    return policy.act(np.concatenate([turn_observation(observation, angle), command]), noise)
