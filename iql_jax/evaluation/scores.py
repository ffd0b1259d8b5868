"""D4RL normalised scores: the reference table and the one formula.

normalised score = 100 · (R − REF_MIN) / (REF_MAX − REF_MIN), with R the undiscounted episode return, so 0 is a
random policy and 100 an expert. AntMaze (0, 1) makes the score the success rate × 100; Kitchen (0, 4) gives
25 points per completed subtask.

The constants are D4RL's (``d4rl/infos.py`` at commit ``89141a6``, quoted in
``shared/reference/d4rl-and-envs.md`` §1). They were measured on the old environments (gym ``*-v3`` on mujoco-py,
MuJoCo 2.x). Scores computed here on gymnasium v5 / gymnasium-robotics environments are only **approximately**
comparable to published D4RL numbers (§8): Hopper-v5 and Walker2d-v5 no longer pay the healthy reward on the
terminating step (returns differ by 1 per fallen episode), Walker2d-v5 changed the right foot's friction, the
mazes are centred, use a 0.45 success radius instead of 0.5 and add ±1 m start/goal noise, and FrankaKitchen-v1
observes different quantities than D4RL kitchen. Compare like with like: report the environment id beside any score.

Maze2d (``maze2d-*``) is left out: the reference pack gives no constants for it. ``ant-*`` takes the task
catalogue's ant constants (:data:`iql_jax.tasks.LOCOMOTION_REFS`), the same the catalogue pairs with ``Ant-v4``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from iql_jax.data.transitions import DatasetInfo
from iql_jax.errors import IQLError
from iql_jax.tasks import ADROIT_REFS, ANTMAZE_REFS, KITCHEN_REFS, LOCOMOTION_REFS


def _table() -> dict[str, tuple[float, float]]:
    """Expand the catalogue's constants (d4rl-and-envs.md §1) into one entry per D4RL dataset id."""
    scores: dict[str, tuple[float, float]] = {}
    # The catalogue (tasks.py) owns every constant, ant's too: this table only spells out the dataset ids.
    locomotion = LOCOMOTION_REFS
    v0_sets = ("random", "medium", "expert", "medium-replay", "medium-expert")
    for env, ref in locomotion.items():
        scores.update({f"{env}-{d}-v0": ref for d in v0_sets})
        scores.update({f"{env}-{d}-{v}": ref for d in (*v0_sets, "full-replay") for v in ("v1", "v2")})
    # AntMaze v0 and v2 are in infos.py; v1 is not, but the 0/1 convention (score = success rate × 100) is the same.
    mazes = ("umaze", "umaze-diverse", "medium-play", "medium-diverse", "large-play", "large-diverse")
    scores.update({f"antmaze-{m}-{v}": ANTMAZE_REFS for m in mazes for v in ("v0", "v1", "v2")})
    scores.update({f"kitchen-{d}-v0": KITCHEN_REFS for d in ("complete", "partial", "mixed")})
    for task, ref in ADROIT_REFS.items():
        scores.update({f"{task}-{d}-{v}": ref for d in ("human", "cloned", "expert") for v in ("v0", "v1")})
    return scores


D4RL_REF_SCORES: dict[str, tuple[float, float]] = _table()
"""Dataset id (e.g. ``"hopper-medium-v2"``) -> (REF_MIN_SCORE, REF_MAX_SCORE)."""


def reference_scores(info: DatasetInfo | str) -> tuple[float, float] | None:
    """The (min, max) returns that normalise a dataset's scores.

    Args:
        info: a :class:`~iql_jax.data.transitions.DatasetInfo` or a bare dataset name.

    Returns:
        The dataset's own ``ref_min_score``/``ref_max_score`` when both are recorded (Minari datasets carry them),
        else D4RL's constants for its name, else ``None``.
    """
    if isinstance(info, DatasetInfo):
        if info.ref_min_score is not None and info.ref_max_score is not None:
            return float(info.ref_min_score), float(info.ref_max_score)
        info = info.name
    return D4RL_REF_SCORES.get(info)


def normalized_score(returns: Any, ref_min: float, ref_max: float) -> Any:
    """D4RL's normalised score, ``100 · (R − ref_min) / (ref_max − ref_min)``.

    Args:
        returns: one episode return or an array of them.
        ref_min: return of the random reference policy.
        ref_max: return of the expert reference policy.

    Returns:
        A float for a scalar input, otherwise an array of the input's shape.

    Raises:
        IQLError: ``ref_max`` equals ``ref_min`` (the score would be undefined).
    """
    if ref_max == ref_min:
        raise IQLError(f"reference scores: expected ref_max != ref_min, found both {ref_min}")
    score = 100.0 * (np.asarray(returns, dtype=np.float64) - ref_min) / (ref_max - ref_min)
    return float(score) if score.ndim == 0 else score
