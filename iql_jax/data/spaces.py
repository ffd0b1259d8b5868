"""Flattening dict observations: the one function that the loaders and evaluation share.

Goal-reaching environments from gymnasium-robotics return ``{"observation", "achieved_goal", "desired_goal"}``.
The base layout (the goal excluded) is the task catalogue's (:mod:`iql_jax.tasks`), following D4RL's flat vectors:

* AntMaze: ``concat(achieved_goal, observation)`` (x, y then the 27 others) equals D4RL's 29-vector;
* PointMaze: ``observation`` alone, since it already starts with (x, y) = ``achieved_goal``; equals maze2d's 4-vector;
* anything else with an ``observation`` key (FrankaKitchen): ``observation``;
* other dicts: every key in sorted order.

A goal-conditioned run appends ``desired_goal`` (:mod:`iql_jax.data.goals`); evaluation flattens the environment's
dicts with the same recorded layout, so training and evaluation inputs are built by the same function.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from iql_jax.tasks import find_task

GOAL_KEY = "desired_goal"
GOAL_KEYS = ("achieved_goal", GOAL_KEY)  # read alongside the layout for goal handling (iql_jax.data.goals)


def observation_layout(env_id: str | None, keys: Sequence[str]) -> tuple[str, ...]:
    """The ordered dict keys that make the flat observation for ``env_id`` (whose dict space has ``keys``)."""
    task = find_task(env_id)
    if task is not None and task.layout and all(k in keys for k in task.layout):
        return task.layout
    if "observation" in keys:
        return ("observation",)
    return tuple(sorted(keys))


def flatten_observation(observation, layout: Sequence[str]) -> np.ndarray:
    """Concatenate the ``layout`` entries of a dict observation along the last axis (float32).

    Works on single observations ``(obs,)`` and on batches ``(..., obs)``; a plain array passes through.
    """
    if not isinstance(observation, Mapping):
        return np.asarray(observation, dtype=np.float32)
    parts = [np.asarray(observation[k], dtype=np.float32) for k in layout]
    return np.concatenate(parts, axis=-1)
