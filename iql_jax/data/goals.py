"""Goal handling for goal-reaching data: make a moving-goal dataset a well-posed task (``--data.goal``).

Minari's maze datasets are collected with goals that move (``D4RL/pointmaze``: re-drawn at every reach), and the
stored sparse reward of step t was earned for ``desired_goal[t + 1]`` (``shared/reference/mazes.md`` §1). Feeding
only the observation then asks the policy to reach a goal it cannot see. Two consistent designs:

* ``conditioned``: the goal is part of the input. obs_t = [layout(o_t), g_t], next_obs_t = [layout(o_{t+1}), g_t]
  with g_t = ``desired_goal[t + 1]`` held fixed inside the transition; rewards as stored. Evaluation appends the
  env's ``desired_goal`` through the same recorded layout, on the task's fixed-goal map.
* ``relabel``: D4RL's AntMaze recipe. Rewards and goal terminals are recomputed against the evaluation map's fixed
  goal, r_t = terminal_t = 1[‖achieved_goal[t + 1] − goal‖ ≤ radius] (AntMaze 0.5, PointMaze 0.45); no goal in
  the observation.
* ``none``: observations without the goal and rewards as stored (right only when the goal never moves).
* ``auto``: ``conditioned`` when ``desired_goal`` varies in the data, else ``none``.

With the AntMaze reward recipe (r − 1) the goal-reaching step is also terminal in ``conditioned`` mode
(:func:`iql_jax.data.transforms.goal_terminals`), as the official code's D4RL data have it.
"""

from __future__ import annotations

import dataclasses
import json
import numpy as np

from iql_jax.data.spaces import GOAL_KEY
from iql_jax.data.transitions import Dataset, DatasetInfo, read_only
from iql_jax.errors import ConfigError
from iql_jax.tasks import G, Maze, Task, find_task_of

GOAL_MODES = ("auto", "conditioned", "relabel", "none")  # DataConfig.goal
EVAL_GOALS = ("auto", "recorded", "fixed")  # DataConfig.eval_goal
_VARIES = 1e-6  # desired_goal spread (max − min, any coordinate) above which goals "move"


def resolve_goal_mode(dataset: Dataset, mode: str) -> tuple[str, str]:
    """The concrete mode for ``mode`` on ``dataset`` and a one-line reason, for printing and ``config.json``.

    Raises:
        ConfigError: an unknown mode, or ``conditioned``/``relabel`` on data without goal fields.
    """
    if mode not in GOAL_MODES:
        raise ConfigError(f"data.goal: expected one of {', '.join(GOAL_MODES)}, found {mode!r}")
    goals = dataset.goals
    if mode in ("conditioned", "relabel") and goals is None:
        raise ConfigError(f"data.goal={mode}: {dataset.info.source} has no achieved_goal/desired_goal observation "
                          "fields (only Minari dict observations carry them); use --data.goal none")
    if mode != "auto":
        return mode, "as requested"
    if goals is None:
        return "none", "the data carry no goal fields"
    desired = np.asarray(goals.desired)
    if desired.size and float((desired.max(0) - desired.min(0)).max()) > _VARIES:
        distinct = len(np.unique(desired.round(4), axis=0))
        return "conditioned", f"desired_goal varies in the data ({distinct:,} distinct goals)"
    return "none", "desired_goal is the same on every step"


def apply_goal_mode(dataset: Dataset, mode: str, eval_goal: str = "auto") -> Dataset:
    """``dataset`` as the concrete ``mode`` (from :func:`resolve_goal_mode`) defines it.

    The returned info records ``extra["goal"]`` = mode, the flat ``observation_layout`` evaluation must build, and
    the ``eval_env_spec`` evaluation uses (``eval_goal``, :data:`EVAL_GOALS`): a policy that sees no goal, or whose
    data were relabelled to one goal, is judged on the catalogued maze's fixed-goal map, where that goal is; a
    conditioned one, by default, in the env the dataset records with its reference scores (as the dataset's authors
    scored it), else on the fixed-goal map.
    """
    info, t, goals = dataset.info, dataset.transitions, dataset.goals
    extra = {**info.extra, "goal": mode}
    if eval_goal not in EVAL_GOALS:
        raise ConfigError(f"data.eval_goal: expected one of {', '.join(EVAL_GOALS)}, found {eval_goal!r}")
    if eval_goal == "recorded" and mode != "conditioned":
        raise ConfigError(f"data.eval_goal=recorded: a policy trained with --data.goal {mode} does not see the goal, "
                          "so it is evaluated on the fixed-goal map; use --data.eval-goal auto or fixed")
    owns = info.eval_env_spec is not None and info.ref_min_score is not None and info.ref_max_score is not None
    keep = eval_goal == "recorded" or (eval_goal == "auto" and mode == "conditioned" and owns)
    spec = None if keep else fixed_goal_spec(info)
    if mode == "conditioned":
        g = np.asarray(goals.desired, np.float32)
        t = t._replace(observations=read_only(np.concatenate([t.observations, g], axis=1)),
                       next_observations=read_only(np.concatenate([t.next_observations, g], axis=1)))
        extra["observation_layout"] = tuple(extra.get("observation_layout") or ("observation",)) + (GOAL_KEY,)
    elif mode == "relabel":
        maze = _fixed_maze(info, spec)
        hits = relabel_rewards(goals.achieved, maze.goal_xy, maze.radius)
        t = t._replace(rewards=hits, terminals=hits)
        extra.update(relabel_goal=list(maze.goal_xy), relabel_radius=maze.radius)
    info = dataclasses.replace(info, extra=extra, eval_env_spec=spec or info.eval_env_spec)
    return Dataset(t, info, goals)


def relabel_rewards(achieved_next, goal, radius: float) -> np.ndarray:
    """``1[‖achieved_goal[t + 1] − goal‖ ≤ radius]`` in float64 on the stored values (read-only float32)."""
    distance = np.linalg.norm(np.asarray(achieved_next, np.float64) - np.asarray(goal, np.float64), axis=1)
    return read_only((distance <= radius).astype(np.float32))


def fixed_goal_spec(info: DatasetInfo) -> str | None:
    """The evaluation spec (gymnasium JSON) on the task's fixed-goal map, or ``None`` to keep the recorded one.

    A recorded evaluation spec whose map has one ``g`` cell and whose goal does not move is kept (Minari's own
    evaluation specs); otherwise the catalogue's fixed-goal map replaces it, on the dataset's own env id.
    """
    recorded = _spec(info.eval_env_spec) or _spec(info.env_spec)
    task = _task(info)
    if recorded is not None and _has_fixed_goal(recorded):
        return None
    if task is None or task.maze is None:
        return None
    env_id = recorded["id"] if recorded else task.env_id
    kwargs = {**(recorded or {}).get("kwargs", {}), **task.eval_kwargs()}
    return json.dumps({"id": env_id, "kwargs": kwargs, "max_episode_steps": task.max_episode_steps})


def _fixed_maze(info: DatasetInfo, spec: str | None) -> Maze:
    """The maze whose ``g`` cell relabels the data: the evaluation map, with the task's scaling and radius."""
    task = _task(info)
    record = _spec(spec) or _spec(info.eval_env_spec) or {}
    maze_map = record.get("kwargs", {}).get("maze_map")
    if task is None or task.maze is None:
        raise ConfigError(f"data.goal=relabel: {info.source}: no fixed evaluation goal is known for this dataset "
                          "(not a catalogued maze task); use --data.goal conditioned or none")
    if maze_map is None:
        return task.maze
    goal = [(i, j) for i, row in enumerate(maze_map) for j, c in enumerate(row) if c == G]
    walls = tuple(tuple(1 if c == 1 else 0 for c in row) for row in maze_map)
    scaling = float(record["kwargs"].get("maze_size_scaling", task.maze.scaling))
    return Maze(walls, goal[0], None, scaling, task.maze.radius)


def _task(info: DatasetInfo) -> Task | None:
    ids = [(_spec(text) or {}).get("id") for text in (info.eval_env_spec, info.env_spec)]
    return find_task_of(*ids, info.name)


def _has_fixed_goal(record: dict) -> bool:
    kwargs = record.get("kwargs") or {}
    cells = [c for row in kwargs.get("maze_map") or [] for c in row if c == G]
    return len(cells) == 1 and not kwargs.get("reset_target", False)


def _spec(text) -> dict | None:
    try:
        record = json.loads(text) if text else None
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
