"""Minari loader on datasets written by Minari's own writer (``create_dataset_from_buffers``), Box and Dict spaces."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

from iql_jax.data import load_dataset, load_minari, local_minari_datasets
from iql_jax.errors import DataError


@pytest.fixture
def data_minari_root(tmp_path, monkeypatch):
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return root


def episodes(lengths, obs_dim=3, act_dim=2, seed=0, terminal_last=(True, False, False)):
    """Raw episodes: observations (T + 1, obs_dim) etc.; episode k ends with a termination iff terminal_last[k]."""
    rng = np.random.default_rng(seed)
    out = []
    for k, steps in enumerate(lengths):
        terminations, truncations = np.zeros(steps, bool), np.zeros(steps, bool)
        terminations[-1] = terminal_last[k % len(terminal_last)]
        truncations[-1] = not terminations[-1]
        out.append(dict(observations=rng.normal(size=(steps + 1, obs_dim)).astype(np.float32),
                        actions=rng.uniform(-1, 1, (steps, act_dim)).astype(np.float32),
                        rewards=rng.normal(size=steps).astype(np.float32), terminations=terminations,
                        truncations=truncations))
    return out


def write(dataset_id, raw, **kwargs):
    import minari
    from minari.data_collector import EpisodeBuffer

    buffers = [EpisodeBuffer(id=i, **e) for i, e in enumerate(raw)]
    if "env" not in kwargs and "observation_space" not in kwargs:
        obs_dim, act_dim = raw[0]["observations"].shape[1], raw[0]["actions"].shape[1]
        kwargs.update(observation_space=gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float64),
                      action_space=gym.spaces.Box(-1, 1, (act_dim,), np.float32))
    with pytest.warns(UserWarning):  # Minari warns about the missing author / permalink fields
        minari.create_dataset_from_buffers(dataset_id=dataset_id, buffer=buffers, algorithm_name="test", **kwargs)


def test_box_round_trip_by_id_and_by_path(data_minari_root):
    raw = episodes([4, 1, 6])
    write("local/toy/box-v0", raw)
    assert local_minari_datasets() == ["local/toy/box-v0"]
    for source in ("local/toy/box-v0", str(data_minari_root / "local/toy/box-v0"),
                   str(data_minari_root / "local/toy/box-v0/data")):
        dataset = load_minari(source)
        t = dataset.transitions
        np.testing.assert_array_equal(t.observations, np.concatenate([e["observations"][:-1] for e in raw]))
        np.testing.assert_array_equal(t.next_observations, np.concatenate([e["observations"][1:] for e in raw]))
        np.testing.assert_array_equal(t.rewards, np.concatenate([e["rewards"] for e in raw]))
        np.testing.assert_array_equal(t.terminals, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
        np.testing.assert_array_equal(t.timeouts, [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1])
        np.testing.assert_array_equal(t.episode_ends, [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1])
        np.testing.assert_array_equal(t.masks, 1 - t.terminals)
        assert dataset.info.name == "local/toy/box-v0" and dataset.info.domain is None
    assert load_dataset("local/toy/box-v0").transitions.observations.shape == (11, 3)


def test_env_spec_reference_scores_and_domain(data_minari_root):
    raw = episodes([5, 5], obs_dim=11, act_dim=3)
    write("local/hopper/toy-v0", raw, env="Hopper-v5", eval_env="Hopper-v5", ref_min_score=-20.0, ref_max_score=3000.0)
    info = load_minari("local/hopper/toy-v0").info
    assert json.loads(info.env_spec)["id"] == "Hopper-v5" and json.loads(info.eval_env_spec)["id"] == "Hopper-v5"
    assert (info.ref_min_score, info.ref_max_score, info.domain) == (-20.0, 3000.0, "locomotion")


def test_dict_observations_flattened_in_recorded_layout(data_minari_root):
    rng = np.random.default_rng(1)
    space = gym.spaces.Dict({"b": gym.spaces.Box(-1, 1, (2,)), "a": gym.spaces.Box(-1, 1, (1,))})
    raw = [dict(observations={"a": rng.normal(size=(s + 1, 1)), "b": rng.normal(size=(s + 1, 2))},
                actions=rng.uniform(-1, 1, (s, 2)), rewards=np.zeros(s), terminations=np.zeros(s, bool),
                truncations=np.arange(s) == s - 1) for s in (3, 2)]
    write("local/toy/dict-v0", raw, observation_space=space, action_space=gym.spaces.Box(-1, 1, (2,)))
    dataset = load_minari("local/toy/dict-v0")
    full = [np.concatenate([e["observations"]["a"], e["observations"]["b"]], axis=1) for e in raw]
    np.testing.assert_allclose(dataset.transitions.observations, np.concatenate([f[:-1] for f in full]), rtol=1e-6)
    np.testing.assert_allclose(dataset.transitions.next_observations, np.concatenate([f[1:] for f in full]), rtol=1e-6)
    assert dataset.info.extra["observation_layout"] == ("a", "b")


def test_pointmaze_dict_observation_keeps_only_observation(data_minari_root):
    from iql_jax.registry import register_robotics

    register_robotics()
    env = gym.make("PointMaze_UMaze-v3")
    obs, _ = env.reset(seed=0)
    observations, actions = [obs], []
    for _ in range(5):
        actions.append(env.action_space.sample())
        observations.append(env.step(actions[-1])[0])
    stacked = {k: np.stack([o[k] for o in observations]) for k in obs}
    write("local/pointmaze/toy-v0", [dict(observations=stacked, actions=np.array(actions), rewards=np.zeros(5),
                                          terminations=np.zeros(5, bool), truncations=np.arange(5) == 4)],
          env="PointMaze_UMaze-v3")
    dataset = load_minari("local/pointmaze/toy-v0")
    assert dataset.info.extra["observation_layout"] == ("observation",) and dataset.info.domain == "maze"
    np.testing.assert_allclose(dataset.transitions.observations, stacked["observation"][:-1], rtol=1e-6)


def test_unknown_id_lists_local_datasets(data_minari_root):
    write("local/toy/box-v0", episodes([2]))
    with pytest.raises(DataError, match=r"local/toy/other-v0: .*local: local/toy/box-v0"):
        load_minari("local/toy/other-v0")
    with pytest.raises(DataError, match=r"pointmaze-umaze.*local/toy/box-v0.*found none of these"):
        load_dataset("local/toy/other-v0")


def test_directory_missing_data_file(data_minari_root):
    write("local/toy/box-v0", episodes([2]))
    data_dir = data_minari_root / "local/toy/box-v0/data"
    (data_dir / "main_data.hdf5").unlink()
    with pytest.raises(DataError) as error:
        load_minari(str(data_minari_root / "local/toy/box-v0"))
    assert error.value.source == str(data_dir) and error.value.field == "main_data.hdf5"


@pytest.mark.parametrize("content, field", [("{not json", None), ("[1, 2]", None),
                                             ('{"data_format": "hdf5", "action_space": "{}"}', "observation_space")])
def test_invalid_metadata(data_minari_root, content, field):
    write("local/toy/box-v0", episodes([2]))
    metadata = data_minari_root / "local/toy/box-v0/data/metadata.json"
    metadata.write_text(content)
    with pytest.raises(DataError) as error:
        load_minari("local/toy/box-v0")
    assert error.value.source == str(metadata) and error.value.field == field
    assert "metadata.json" in str(error.value)


@pytest.mark.parametrize("mutate, field", [
    (lambda e: e.update(observations=e["observations"][:-1]), "episode_1/observations"),
    (lambda e: e.update(actions=e["actions"][:-1]), "episode_1/actions"),
    (lambda e: e.update(rewards=np.r_[np.nan, e["rewards"][1:]]), "episode_1/rewards"),  # the episode named
    (lambda e: e.update(actions=e["actions"] * 5), "actions"),
])
def test_malformed_episode_names_file_and_field(data_minari_root, mutate, field):
    raw = episodes([3, 4])
    mutate(raw[1])
    write("local/toy/bad-v0", raw)
    with pytest.raises(DataError) as error:
        load_minari("local/toy/bad-v0")
    main = str(data_minari_root / "local/toy/bad-v0/data/main_data.hdf5")
    assert error.value.source == main and error.value.field == field and main in str(error.value)
