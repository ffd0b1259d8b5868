"""Flattening dict observations: the one function that the loaders and evaluation share.

Goal-reaching environments from gymnasium-robotics return ``{"observation", "achieved_goal", "desired_goal"}``.
iql_jax follows D4RL's flat layout and keeps the goal out of the observation (the D4RL-style fixed-goal design:
rewards are relabelled against the single evaluation goal, see ``shared/reference/mazes.md``):

* AntMaze: ``concat(achieved_goal, observation)`` (x, y then the 27 others) equals D4RL's 29-vector;
* PointMaze: ``observation`` alone, since it already starts with (x, y) = ``achieved_goal``; equals maze2d's 4-vector;
* anything else with an ``observation`` key (FrankaKitchen): ``observation``;
* other dicts: every key in sorted order.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

# Environment-id prefix -> dict keys concatenated, in order.
_LAYOUTS: dict[str, tuple[str, ...]] = {
    "AntMaze": ("achieved_goal", "observation"),
    "PointMaze": ("observation",),
}


def observation_layout(env_id: str | None, keys: Sequence[str]) -> tuple[str, ...]:
    """The ordered dict keys that make the flat observation for ``env_id`` (whose dict space has ``keys``)."""
    for prefix, layout in _LAYOUTS.items():
        if env_id and env_id.startswith(prefix) and all(k in keys for k in layout):
            return layout
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
