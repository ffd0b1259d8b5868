"""One trained policy out of a run directory: for a notebook (:func:`load_policy`) and for the exporters
(:func:`policy_function`; the member itself is loaded by :func:`iql_jax.runs.rundir.load_member`).

A run trains a population (seeds × hyperparameter settings) as one stacked state; deployment wants one member's
deterministic policy: the mean action ``tanh(Dense(MLP(normalise(obs))))`` clipped to [−1, 1], the same function
``iql eval`` calls (:func:`iql_jax.act`). The observation normalisation (``obs_mean`` / ``obs_std`` of the agent
state) is part of that function, so callers feed the raw flat observation vector that evaluation feeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from iql_jax import agent
from iql_jax.errors import RunError
from iql_jax.runs.rundir import load_member


def policy_function(state: agent.IQLState) -> Callable:
    """The deterministic policy as a pure jax function ``(B, obs_dim) float32 → (B, act_dim) float32``.

    The parameters are closed over (they become constants of an exported program); it is :func:`iql_jax.act`
    without a key, so it is the function ``iql eval`` runs.
    """
    def policy(observations):
        return agent.act(state, observations)

    return policy


def load_policy(run_dir: str | Path, member: int = 0, checkpoint: str | Path | None = None) -> Callable:
    """A run's deterministic policy as a numpy-in, numpy-out callable.

    ``policy(obs)`` takes one flat observation ``(obs_dim,)`` or a batch ``(B, obs_dim)`` (any float dtype, as
    ``iql eval`` feeds them: normalisation is applied inside) and returns float32 actions of shape ``(act_dim,)``
    or ``(B, act_dim)`` in [−1, 1]. The compiled function is cached per batch shape.

    Args:
        run_dir: a run directory written by ``iql train``.
        member: index of the population member (``iql eval`` lists them; seed-major order).
        checkpoint: a checkpoint file; the run's newest by default.

    Raises:
        RunError: no checkpoint, or no such member (one line, for the CLI).
    """
    loaded = load_member(run_dir, member, checkpoint)
    fn = jax.jit(agent.act)
    state, obs_dim = loaded.state, loaded.obs_dim

    def policy(observations) -> np.ndarray:
        obs = np.asarray(observations, dtype=np.float32)
        if obs.shape[-1:] != (obs_dim,) or obs.ndim not in (1, 2):
            raise RunError(f"{run_dir}: the policy expects observations of shape ({obs_dim},) or (B, {obs_dim}), "
                           f"found {obs.shape}")
        return np.asarray(fn(state, jnp.asarray(obs)))

    policy.member = loaded.member  # what the callable is, for notebooks: label, seed, overrides
    policy.step = loaded.step
    return policy
