"""Reward, action and observation transforms: fitted once on the offline data, then applied unchanged online.

The official code rescales locomotion rewards on the stored dataset but shifts AntMaze rewards per batch in
fine-tuning (one transform, two places). Here a fitted :class:`RewardTransform` is a small pytree that travels with
the agent, and ``apply`` is the one function used on offline and online rewards alike.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from iql_jax.data.transitions import Transitions, read_only
from iql_jax.errors import ConfigError, DataError

REWARD_KINDS = ("none", "locomotion", "antmaze")


class RewardTransform(NamedTuple):
    """``r -> r * scale + shift``; works on NumPy and JAX arrays."""

    scale: float = 1.0
    shift: float = 0.0

    def apply(self, rewards):
        return rewards * self.scale + self.shift


class ObservationStats(NamedTuple):
    """Per-dimension mean and std for optional observation normalisation; saved with the agent state."""

    mean: Any  # (obs_dim,) float32
    std: Any  # (obs_dim,) float32, already includes eps

    def apply(self, observations):
        return (observations - self.mean) / self.std


def trajectory_returns(transitions: Transitions) -> np.ndarray:
    """Undiscounted return of each trajectory, trajectories split after every ``episode_ends`` row (float64).

    The data's end closes the last trajectory even if its ``episode_ends`` row is 0.
    """
    rewards = np.asarray(transitions.rewards, dtype=np.float64)
    if rewards.size == 0:
        return np.zeros(0)
    ends = np.flatnonzero(np.asarray(transitions.episode_ends) > 0)
    starts = np.concatenate([[0], ends[ends < len(rewards) - 1] + 1])
    return np.add.reduceat(rewards, starts)


def fit_reward_transform(kind: str, transitions: Transitions) -> RewardTransform:
    """Fit the reward transform of the official IQL code.

    Args:
        kind: ``"none"`` (identity; Kitchen, Adroit); ``"locomotion"``: scale = 1000 / (R_max - R_min) over the
            dataset's trajectory returns (the paper: "dividing by the difference of returns of the best and worst
            trajectories"); ``"antmaze"``: shift -1, so sparse 0/1 rewards become -1/0 (AntMaze and sparse
            goal-reaching mazes; see ``reference/mazes.md`` §2).
        transitions: the offline data (only ``"locomotion"`` reads it).

    Returns:
        The :class:`RewardTransform`.

    Raises:
        ConfigError: unknown ``kind``.
        DataError: ``"locomotion"`` on data whose trajectories all have the same return (nothing to scale by).
    """
    if kind == "none":
        return RewardTransform(1.0, 0.0)
    if kind == "antmaze":
        return RewardTransform(1.0, -1.0)
    if kind == "locomotion":
        returns = trajectory_returns(transitions)
        spread = float(returns.max() - returns.min()) if returns.size else 0.0
        if not spread > 0.0:
            raise DataError("transitions", "rewards", "trajectories with different returns (R_max > R_min)",
                            f"{returns.size} trajectories, all returning {returns.max() if returns.size else 0:.6g}")
        return RewardTransform(1000.0 / spread, 0.0)
    raise ConfigError(f"reward transform: expected one of {', '.join(REWARD_KINDS)}, found {kind!r}")


def goal_terminals(transitions: Transitions) -> Transitions:
    """The sparse goal-reaching recipe's terminals: a step that earns the goal reward (r > 0) ends the MDP.

    The official AntMaze code trains on D4RL data whose terminals mark every goal reach (mask 0 there, with
    r − 1 elsewhere); Minari's maze data never terminate, so the same recipe needs this (``mazes.md`` §2).
    """
    rewards = np.asarray(transitions.rewards)
    terminals = np.maximum(np.asarray(transitions.terminals), (rewards > 0).astype(np.float32))
    return transitions._replace(terminals=read_only(terminals))


def clip_actions(actions, eps: float = 1e-5) -> np.ndarray:
    """Clip to ±(1 - eps), the official ``clip_to_eps``: keeps a tanh policy's log-probability finite."""
    bound = np.float32(1.0 - eps)
    return np.clip(np.asarray(actions, dtype=np.float32), -bound, bound)


def fit_observation_stats(transitions: Transitions, eps: float = 1e-3) -> ObservationStats:
    """Mean and ``std + eps`` of the observations (float32), the TD3+BC/CORL recipe; the agent applies them."""
    observations = np.asarray(transitions.observations)
    mean = observations.mean(axis=0, dtype=np.float64)
    std = observations.std(axis=0, dtype=np.float64) + eps
    return ObservationStats(mean.astype(np.float32), std.astype(np.float32))
