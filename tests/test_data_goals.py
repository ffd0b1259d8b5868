"""Goal handling (``--data.goal``): alignment, conditioned layout == evaluation layout, relabelling by hand."""

from __future__ import annotations

import json

import gymnasium as gym
import minari
import numpy as np
import pytest
from minari.data_collector import EpisodeBuffer

from iql_jax.config import DataConfig, TrainConfig
from iql_jax.data import load_dataset
from iql_jax.data.goals import apply_goal_mode, resolve_goal_mode
from iql_jax.data.minari_io import load_minari, minari_datasets_path
from iql_jax.errors import ConfigError
from iql_jax.evaluation import resolve_eval_env
from iql_jax.registry import register_robotics
from iql_jax.runs.rundir import RunRecord, new_record
from iql_jax.runs.prepare import prepare
from iql_jax.tasks import TASKS

STEPS = 3000


def conditioned(source: str):
    dataset = load_dataset(source, progress=False)
    mode, _ = resolve_goal_mode(dataset, "auto")
    return mode, apply_goal_mode(dataset, mode)


def test_auto_conditions_moving_goals_and_rewards_align_with_the_next_goal(data_cache_dir):
    mode, dataset = conditioned(f"pointmaze-umaze:{STEPS}")
    t = dataset.transitions
    assert mode == "conditioned" and t.obs_dim == 6 and dataset.info.extra["goal"] == "conditioned"
    assert dataset.info.extra["observation_layout"] == ("observation", "desired_goal")
    np.testing.assert_array_equal(t.observations[:, 4:], t.next_observations[:, 4:])  # g fixed inside a transition
    # the stored reward of step t was computed against g_t = desired_goal[t + 1], on every transition
    distance = np.linalg.norm(t.next_observations[:, :2].astype(np.float64) - t.observations[:, 4:], axis=1)
    np.testing.assert_array_equal(t.rewards, (distance <= 0.45).astype(np.float32))
    assert t.rewards.sum() >= 20
    # the stale alternative desired_goal[t] (g_{t-1}) is the old goal on every step right after a reach
    stale = np.concatenate([t.observations[:1, 4:], t.observations[:-1, 4:]])
    after = np.flatnonzero(t.rewards > 0)[:-1] + 1
    assert np.all(np.abs(stale[after] - t.observations[after, 4:]).max(axis=1) > 0)


def test_conditioned_layout_equals_the_evaluation_layout(tmp_path):
    """A dataset collected through DataCollector on the fixed-goal map loads exactly as evaluation sees it."""
    register_robotics()
    task = TASKS["pointmaze-umaze"]
    kwargs = dict(task.eval_kwargs(), max_episode_steps=task.max_episode_steps)
    collector = minari.DataCollector(gym.make(task.env_id, **kwargs), record_infos=False)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (40, 2)).astype(np.float32)
    collector.reset(seed=5)
    for a in actions:
        collector.step(a)
    with minari_datasets_path(tmp_path):
        collector.create_dataset("local/pm/fixed-v0", algorithm_name="random", author="test", code_permalink="x")
    dataset = load_minari(tmp_path / "local/pm/fixed-v0")
    assert resolve_goal_mode(dataset, "auto")[0] == "none"  # the goal never moves here
    dataset = apply_goal_mode(dataset, "conditioned")
    env = resolve_eval_env(dataset.info).make()
    assert env.layout == ("observation", "desired_goal")
    flat = [env.reset(seed=5)[0]] + [env.step(a)[0] for a in actions]
    np.testing.assert_array_equal(dataset.transitions.observations, np.stack(flat[:-1]))
    np.testing.assert_array_equal(dataset.transitions.next_observations, np.stack(flat[1:]))


def write_dict_dataset(root, dataset_id, positions, goals, env="PointMaze_UMaze-v3"):
    """One episode whose ball positions and desired goals are given by hand (velocities zero)."""
    register_robotics()
    positions, goals = np.asarray(positions, np.float64), np.asarray(goals, np.float64)
    steps = len(positions) - 1
    observations = {"observation": np.concatenate([positions, np.zeros_like(positions)], axis=1),
                    "achieved_goal": positions, "desired_goal": goals}
    distance = np.linalg.norm(positions[1:] - goals[1:], axis=1)
    buffer = EpisodeBuffer(id=0, observations=observations, actions=np.zeros((steps, 2), np.float32),
                           rewards=(distance <= 0.45).astype(np.float64), terminations=np.zeros(steps, bool),
                           truncations=np.arange(steps) == steps - 1)
    with minari_datasets_path(root):
        minari.create_dataset_from_buffers(dataset_id, [buffer], env=env, algorithm_name="hand",
                                           author="test", code_permalink="x")
    return load_minari(root / dataset_id)


def test_relabel_recomputes_rewards_and_terminals_against_the_fixed_goal(tmp_path):
    goal = TASKS["pointmaze-umaze"].maze.goal_xy
    assert goal == (-1.0, 1.0)  # the far end of the U, cell (1, 1)
    # the ball walks towards the fixed goal while the collection goal sits elsewhere
    positions = [(1.0, 1.0), (0.0, 1.0), (-0.5, 1.0), (-0.6, 1.0), (-1.0, 1.2), (-1.0, 0.2), (-1.44, 1.0)]
    moving = [(1.0, -1.0)] * 3 + [(-0.5, 1.0)] * 4
    dataset = write_dict_dataset(tmp_path, "local/pm/hand-v0", positions, moving)
    assert dataset.transitions.rewards.tolist() == [0, 0, 1, 0, 0, 0]  # earned once, for the moving goal
    relabelled = apply_goal_mode(dataset, "relabel")
    t = relabelled.transitions
    # s' = (0,1) 1.0 away, (-0.5,1) 0.5, (-0.6,1) 0.4 ✓, (-1,1.2) 0.2 ✓, (-1,0.2) 0.8, (-1.44,1) 0.44 ✓
    assert t.rewards.tolist() == [0, 0, 1, 1, 0, 1] and t.terminals.tolist() == [0, 0, 1, 1, 0, 1]
    assert t.obs_dim == 4 and relabelled.info.extra["relabel_goal"] == [-1.0, 1.0]
    spec = json.loads(relabelled.info.eval_env_spec)
    assert spec["kwargs"]["maze_map"][1][1] == "g" and spec["kwargs"]["reset_target"] is False
    assert spec["max_episode_steps"] == 300


def test_stored_rewards_of_hand_trajectory_use_the_moving_goal(tmp_path):
    positions = [(1.0, 1.0), (0.6, 1.0), (0.5, 1.0), (0.5, -1.0)]
    goals = [(0.5, 1.0), (0.5, 1.0), (0.5, 1.0), (0.5, -1.0)]  # reached at step 1 -> re-drawn in the next obs
    dataset = write_dict_dataset(tmp_path, "local/pm/moving-v0", positions, goals)
    assert dataset.transitions.rewards.tolist() == [1, 1, 1]
    t = apply_goal_mode(dataset, "conditioned").transitions
    np.testing.assert_array_equal(t.observations[:, 4:], [[0.5, 1.0], [0.5, 1.0], [0.5, -1.0]])


def test_modes_that_need_goals_refuse_flat_data(tmp_path, data_cache_dir):
    dataset = load_dataset("pointmaze-umaze-fig2", progress=False)
    assert resolve_goal_mode(dataset, "auto") == ("none", "the data carry no goal fields")
    for mode in ("conditioned", "relabel"):
        with pytest.raises(ConfigError, match=f"data.goal={mode}.*no achieved_goal"):
            resolve_goal_mode(dataset, mode)
    with pytest.raises(ConfigError, match="expected one of"):
        resolve_goal_mode(dataset, "sideways")


def test_prepare_records_the_goal_and_makes_goal_steps_terminal(data_cache_dir, tmp_path):
    config = TrainConfig(data=DataConfig(dataset=f"pointmaze-umaze:{STEPS}"))
    prepared = prepare(config, progress=False)
    t = prepared.transitions
    assert prepared.config.data.goal == "conditioned" and prepared.config.preset == "antmaze"
    assert prepared.eval_spec.observation_layout == ("observation", "desired_goal")
    reached = prepared.dataset.transitions.rewards > 0
    np.testing.assert_array_equal(t.terminals, reached.astype(np.float32))  # r − 1 recipe: the reach is terminal
    np.testing.assert_array_equal(t.rewards, np.where(reached, 0.0, -1.0))
    relabel = prepare(TrainConfig(data=DataConfig(dataset=f"pointmaze-umaze:{STEPS}", goal="relabel")),
                            progress=False)
    assert relabel.transitions.obs_dim == 4 and relabel.config.data.goal == "relabel"
    new_record(relabel, [], [], None).write(tmp_path)
    record = RunRecord.read(tmp_path)
    assert record.relabel == {"goal": [-1.0, 1.0], "radius": 0.45}
    assert record.config.data.goal == "relabel" and record.score == "return"
    raw = json.loads((tmp_path / "config.json").read_text())
    assert raw["config"]["data"]["goal"] == "relabel" and "goal" not in raw  # the goal mode is stored once
