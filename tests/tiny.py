"""Small shared builders for the tests: tiny networks, hand-made datasets, and a tiny run configuration."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from iql_jax.config import SHARED, AgentConfig, DataConfig, RunConfig, TrainConfig, get_preset
from iql_jax.data.transitions import Transitions

TINY = dataclasses.replace(SHARED, hidden_dims=(32, 32), batch_size=64)  # every field set: no preset applies
RUN_DATASET = "pointmaze-umaze:3000"


def run_config(tmp_path, name, steps=60, **run) -> TrainConfig:
    """A two-seed antmaze-preset run on the tiny built-in maze: evaluated and checkpointed every 20 updates."""
    agent = dataclasses.replace(get_preset("antmaze").agent, hidden_dims=(16, 16), batch_size=32)
    run_cfg = RunConfig(steps=steps, seeds=2, chunk_size=20, eval_every=20, eval_episodes=2, checkpoint_every=20,
                        out=str(tmp_path), name=name, quiet=True, **run)
    return TrainConfig(agent=agent, data=DataConfig(dataset=RUN_DATASET), run=run_cfg, preset="antmaze")


def learned(states) -> list:
    """Every leaf training changes (networks, Adam states, target critic, key, step), for exact comparisons."""
    return jax.tree_util.tree_leaves((states.actor, states.critic, states.value, states.target_critic_params,
                                      states.key, states.step))


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
