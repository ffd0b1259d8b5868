"""Built-in datasets: determinism, Minari-style moving-goal collection, the cache, and ``load_dataset`` dispatch."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from iql_jax.data import builtin, builtin_dataset_id, builtin_names, load_builtin, load_dataset, trajectory_returns
from iql_jax.data.generate_maze import COLLECTION_LIMIT, collect_pointmaze
from iql_jax.data.minari_io import load_minari
from iql_jax.tasks import TASKS
from iql_jax.data.generate_random import collect_random
from iql_jax.errors import ConfigError, DataError

STEPS = 3000


def stacked(episodes, field):
    return np.concatenate([getattr(e, field) for e in episodes])


def test_pointmaze_generation_is_deterministic(tmp_path):
    def collect(seed, name):
        path = collect_pointmaze("umaze", 2000, seed, tmp_path / name, f"local/pm/s{seed}-v0")
        return load_minari(path)

    first, again, other = collect(0, "a"), collect(0, "b"), collect(1, "c")
    for a, b in zip(first.transitions, again.transitions):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.goals.desired, again.goals.desired)
    assert not np.array_equal(first.transitions.observations[:100], other.transitions.observations[:100])


def test_random_generation_is_deterministic():
    (first, _), (again, _), (other, _) = (collect_random("hopper", 500, seed) for seed in (3, 3, 4))
    np.testing.assert_array_equal(stacked(first, "observations"), stacked(again, "observations"))
    np.testing.assert_array_equal(stacked(first, "rewards"), stacked(again, "rewards"))
    assert not np.array_equal(stacked(first, "actions"), stacked(other, "actions"))


def test_pointmaze_is_collected_like_minari_d4rl_pointmaze(data_cache_dir):
    dataset = load_dataset(f"pointmaze-umaze:{STEPS}", progress=False)
    t, info, goals = dataset.transitions, dataset.info, dataset.goals
    assert t.size == STEPS and info.name == "pointmaze-umaze" and info.domain == "maze"
    assert info.extra["observation_layout"] == ("observation",) and goals is not None
    # written by Minari's DataCollector: dict observations on disk, goals re-drawn after each reach
    collection = json.loads(info.env_spec)
    assert collection["kwargs"]["reset_target"] is True and collection["kwargs"]["continuing_task"] is True
    assert collection["max_episode_steps"] == COLLECTION_LIMIT
    assert len(np.unique(goals.desired, axis=0)) > 10
    # each reach earns the env's sparse reward and truncates the episode; nothing terminates
    reached = t.rewards > 0
    assert reached.sum() >= 20 and t.terminals.sum() == 0
    np.testing.assert_array_equal(t.timeouts[:-1], reached[:-1])
    assert t.episode_ends[-1] == 1
    # the next episode starts where the last one ended (no reset): observations are continuous across the cut
    cut = int(np.flatnonzero(reached)[0])
    np.testing.assert_array_equal(t.next_observations[cut], t.observations[cut + 1])
    eval_spec = json.loads(info.eval_env_spec)
    assert eval_spec["max_episode_steps"] == 300 and eval_spec["kwargs"]["maze_map"][1][1] == "g"
    assert eval_spec["kwargs"]["reset_target"] is False and eval_spec["kwargs"]["continuing_task"] is True
    assert 0 <= info.ref_min_score < info.ref_max_score <= 300


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


def test_generate_takes_the_size_as_a_suffix_like_every_other_command(data_cache_dir, capsys):
    from iql_jax.cli import main

    assert main(["data", "generate", "hopper-random:1200", "--seed", "1"]) == 0
    assert "iql-jax/hopper-random-s1200-seed1-v0" in capsys.readouterr().out
    assert main(["data", "generate", "hopper-random:1200", "--steps", "1300"]) == 2
    assert "the size suffix says 1200 steps but steps=1300" in capsys.readouterr().err


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
def test_controller_reaches_collection_goals_in_every_maze(maze, min_goals, tmp_path):
    dataset = load_minari(collect_pointmaze(maze, 2000, 0, tmp_path, f"local/pm/{maze}-v0"))
    assert dataset.transitions.rewards.sum() >= min_goals  # ~117 (medium) and ~182 (large) steps per goal


@pytest.mark.parametrize("task, obs_dim, act_dim", [("hopper", 11, 3), ("halfcheetah", 17, 6), ("walker2d", 17, 6),
                                                    ("ant", 105, 8)])
def test_every_random_task_collects(task, obs_dim, act_dim):
    episodes, spec = collect_random(task, 200, 0)
    assert episodes[0].observations.shape[1] == obs_dim and episodes[0].actions.shape[1] == act_dim
    assert sum(len(e.rewards) for e in episodes) == 200 and spec.max_episode_steps == 1000


def test_eval_env_goal_is_the_catalogue_goal(data_cache_dir):
    import gymnasium as gym
    from gymnasium.envs.registration import EnvSpec

    info = load_dataset(f"pointmaze-umaze:{STEPS}", progress=False).info
    env = gym.make(EnvSpec.from_json(info.eval_env_spec))
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        # gymnasium-robotics adds U(-0.25, 0.25) noise per axis to the goal cell's centre
        assert np.abs(obs["desired_goal"] - np.array(TASKS["pointmaze-umaze"].maze.goal_xy)).max() <= 0.25


@pytest.mark.parametrize("maze, steps", [("umaze", STEPS), ("large", 20_000)])  # large: 46 cells to cover
def test_stitch_segments_cover_the_maze_but_never_join_start_and_goal(data_cache_dir, maze, steps):
    from iql_jax.data.generate_maze import STITCH_ENDS

    dataset = load_dataset(f"pointmaze-{maze}-stitch:{steps}", progress=False)
    t, info, layout = dataset.transitions, dataset.info, TASKS[f"pointmaze-{maze}"].maze
    coverage = info.extra["coverage"]
    start, goal = STITCH_ENDS[maze]
    assert coverage["eval_start_cell"] == list(start) and coverage["eval_goal_cell"] == list(goal)
    assert coverage["segments"] == int(t.episode_ends.sum()) == sum(coverage["start_cells"].values())
    assert sorted(coverage["start_cells"]) == sorted(str(c) for c in layout.free_cells())  # every free cell starts some
    # cells visited by each segment: none holds both the evaluation start and goal
    xy = np.concatenate([t.observations[:, :2], t.next_observations[:, :2]])
    height, width = len(layout.walls), len(layout.walls[0])
    cells = np.stack([np.floor(height / 2 - xy[:, 1]), np.floor(xy[:, 0] + width / 2)], axis=1).astype(int)
    ends = np.flatnonzero(t.episode_ends)
    first = np.concatenate([[0], ends[:-1] + 1])
    n = t.size
    for a, b in zip(first, ends + 1):
        visited = {tuple(c) for c in cells[a:b]} | {tuple(c) for c in cells[n + a:n + b]}
        assert not (start in visited and goal in visited)
    assert t.rewards.sum() >= 0.9 * coverage["segments"]  # the controller reaches nearly every segment's goal
    spec = json.loads(info.eval_env_spec)
    cells_map = spec["kwargs"]["maze_map"]
    assert cells_map[start[0]][start[1]] == "r" and cells_map[goal[0]][goal[1]] == "g"
    assert info.ref_min_score < info.ref_max_score
