"""Small shared builders for the agent tests: tiny networks and hand-made datasets."""

from __future__ import annotations

import dataclasses

import numpy as np

from iql_jax.config import AgentConfig
from iql_jax.data.transitions import Transitions

TINY = AgentConfig(hidden_dims=(32, 32), batch_size=64)


def tiny_config(**overrides) -> AgentConfig:
    return dataclasses.replace(TINY, **overrides)


def transitions(observations, actions, rewards, next_observations, terminals, timeouts=None) -> Transitions:
    f = lambda x: np.asarray(x, np.float32)
    n = len(rewards)
    timeouts = np.zeros(n) if timeouts is None else timeouts
    return Transitions(f(observations), f(actions), f(rewards), f(next_observations), f(terminals), f(timeouts),
                       f(np.ones(n)))


def random_transitions(n=512, obs_dim=5, act_dim=2, seed=0) -> Transitions:
    rng = np.random.default_rng(seed)
    return transitions(rng.normal(size=(n, obs_dim)), rng.uniform(-1, 1, (n, act_dim)), rng.normal(size=n),
                       rng.normal(size=(n, obs_dim)), rng.integers(0, 2, n))


def bandit(n=256) -> Transitions:
    """One state, 1-D actions: a = −0.5 pays 0, a = +0.5 pays 1, every step terminal."""
    actions = np.where(np.arange(n) % 2 == 0, -0.5, 0.5)[:, None]
    rewards = (actions[:, 0] > 0).astype(np.float32)
    obs = np.zeros((n, 1))
    return transitions(obs, actions, rewards, obs, np.ones(n))
