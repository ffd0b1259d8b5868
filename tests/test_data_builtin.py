"""Built-in datasets: determinism, the fixed-goal relabel, the cache, and ``load_dataset`` dispatch."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from iql_jax.data import builtin, builtin_dataset_id, builtin_names, load_builtin, load_dataset, trajectory_returns
from iql_jax.data.generate_maze import GOAL_RADIUS, MAZES, collect_pointmaze
from iql_jax.data.generate_random import collect_random
from iql_jax.errors import ConfigError, DataError

STEPS = 3000


def stacked(episodes, field):
    return np.concatenate([getattr(e, field) for e in episodes])


def test_pointmaze_generation_is_deterministic():
    first, again, other = (collect_pointmaze("umaze", 2000, seed) for seed in (0, 0, 1))
    for field in ("observations", "actions", "rewards", "terminations", "truncations"):
        np.testing.assert_array_equal(stacked(first, field), stacked(again, field))
    assert not np.array_equal(stacked(first, "observations")[:100], stacked(other, "observations")[:100])


def test_random_generation_is_deterministic():
    (first, _), (again, _), (other, _) = (collect_random("hopper", 500, seed) for seed in (3, 3, 4))
    np.testing.assert_array_equal(stacked(first, "observations"), stacked(again, "observations"))
    np.testing.assert_array_equal(stacked(first, "rewards"), stacked(again, "rewards"))
    assert not np.array_equal(stacked(first, "actions"), stacked(other, "actions"))


def test_pointmaze_round_trip_and_fixed_goal_relabel(data_cache_dir):
    dataset = load_dataset(f"pointmaze-umaze:{STEPS}", progress=False)
    t, info = dataset.transitions, dataset.info
    assert t.size == STEPS and info.name == "pointmaze-umaze" and info.domain == "maze"
    # round trip: the cached Minari dataset holds exactly what the generator produced
    episodes = collect_pointmaze("umaze", STEPS, 0)
    np.testing.assert_array_equal(t.actions, np.clip(stacked(episodes, "actions"), -(1 - 1e-5), 1 - 1e-5))
    np.testing.assert_array_equal(t.next_observations, np.concatenate([e.observations[1:] for e in episodes]))
    # every reward and terminal is 1[||xy(s') - goal|| <= 0.45] for the one evaluation goal, cell (1, 1)
    goal = np.array(info.extra["goal"])
    np.testing.assert_allclose(goal, [-1.0, 1.0])
    hit = np.linalg.norm(t.next_observations[:, :2].astype(np.float64) - goal, axis=1) <= GOAL_RADIUS
    np.testing.assert_array_equal(t.rewards, hit.astype(np.float32))
    np.testing.assert_array_equal(t.terminals, t.rewards)
    assert 0 < t.rewards.sum() < t.size
    # episodes are cut at each collection-goal reach; the data's end is an episode end too
    assert t.timeouts.sum() >= 20 and t.episode_ends[-1] == 1
    eval_spec = json.loads(info.eval_env_spec)
    assert eval_spec["max_episode_steps"] == 300 and eval_spec["kwargs"]["maze_map"][1][1] == "g"
    assert eval_spec["kwargs"]["reset_target"] is False and eval_spec["kwargs"]["continuing_task"] is True
    assert json.loads(info.env_spec)["kwargs"]["reset_target"] is True
    assert 0 <= info.ref_min_score < info.ref_max_score <= 300
    assert info.extra["observation_layout"] == ("observation",)


def test_cache_is_reused_and_keyed_by_name_steps_seed(data_cache_dir, monkeypatch):
    load_builtin("pointmaze-umaze", STEPS, progress=False)
    path = data_cache_dir / builtin_dataset_id("pointmaze-umaze", STEPS, 0)
    assert path.name == f"pointmaze-umaze-s{STEPS}-seed0-v0"
    assert (path / "data" / "main_data.hdf5").is_file()
    stamp = (path / "data" / "main_data.hdf5").stat().st_mtime_ns

    def no_generation(*args):
        raise AssertionError("regenerated a cached dataset")

    monkeypatch.setitem(builtin.BUILTINS, "pointmaze-umaze", builtin.Builtin("pointmaze-umaze", "", 1, no_generation))
    assert load_dataset(f"pointmaze-umaze:{STEPS // 1000}k").transitions.size == STEPS
    assert (path / "data" / "main_data.hdf5").stat().st_mtime_ns == stamp
    assert not [p for p in data_cache_dir.iterdir() if p.name.startswith(".generating")]


def test_fig2_dataset(data_cache_dir):
    dataset = load_dataset("pointmaze-umaze-fig2", progress=False)
    t = dataset.transitions
    returns = trajectory_returns(t)
    assert len(returns) == 100 and returns[0] == 1.0 and returns[1:].sum() == 0.0
    first_end = int(np.flatnonzero(t.episode_ends)[0])
    assert t.terminals[first_end] == 1 and t.terminals.sum() == 1 and 50 < first_end < 300
    assert t.size == first_end + 1 + 99 * 300
    assert (dataset.info.ref_min_score, dataset.info.ref_max_score) == (0.0, 1.0)
    spec = json.loads(dataset.info.eval_env_spec)
    assert spec["kwargs"]["continuing_task"] is False and spec["max_episode_steps"] == 300
    assert spec["kwargs"]["maze_map"][3][1] == "r" and spec["kwargs"]["maze_map"][1][1] == "g"
    with pytest.raises(ConfigError, match="fixed size"):
        load_dataset("pointmaze-umaze-fig2", steps=10)


def test_hopper_random(data_cache_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "user-minari"))
    dataset = load_dataset("hopper-random", steps=1500, seed=2, progress=False)
    assert os.environ["MINARI_DATASETS_PATH"] == str(tmp_path / "user-minari")  # only scoped to the writer
    assert not (tmp_path / "user-minari" / "iql-jax").exists()
    assert dataset.info.source == str(data_cache_dir / "iql-jax" / "hopper-random-s1500-seed2-v0")
    t = dataset.transitions
    assert (dataset.info.domain, dataset.info.ref_min_score, dataset.info.ref_max_score) == \
        ("locomotion", -20.272305, 3234.3)
    assert t.obs_dim == 11 and t.act_dim == 3 and t.terminals.sum() > 10
    assert np.all(t.episode_ends[t.terminals == 1] == 1)


def test_load_dataset_rejects_unknown_sources_and_bad_options(data_cache_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "empty"))
    with pytest.raises(DataError) as error:
        load_dataset("no-such-dataset")
    assert all(name in str(error.value) for name in builtin_names())
    with pytest.raises(ConfigError, match="size suffix"):
        load_dataset("pointmaze-umaze:lots")
    with pytest.raises(ConfigError, match="steps"):
        load_dataset("pointmaze-umaze", steps=0)
    with pytest.raises(ConfigError, match="only to built-in"):
        load_dataset(str(tmp_path / "x.hdf5"), steps=10)
    with pytest.raises(DataError, match="unknown name"):
        load_builtin("pointmaze-huge")


@pytest.mark.parametrize("maze, min_goals", [("medium", 10), ("large", 6)])
def test_controller_reaches_collection_goals_in_every_maze(maze, min_goals):
    episodes = collect_pointmaze(maze, 2000, 0)
    goal_cuts = sum(1 for e in episodes[:-1] if len(e.rewards) < MAZES[maze].max_episode_steps)
    assert goal_cuts >= min_goals  # ~117 (medium) and ~182 (large) steps per goal


@pytest.mark.parametrize("task, obs_dim, act_dim", [("hopper", 11, 3), ("halfcheetah", 17, 6), ("walker2d", 17, 6),
                                                    ("ant", 105, 8)])
def test_every_random_task_collects(task, obs_dim, act_dim):
    episodes, spec = collect_random(task, 200, 0)
    assert episodes[0].observations.shape[1] == obs_dim and episodes[0].actions.shape[1] == act_dim
    assert sum(len(e.rewards) for e in episodes) == 200 and spec.max_episode_steps == 1000


def test_eval_env_goal_matches_relabel_goal(data_cache_dir):
    import gymnasium as gym
    from gymnasium.envs.registration import EnvSpec

    info = load_dataset(f"pointmaze-umaze:{STEPS}", progress=False).info
    env = gym.make(EnvSpec.from_json(info.eval_env_spec))
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        # gymnasium-robotics adds U(-0.25, 0.25) noise per axis to the goal cell's centre
        assert np.abs(obs["desired_goal"] - np.array(info.extra["goal"])).max() <= 0.25
