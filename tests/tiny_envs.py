"""A tiny continuous control task for tests that must learn online within seconds.

``PointLine``: a point on [−1, 1] moved by a ∈ [−2, 2] (the bounds are not [−1, 1], so the trainer's affine
action map is exercised) as x′ = clip(x + 0.125·a, −1, 1); reward −x′²; 10 steps per episode (a time limit).
Starting anywhere in [−1, 1], a policy that walks to 0 scores about −0.6 per episode, uniform actions about −3.5.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

ENV_ID = "iql_jax_tests/PointLine-v0"


class PointLine(gym.Env):
    def __init__(self):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
        self.x = 0.0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-1.0, 1.0))
        return np.array([self.x], np.float32), {}

    def step(self, action):
        self.x = float(np.clip(self.x + 0.125 * float(np.asarray(action).reshape(-1)[0]), -1.0, 1.0))
        return np.array([self.x], np.float32), -self.x ** 2, False, False, {}


def register() -> str:
    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point="tiny_envs:PointLine", max_episode_steps=10)
    return ENV_ID
