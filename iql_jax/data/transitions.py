"""One transitions type for every data source.

Vocabulary (used everywhere in iql_jax):

* ``terminals``    the MDP really ended (fall, goal reached): do not bootstrap.
* ``timeouts``     a time limit cut the episode; the state is not terminal, bootstrapping continues.
* ``episode_ends`` a trajectory boundary (terminal, timeout, or a break between ``next_observations[i]`` and
  ``observations[i + 1]``); used only to split trajectories (returns, reward scaling), never for the TD target.
* ``masks``        ``1 - terminals``, multiplies ``discount * V(s')``; derived here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np


class Transitions(NamedTuple):
    """Flat (s, a, r, s', terminal) arrays, all float32, leading axis N.

    A NamedTuple is a JAX pytree, so ``jax.device_put(transitions)`` puts the whole dataset on the device once.
    """

    observations: Any  # (N, obs_dim)
    actions: Any  # (N, act_dim)
    rewards: Any  # (N,)
    next_observations: Any  # (N, obs_dim)
    terminals: Any  # (N,) 1.0 where the MDP ended
    timeouts: Any  # (N,) 1.0 where a time limit cut the episode
    episode_ends: Any  # (N,) 1.0 on the last transition of every trajectory

    @property
    def masks(self):
        """Bootstrap mask ``1 - terminals``: a timeout still bootstraps."""
        return 1.0 - self.terminals

    @property
    def size(self) -> int:
        """Number of transitions N (``len()`` stays the tuple's field count, as NamedTuple needs)."""
        return int(self.rewards.shape[0])

    @property
    def obs_dim(self) -> int:
        return int(self.observations.shape[-1])

    @property
    def act_dim(self) -> int:
        return int(self.actions.shape[-1])


@dataclass(frozen=True)
class DatasetInfo:
    """Where a dataset came from and what it pairs with (environment, reference scores).

    Attributes:
        name: short name, e.g. ``"pointmaze-umaze"`` or ``"hopper-medium-v2"`` (a D4RL file's stem).
        source: the path or Minari dataset id it was read from.
        domain: ``"locomotion"``, ``"antmaze"``, ``"maze"``, ``"kitchen"``, ``"adroit"`` or ``None`` when unknown;
            chooses the preset (and so the reward transform).
        env_spec: the collection environment spec as gymnasium JSON (Minari records it), or ``None``.
        eval_env_spec: the evaluation environment spec as gymnasium JSON, or ``None``.
        ref_min_score: return of a random policy, for the normalised score (``None`` if unknown).
        ref_max_score: return of an expert, for the normalised score (``None`` if unknown).
        extra: anything else a loader recorded (e.g. the observation layout of a dict space).
    """

    name: str
    source: str
    domain: str | None = None
    env_spec: str | None = None
    eval_env_spec: str | None = None
    ref_min_score: float | None = None
    ref_max_score: float | None = None
    extra: dict = field(default_factory=dict)


class GoalArrays(NamedTuple):
    """The goal fields of every transition's next observation (goal-reaching dict data), row-aligned with
    :class:`Transitions`: ``desired[i]`` is the goal transition i's reward was computed against."""

    achieved: Any  # (N, goal_dim) achieved_goal[t + 1]: where the agent got to
    desired: Any  # (N, goal_dim) desired_goal[t + 1]


@dataclass(frozen=True)
class Dataset:
    """Transitions plus their :class:`DatasetInfo`; what every loader returns.

    ``goals`` is set when the source stores goal-reaching dict observations (``achieved_goal``/``desired_goal``);
    :func:`iql_jax.data.goals.apply_goal_mode` turns it into a conditioned or relabelled task.
    """

    transitions: Transitions
    info: DatasetInfo
    goals: GoalArrays | None = None


def read_only(array: np.ndarray) -> np.ndarray:
    """Return ``array`` as float32 with its write flag cleared, so no stage can edit the data in place."""
    out = np.ascontiguousarray(array, dtype=np.float32)
    out.flags.writeable = False
    return out
