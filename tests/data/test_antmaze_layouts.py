"""AntMaze fixtures in both real layouts (Minari dicts, D4RL-v2 HDF5): pairing, success scoring, no-timeout files.

The data are random ant actions on ``AntMaze_UMaze-v4``: enough for formats and pairing, not for learning.
"""

from __future__ import annotations

import gymnasium as gym
import h5py
import minari
import numpy as np
import pytest

from iql_jax.data import DataWarning, load_dataset, qlearning_rows
from iql_jax.data.goals import apply_goal_mode, resolve_goal_mode
from iql_jax.data.minari_io import load_minari, minari_datasets_path
from iql_jax.errors import DataError
from iql_jax.evaluation import check_dimensions, evaluate, reference_scores, resolve_eval_env
from iql_jax.registry import register_robotics
from iql_jax.tasks import TASKS

STEPS = 1500  # > 700 (the umaze time limit), so the D4RL fixture has two timeouts


@pytest.fixture(scope="module")
def ant_run(tmp_path_factory):
    """Random actions through Minari's DataCollector (continuing task, fixed goal: Minari's D4RL/antmaze setup)."""
    register_robotics()
    root = tmp_path_factory.mktemp("antmaze")
    env = gym.make("AntMaze_UMaze-v4", continuing_task=True, reset_target=False, max_episode_steps=700)
    collector = minari.DataCollector(env, record_infos=False)
    rng = np.random.default_rng(0)
    obs, _ = collector.reset(seed=0)
    observations = [obs]
    for t in range(STEPS):
        obs, _, terminated, truncated, _ = collector.step(rng.uniform(-1, 1, 8).astype(np.float32))
        if terminated or truncated:
            obs, _ = collector.reset(seed=t)
        observations.append(obs)
    with minari_datasets_path(root):
        collector.create_dataset("local/antmaze/umaze-random-v0", algorithm_name="random", author="test",
                                 code_permalink="x", description="random ant actions")
    return root / "local/antmaze/umaze-random-v0", observations


def write_d4rl_antmaze(path, observations, timeouts=True):
    """The D4RL AntMaze v2 layout: obs 29 = [x, y, 27 others], sparse reward = terminal by the 0.5 test, timeouts
    every 700 steps, infos/goal, and no next_observations."""
    flat = np.stack([np.concatenate([o["achieved_goal"], o["observation"]]) for o in observations[:-1]])
    goal = np.stack([o["desired_goal"] for o in observations[:-1]])
    n = len(flat)
    nxt = np.concatenate([flat[1:, :2], flat[-1:, :2]])
    hit = (np.linalg.norm(nxt - goal, axis=1) <= 0.5).astype(np.float32)
    with h5py.File(path, "w") as f:
        f["observations"] = flat.astype(np.float32)
        f["actions"] = np.random.default_rng(1).uniform(-1, 1, (n, 8)).astype(np.float32)
        f["rewards"], f["terminals"] = hit, hit.astype(bool)
        if timeouts:
            f["timeouts"] = (np.arange(n) % 700 == 699)
        f["infos/goal"] = goal.astype(np.float32)
        f["infos/qpos"] = np.zeros((n, 15), np.float32)
        f["infos/qvel"] = np.zeros((n, 14), np.float32)
    return path


def test_minari_antmaze_pairs_with_the_fixed_goal_map_and_scores_success(ant_run):
    path, _ = ant_run
    dataset = load_minari(path)
    assert dataset.info.domain == "antmaze" and dataset.transitions.obs_dim == 29
    assert dataset.info.extra["observation_layout"] == ("achieved_goal", "observation")  # D4RL's 29-vector order
    mode, _ = resolve_goal_mode(dataset, "auto")
    assert mode == "conditioned"  # the registered U-maze draws a new goal at every reset
    dataset = apply_goal_mode(dataset, mode)
    spec = resolve_eval_env(dataset.info)
    maze_map = spec.kwargs["maze_map"]
    assert spec.env_id == "AntMaze_UMaze-v4" and spec.max_episode_steps == 700
    assert maze_map[1][3] == "r" and maze_map[3][3] == "g" and spec.kwargs["continuing_task"] is False
    env = spec.make()
    check_dimensions(env, 31, 8, str(path))
    assert spec.observation_layout == ("achieved_goal", "observation", "desired_goal")
    assert reference_scores(dataset.info) is None  # the fixture records none: the catalogue's (0, 1) serve below
    ref = TASKS["antmaze-umaze"].ref_scores
    assert ref == (0.0, 1.0)
    result = evaluate(lambda o: np.zeros(o.shape[:-1] + (8,)), spec, 1, 2, seed=0, ref_scores=ref, score="success")
    np.testing.assert_array_equal(result.normalized_score, 100 * result.success_rate)


def test_d4rl_antmaze_file_pairs_by_name(ant_run, tmp_path):
    _, observations = ant_run
    dataset = load_dataset(str(write_d4rl_antmaze(tmp_path / "antmaze-umaze-v2.hdf5", observations)))
    info = dataset.info
    assert (info.domain, info.ref_min_score, info.ref_max_score) == ("antmaze", 0.0, 1.0)
    assert dataset.goals is None and resolve_goal_mode(dataset, "auto")[0] == "none"
    assert dataset.transitions.size == STEPS - 1 - 2  # qlearning_dataset drops the last row and the 2 timeouts
    spec = resolve_eval_env(apply_goal_mode(dataset, "none").info)
    assert spec.env_id == "AntMaze_UMaze-v4" and spec.kwargs["maze_map"][3][3] == "g"
    check_dimensions(spec.make(), dataset.transitions.obs_dim, dataset.transitions.act_dim, info.source)


def test_success_score_counts_each_episode_once():
    """A maze where the controller stays at the goal: the return counts steps there, the success score does not."""
    from iql_jax.data.generate_maze import WaypointController

    spec = resolve_eval_env(env_id="PointMaze_UMaze-v3", env_kwargs=TASKS["pointmaze-umaze"].eval_kwargs())
    controller = WaypointController(spec.make().unwrapped.maze)
    goal = TASKS["pointmaze-umaze"].maze.goal_xy
    policy = lambda obs: np.stack([[controller(o, goal) for o in member] for member in obs])
    by_return = evaluate(policy, spec, 1, 2, seed=0, ref_scores=(0.0, 1.0))
    by_success = evaluate(policy, spec, 1, 2, seed=0, ref_scores=(0.0, 1.0), score="success")
    assert by_success.success_rate[0] == 1.0 and by_success.normalized_score[0] == 100.0
    assert by_return.normalized_score[0] > 1000  # 100 × (steps spent at the goal)


def test_d4rl_file_without_timeouts_takes_the_paired_time_limit(ant_run, tmp_path):
    _, observations = ant_run
    with_timeouts = load_dataset(str(write_d4rl_antmaze(tmp_path / "antmaze-umaze-v2.hdf5", observations)))
    path = write_d4rl_antmaze(tmp_path / "antmaze-umaze-v0.hdf5", observations, timeouts=False)
    with pytest.warns(DataWarning, match="episode ends every 700 steps.*antmaze-umaze"):
        old = load_dataset(str(path))
    # qlearning_dataset's step counter (which also restarts at every goal terminal) picks the rows
    with h5py.File(path) as f:
        rows = qlearning_rows(f["terminals"][()], None, 700)
        np.testing.assert_array_equal(old.transitions.observations, f["observations"][()][rows])
    assert with_timeouts.transitions.size - 1 <= old.transitions.size <= with_timeouts.transitions.size + 1
    renamed = write_d4rl_antmaze(tmp_path / "my-ant-data.hdf5", observations, timeouts=False)
    with pytest.raises(DataError, match="--data.max-episode-steps N, or --env ID"):
        load_dataset(str(renamed))
    with pytest.warns(DataWarning, match="environment AntMaze_UMaze-v4"):
        paired = load_dataset(str(renamed), env_id="AntMaze_UMaze-v4")
    assert paired.transitions.size == old.transitions.size
