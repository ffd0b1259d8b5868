"""The task catalogue: names resolve to tasks, and its maze geometry equals gymnasium-robotics' own."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from iql_jax.registry import register_robotics
from iql_jax.tasks import DOMAINS, TASKS, find_task, preset_name, score_kind


@pytest.mark.parametrize("name, key", [
    ("hopper-medium-v2", "hopper"), ("Hopper-v5", "hopper"), ("ant-random", "ant"),
    ("antmaze-umaze-diverse-v2", "antmaze-umaze"), ("Ant_maze_u-maze_noisy_multistart_False", "antmaze-umaze"),
    ("Ant_maze_big-maze_noisy", "antmaze-medium"), ("Ant_maze_hardest-maze_noisy", "antmaze-large"),
    ("AntMaze_Medium_Diverse_GR-v4", "antmaze-medium"), ("D4RL/antmaze/large-play-v1", "antmaze-large"),
    ("D4RL/pointmaze/umaze-v2", "pointmaze-umaze"), ("PointMaze_Open-v3", "pointmaze"),
    ("PointMaze_UMaze-v3", "pointmaze-umaze"),
    ("maze2d-large-dense-v1", "maze2d-large-dense"), ("maze2d-medium-v1", "pointmaze-medium"),
    ("kitchen-mixed-v0", "kitchen-mixed"), ("FrankaKitchen-v1", "kitchen"), ("AdroitHandDoor-v1", "door"),
    ("pen-human-v1", "pen"), ("Pendulum-v1", None), ("", None), (None, None),
])
def test_names_resolve_to_the_longest_alias(name, key):
    task = find_task(name)
    assert (task.key if task else None) == key


def test_every_task_has_a_known_domain_preset_and_score():
    from iql_jax.config import PRESETS

    assert all(t.domain in DOMAINS for t in TASKS.values())
    assert all(d.preset in PRESETS for d in DOMAINS.values())
    assert preset_name("maze") == "antmaze" and preset_name(None) == "locomotion"
    assert score_kind("antmaze") == "success" and score_kind("maze") == "return" and score_kind("x") == "return"


@pytest.mark.parametrize("key, layout", [
    ("pointmaze-umaze", "U_MAZE"), ("pointmaze-medium", "MEDIUM_MAZE"), ("pointmaze-large", "LARGE_MAZE"),
    ("antmaze-medium", "MEDIUM_MAZE"), ("antmaze-large", "LARGE_MAZE"),
])
def test_maze_walls_equal_gymnasium_robotics_maps(key, layout):
    import gymnasium_robotics

    register_robotics()
    walls = [[c if c == 1 else 0 for c in row] for row in TASKS[key].eval_kwargs()["maze_map"]]
    assert walls == getattr(gymnasium_robotics.envs.maze.maps, layout)


@pytest.mark.parametrize("key", ["pointmaze-umaze", "pointmaze-medium", "antmaze-umaze", "antmaze-large"])
def test_fixed_goal_centre_is_where_the_env_puts_the_goal(key):
    register_robotics()
    task = TASKS[key]
    env = gym.make(task.env_id, **task.eval_kwargs())
    noise = 0.25 * task.maze.scaling  # gymnasium-robotics' position noise around a cell centre
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        assert np.abs(obs["desired_goal"] - np.array(task.maze.goal_xy)).max() <= noise + 1e-9
        if task.maze.start is not None:  # the ant starts in the 'r' cell
            assert np.abs(obs["achieved_goal"] - np.array(task.maze.centre(task.maze.start))).max() <= noise + 1e-9
