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
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

ENV_ID = "iql_jax/DirectionalAnt-v0"
INTERVAL = 100


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
