"""Tiny environments, data and one population shared by the online fine-tuning tests and the online learning test.

The two environments are registered with gymnasium (``iql_test/...``) on first use. One configuration, population
and data shape serve every such test, so that the compiled programs are shared (compiling dominates these tests).
"""

import functools

import gymnasium as gym
import numpy as np

from iql_jax import engine
from tiny import tiny_config, transitions


class Counter(gym.Env):
    """obs = [steps since reset]; every step pays ``reward``; terminates after ``terminate_after`` steps (or never)."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, reward=3.0, terminate_after=None):
        self.reward, self.terminate_after, self.t = reward, terminate_after, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        terminated = self.terminate_after is not None and self.t >= self.terminate_after
        return np.array([self.t], np.float32), self.reward, terminated, False, {}


class GoRight(gym.Env):
    """x ∈ [−1, 1] starts near 0; x′ = clip(x + 0.2·a); the reward is x′ (dense: go right and stay there)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-0.05, 0.05))
        return np.array([self.x], np.float32), {}

    def step(self, action):
        self.x = float(np.clip(self.x + 0.2 * float(action[0]), -1.0, 1.0))
        return np.array([self.x], np.float32), self.x, False, False, {"success": self.x > 0.9}


@functools.lru_cache(maxsize=None)
def _register_envs() -> None:  # on first use, not at import
    gym.register("iql_test/Counter-v0", entry_point=Counter)
    gym.register("iql_test/GoRight-v0", entry_point=GoRight, max_episode_steps=20)


def left_only_data(n=1000, seed=0):
    """GoRight transitions of a poor behaviour policy: x ∈ [−1, 0] and actions in [−1, 0], never a step right."""
    rng = np.random.default_rng(seed)
    x, a = rng.uniform(-1.0, 0.0, (n, 1)), rng.uniform(-1.0, 0.0, (n, 1))
    x_next = np.clip(x + 0.2 * a, -1.0, 1.0)
    return transitions(x, a, x_next[:, 0], x_next, np.zeros(n))


# Fast learning rates; γ = 0.9 for a short horizon.
CONFIG = tiny_config(actor_lr=3e-3, critic_lr=3e-3, value_lr=3e-3, discount=0.9)
MEMBERS, CAPACITY = 3, 1500


@functools.lru_cache(maxsize=None)
def offline_data():  # built on first use: no JAX work at import time
    return engine.device_data(left_only_data())


def counter(limit=5, **kwargs):
    _register_envs()
    return functools.partial(gym.make, "iql_test/Counter-v0", max_episode_steps=limit, **kwargs)


def go_right():
    _register_envs()
    return gym.make("iql_test/GoRight-v0")


def population(members=MEMBERS):
    return engine.init_population(CONFIG, list(range(members)), 1, 1, decay_steps=100)[0]
