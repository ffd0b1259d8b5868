"""Flax modules: an MLP, a Q ensemble, a state value and the official Gaussian policy.

Shapes: ``ValueNet`` → ``(B,)``; ``CriticEnsemble`` → ``(num_critics, B)``; ``GaussianPolicy`` → mean and log-std,
each ``(B, A)``. Every Dense layer, output heads included, uses orthogonal init with scale √2 and zero biases, as the
official code does.
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

default_init = nn.initializers.orthogonal(math.sqrt(2.0))


class MLP(nn.Module):
    """Dense → ReLU blocks; dropout (training only) after every activated layer."""

    hidden_dims: Sequence[int]
    activate_final: bool = False
    dropout_rate: float = 0.0

    @nn.compact
    def __call__(self, x, training: bool = False):
        for i, size in enumerate(self.hidden_dims):
            x = nn.Dense(size, kernel_init=default_init)(x)
            if i + 1 < len(self.hidden_dims) or self.activate_final:
                x = nn.relu(x)
                if self.dropout_rate > 0:
                    x = nn.Dropout(self.dropout_rate)(x, deterministic=not training)
        return x


class StateValue(nn.Module):
    """V(s): MLP(hidden, 1) on the observation → ``(B,)``."""

    hidden_dims: Sequence[int]

    @nn.compact
    def __call__(self, observations):
        return MLP((*self.hidden_dims, 1))(observations).squeeze(-1)


class StateActionValue(nn.Module):
    """One Q head: MLP(hidden, 1) on concat(observation, action) → ``(B,)``."""

    hidden_dims: Sequence[int]

    @nn.compact
    def __call__(self, observations, actions):
        return MLP((*self.hidden_dims, 1))(jnp.concatenate([observations, actions], -1)).squeeze(-1)


class CriticEnsemble(nn.Module):
    """``num_critics`` independent Q heads as one vmapped module (no copied submodules) → ``(num_critics, B)``."""

    hidden_dims: Sequence[int]
    num_critics: int = 2

    @nn.compact
    def __call__(self, observations, actions):
        heads = nn.vmap(
            StateActionValue,
            variable_axes={"params": 0},
            split_rngs={"params": True},
            in_axes=None,
            out_axes=0,
            axis_size=self.num_critics,
        )
        return heads(self.hidden_dims)(observations, actions)


class GaussianPolicy(nn.Module):
    """The official IQL policy: N(tanh(Dense(h)), exp(log_std)), log_std a free vector clipped to [min, max].

    The tanh is on the *mean*, not on samples, so log-probabilities need no Jacobian term
    (``ikostrikov/implicit_q_learning#9``). The deterministic action is the mean.
    """

    hidden_dims: Sequence[int]
    action_dim: int
    dropout_rate: float = 0.0
    log_std_min: float = -5.0
    log_std_max: float = 2.0

    @nn.compact
    def __call__(self, observations, training: bool = False):
        h = MLP(self.hidden_dims, activate_final=True, dropout_rate=self.dropout_rate)(observations, training)
        mean = jnp.tanh(nn.Dense(self.action_dim, kernel_init=default_init)(h))
        log_std = self.param("log_std", nn.initializers.zeros, (self.action_dim,))
        log_std = jnp.clip(log_std, self.log_std_min, self.log_std_max)
        return mean, jnp.broadcast_to(log_std, mean.shape)


def gaussian_log_prob(mean, log_std, actions):
    """log N(actions; mean, exp(log_std)) summed over action dimensions → ``(B,)``."""
    z = (actions - mean) * jnp.exp(-log_std)
    return jnp.sum(-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi), axis=-1)


class TanhGaussianActor(nn.Module):
    """The SAC policy (rlkit's, which made D4RL's behaviour data): a = tanh(u), u ~ N(μ(s), σ(s)²).

    Unlike :class:`GaussianPolicy` the log-std is a head of the network (state-dependent, clipped to
    [``log_std_min``, ``log_std_max``]) and the squashing is on samples, so log-probabilities carry the tanh Jacobian
    (:func:`tanh_gaussian_log_prob`). Returns μ and log σ, each ``(B, A)``; the deterministic action is tanh(μ).
    """

    hidden_dims: Sequence[int]
    action_dim: int
    log_std_min: float = -20.0
    log_std_max: float = 2.0

    @nn.compact
    def __call__(self, observations):
        h = MLP(self.hidden_dims, activate_final=True)(observations)
        mean = nn.Dense(self.action_dim, kernel_init=default_init, name="mean")(h)
        log_std = nn.Dense(self.action_dim, kernel_init=default_init, name="log_std")(h)
        return mean, jnp.clip(log_std, self.log_std_min, self.log_std_max)


def tanh_gaussian_log_prob(mean, log_std, pre_tanh):
    """log π(tanh(u)) for u = ``pre_tanh``: the Gaussian density of u minus Σ log(1 − tanh²(u)) → ``(B,)``.

    log(1 − tanh²(u)) is computed as 2·(log 2 − u − softplus(−2u)), which stays finite where tanh(u) rounds to ±1.
    """
    log_det = 2.0 * (math.log(2.0) - pre_tanh - nn.softplus(-2.0 * pre_tanh))
    return gaussian_log_prob(mean, log_std, pre_tanh) - log_det.sum(-1)
