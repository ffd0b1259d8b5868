"""Transforms and validation on hand values."""

from __future__ import annotations

import numpy as np
import pytest

from iql_jax.data import (
    ObservationStats,
    RewardTransform,
    clip_actions,
    fit_observation_stats,
    fit_reward_transform,
    make_transitions,
    trajectory_returns,
)
from iql_jax.errors import ConfigError, DataError
from iql_jax.tasks import domain_of


def transitions(rewards, episode_ends, observations=None):
    n = len(rewards)
    obs = np.arange(n, dtype=np.float32)[:, None] if observations is None else np.asarray(observations, np.float32)
    return make_transitions("hand", obs, np.zeros((n, 1)), rewards, obs + 1, np.zeros(n), np.zeros(n),
                            episode_ends=episode_ends)


def test_trajectory_returns_split_by_episode_ends():
    t = transitions([1, 2, 3, 10, 20, 30, 5], [0, 0, 1, 0, 0, 1, 0])
    np.testing.assert_array_equal(trajectory_returns(t), [6, 60, 5])  # the data's end closes the last one


def test_locomotion_scale_from_two_trajectories():
    t = transitions([1, 2, 3, 10, 20, 30], [0, 0, 1, 0, 0, 1])  # returns 6 and 60
    transform = fit_reward_transform("locomotion", t)
    assert transform == RewardTransform(1000.0 / 54.0, 0.0)
    np.testing.assert_allclose(transform.apply(np.array([1.0, 54.0])), [1000 / 54, 1000.0])


def test_locomotion_refuses_equal_returns():
    with pytest.raises(DataError, match="rewards: expected trajectories with different returns"):
        fit_reward_transform("locomotion", transitions([1, 1], [1, 1]))


def test_antmaze_and_none():
    t = transitions([0, 1], [0, 1])
    assert fit_reward_transform("antmaze", t).apply(np.array([0.0, 1.0])).tolist() == [-1.0, 0.0]
    assert fit_reward_transform("none", t) == RewardTransform(1.0, 0.0)
    with pytest.raises(ConfigError, match="found 'cql'"):
        fit_reward_transform("cql", t)


def test_clip_actions():
    out = clip_actions(np.array([[-2.0, -1.0, 0.5, 1.0, 1.0000001]]))
    bound = np.float32(1 - 1e-5)
    np.testing.assert_array_equal(out, np.float32([[-bound, -bound, 0.5, bound, bound]]))
    assert out.dtype == np.float32
    assert clip_actions(np.array([1.0]), eps=0.1)[0] == np.float32(0.9)


def test_observation_stats():
    t = transitions([0, 0, 0], [0, 0, 1], observations=[[0, 10], [2, 10], [4, 10]])
    stats = fit_observation_stats(t, eps=1e-3)
    np.testing.assert_allclose(stats.mean, [2, 10])
    np.testing.assert_allclose(stats.std, [np.sqrt(8 / 3) + 1e-3, 1e-3], rtol=1e-6)
    assert isinstance(stats, ObservationStats) and stats.mean.dtype == np.float32
    np.testing.assert_allclose(stats.apply(np.array([[2.0, 10.0]])), [[0.0, 0.0]])


def test_make_transitions_derives_episode_ends():
    obs = np.array([[0], [1], [2], [7], [8], [9]], np.float32)
    next_obs = np.array([[1], [2], [3], [8], [9], [10]], np.float32)  # break after row 2 (3 != 7)
    t = make_transitions("hand", obs, np.zeros((6, 1)), np.zeros(6), next_obs, terminals=[0, 1, 0, 0, 0, 0],
                         timeouts=[0, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(t.episode_ends, [0, 1, 1, 0, 1, 1])
    np.testing.assert_array_equal(t.masks, [1, 0, 1, 1, 1, 1])  # a timeout still bootstraps
    assert all(a.dtype == np.float32 and not a.flags.writeable for a in t)


def test_make_transitions_reports_source_and_field():
    with pytest.raises(DataError, match="^f.h5: terminations: expected only 0 and 1"):
        make_transitions("f.h5", np.zeros((2, 1)), np.zeros((2, 1)), np.zeros(2), np.zeros((2, 1)), [0, 3], [0, 0],
                         field_names={"terminals": "terminations"})


@pytest.mark.parametrize("name, domain", [
    ("hopper-medium-v2", "locomotion"), ("halfcheetah_random-v2", "locomotion"), ("Ant-v5", "locomotion"),
    ("antmaze-umaze-v2", "antmaze"), ("Ant_maze_big-maze_noisy", "antmaze"), ("AntMaze_UMaze-v4", "antmaze"),
    ("maze2d-large-v1", "maze"), ("PointMaze_Large-v3", "maze"), ("FrankaKitchen-v1", "kitchen"),
    ("AdroitHandPen-v1", "adroit"), ("relocate-cloned-v1", "adroit"), ("Pendulum-v1", None), (None, None),
])
def test_domain_of(name, domain):
    assert domain_of(name) == domain
