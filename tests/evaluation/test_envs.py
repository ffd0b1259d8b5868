"""Pairing datasets with evaluation environments; flat observations; dimension checks."""

import gymnasium as gym
import numpy as np
import pytest

from iql_jax.data.spaces import flatten_observation, observation_layout
from iql_jax.data.transitions import DatasetInfo
from iql_jax.errors import EnvironmentMismatchError, IQLError
from iql_jax.evaluation import EvalEnvSpec, check_dimensions, resolve_eval_env
from iql_jax.evaluation.envs import online_env
from iql_jax.registry import register_robotics
from iql_jax.tasks import TASKS


@pytest.fixture(autouse=True, scope="module")
def _robotics():  # registered when the tests run, not when the module is imported
    register_robotics()


def cells(maze, kind):
    return [(i, j) for i, row in enumerate(maze) for j, cell in enumerate(row) if cell == kind]


@pytest.mark.parametrize("name, env_id", [
    ("hopper-medium-v2", "Hopper-v5"),
    ("halfcheetah-medium-expert-v2", "HalfCheetah-v5"),
    ("walker2d-random-v0", "Walker2d-v5"),
    ("pen-human-v1", "AdroitHandPen-v1"),
    ("relocate-cloned-v0", "AdroitHandRelocate-v1"),
    ("kitchen-partial-v0", "FrankaKitchen-v1"),
    ("maze2d-medium-v1", "PointMaze_Medium-v3"),
    ("antmaze-umaze-diverse-v0", "AntMaze_UMaze-v4"),
    ("antmaze-large-play-v2", "AntMaze_Large-v4"),
])
def test_d4rl_names_map_to_gymnasium_ids(name, env_id):
    assert resolve_eval_env(DatasetInfo(name, f"/data/{name}.hdf5")).env_id == env_id


def test_d4rl_maze_maps_fix_start_and_goal():
    ant = resolve_eval_env(DatasetInfo("antmaze-medium-diverse-v0", "x")).kwargs
    assert ant["continuing_task"] is False  # D4RL's eval=True: the episode ends at the goal
    assert cells(ant["maze_map"], "r") == [(1, 1)] and cells(ant["maze_map"], "g") == [(6, 6)]
    umaze = resolve_eval_env(DatasetInfo("antmaze-umaze-v0", "x")).kwargs["maze_map"]
    assert umaze == [[1, 1, 1, 1, 1], [1, 0, 0, "r", 1], [1, 0, 1, 1, 1], [1, 0, 0, "g", 1], [1, 1, 1, 1, 1]]
    point = resolve_eval_env(DatasetInfo("maze2d-umaze-v1", "x")).kwargs
    assert cells(point["maze_map"], "g") == [(1, 1)] and cells(point["maze_map"], "r") == []
    assert point["reward_type"] == "sparse"
    assert resolve_eval_env(DatasetInfo("maze2d-large-dense-v1", "x")).kwargs["reward_type"] == "dense"
    # Walls of the medium/large tables equal gymnasium-robotics' own layouts (guards against typos).
    from gymnasium_robotics.envs.maze import maps  # imported by register_robotics (the autouse fixture)

    for size, layout in [("medium", maps.MEDIUM_MAZE), ("large", maps.LARGE_MAZE), ("umaze", maps.U_MAZE)]:
        walls = [[c if c == 1 else 0 for c in row] for row in TASKS[f"pointmaze-{size}"].eval_kwargs()["maze_map"]]
        assert walls == layout


def test_kitchen_tasks_and_ant_observation_size():
    mixed = resolve_eval_env(DatasetInfo("kitchen-mixed-v0", "x"))
    assert mixed.kwargs["tasks_to_complete"] == ["microwave", "kettle", "bottom burner", "light switch"]
    ant = resolve_eval_env(DatasetInfo("ant-medium-v2", "x")).make()
    check_dimensions(ant, 111, 8, "ant-medium-v2")  # D4RL's 111-dim ant observation


def test_unknown_dataset_asks_for_env_id():
    with pytest.raises(IQLError, match="--env-id") as err:
        resolve_eval_env(DatasetInfo("my-robot-data", "/data/my-robot-data.hdf5"))
    assert "my-robot-data" in str(err.value)
    with pytest.raises(IQLError, match="--env-id"):
        resolve_eval_env()


def test_explicit_env_id_wins_and_kwargs_merge():
    info = DatasetInfo("hopper-medium-v2", "x", extra={"observation_layout": ("observation",)})
    spec = resolve_eval_env(info, env_id="Walker2d-v5", env_kwargs={"max_episode_steps": 50, "frame_skip": 4})
    assert spec == EvalEnvSpec("Walker2d-v5", {"frame_skip": 4}, 50, ("observation",))
    env = resolve_eval_env(DatasetInfo("antmaze-umaze-v0", "x"), env_kwargs={"max_episode_steps": 9}).make()
    assert env.spec.max_episode_steps == 9


def test_minari_eval_spec_wins_over_collection_spec():
    eval_env = gym.make("PointMaze_UMaze-v3", maze_map=TASKS["pointmaze-umaze"].eval_kwargs()["maze_map"],
                        continuing_task=True, reset_target=False, max_episode_steps=250)
    collect = gym.make("PointMaze_Medium-v3", continuing_task=True, reset_target=True, max_episode_steps=1_000_000)
    info = DatasetInfo("pointmaze-umaze", "D4RL/pointmaze/umaze-v2", env_spec=collect.spec.to_json(),
                       eval_env_spec=eval_env.spec.to_json())
    spec = resolve_eval_env(info)
    assert (spec.env_id, spec.max_episode_steps) == ("PointMaze_UMaze-v3", 250)
    assert spec.kwargs["maze_map"] == eval_env.spec.kwargs["maze_map"] and spec.kwargs["reset_target"] is False
    made = spec.make()
    assert made.spec.id == "PointMaze_UMaze-v3" and made.spec.max_episode_steps == 250
    # Without an evaluation spec the collection spec is used, its 1e6-step limit capped at the registered 600.
    fallback = resolve_eval_env(DatasetInfo("pointmaze-medium", "x", env_spec=collect.spec.to_json()))
    assert (fallback.env_id, fallback.max_episode_steps) == ("PointMaze_Medium-v3", 600)
    assert fallback.kwargs["reset_target"] is True


def test_malformed_spec_json_names_the_field():
    with pytest.raises(IQLError, match="eval_env_spec"):
        resolve_eval_env(DatasetInfo("d", "/data/d", eval_env_spec="{not json"))


@pytest.mark.parametrize("env_id, expected_keys", [
    ("PointMaze_UMaze-v3", ("observation",)),
    ("AntMaze_UMaze-v4", ("achieved_goal", "observation")),
])
def test_flat_observation_equals_loader_flattening(env_id, expected_keys):
    raw = gym.make(env_id)
    layout = observation_layout(env_id, list(raw.observation_space.keys()))
    assert layout == expected_keys
    env = resolve_eval_env(env_id=env_id).make()
    flat, _ = env.reset(seed=11)
    raw_obs, _ = raw.reset(seed=11)
    assert flat.dtype == np.float32 and env.observation_space.shape == flat.shape
    np.testing.assert_array_equal(flat, flatten_observation(raw_obs, layout))
    np.testing.assert_array_equal(flat, np.concatenate([raw_obs[k] for k in expected_keys]).astype(np.float32))
    action = np.full(raw.action_space.shape, 0.3, dtype=np.float32)
    np.testing.assert_array_equal(env.step(action)[0], flatten_observation(raw.step(action)[0], layout))


def test_recorded_layout_is_used():
    info = DatasetInfo("pm", "x", extra={"observation_layout": ("desired_goal", "observation")})
    env = resolve_eval_env(info, env_id="PointMaze_UMaze-v3").make()
    flat, _ = env.reset(seed=0)
    raw, _ = gym.make("PointMaze_UMaze-v3").reset(seed=0)
    assert flat.shape == (6,)
    np.testing.assert_array_equal(flat, np.concatenate([raw["desired_goal"], raw["observation"]]).astype(np.float32))


def test_dimension_mismatch_names_dataset_env_and_sizes():
    env = resolve_eval_env(env_id="Hopper-v5").make()
    check_dimensions(env, 11, 3, "hopper-medium-v2.hdf5")
    with pytest.raises(EnvironmentMismatchError) as err:
        check_dimensions(env, 17, 3, "walker.hdf5")
    message = str(err.value)
    assert all(s in message for s in ("walker.hdf5", "Hopper-v5", "obs_dim=17", "obs_dim=11"))
    with pytest.raises(EnvironmentMismatchError, match="act_dim=6.*act_dim=3"):
        check_dimensions(env, 11, 6, "walker.hdf5")


def test_online_maze_episodes_end_at_the_goal():
    spec = resolve_eval_env(DatasetInfo("maze2d-umaze-v1", "x"))
    assert spec.kwargs["continuing_task"] is True  # evaluation: maze2d's steps-at-goal return
    online = online_env(spec, "maze")
    assert online.kwargs["continuing_task"] is False and online.kwargs["maze_map"] == spec.kwargs["maze_map"]
    assert online_env(resolve_eval_env(env_id="Hopper-v5"), "locomotion") == resolve_eval_env(env_id="Hopper-v5")
    env = online.make()
    env.reset(seed=0)
    goal = env.unwrapped.goal.copy()
    env.unwrapped.data.qpos[:2] = goal  # put the ball on the goal: the next step terminates with success
    env.unwrapped.data.qvel[:] = 0
    _, reward, terminated, truncated, info = env.step(np.zeros(2, np.float32))
    assert terminated and not truncated and reward == 1.0 and info["success"]
