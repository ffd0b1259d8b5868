"""Online fine-tuning: stored masks and rewards, segment cuts, bit-exact resume, options and errors.

The two tiny environments here are registered with gymnasium (``iql_test/...``) on first use; the learning test
imports them.
"""

import functools
import types

import gymnasium as gym
import jax
import numpy as np
import pytest
from flax import serialization

from iql_jax import agent, engine
from iql_jax.data import RewardTransform
from iql_jax.errors import ConfigError, EnvironmentMismatchError
from iql_jax.finetune import buffer as buffers
from iql_jax.finetune import constant_actor_lr, finetune, finetune_iter, init_finetune
from tiny import tiny_config, transitions


class Counter(gym.Env):
    """obs = [steps since reset]; every step pays ``reward``; terminates after ``terminate_after`` steps (or never)."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, reward=3.0, terminate_after=None):
        self.reward, self.terminate_after, self.t = reward, terminate_after, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        terminated = self.terminate_after is not None and self.t >= self.terminate_after
        return np.array([self.t], np.float32), self.reward, terminated, False, {}


class GoRight(gym.Env):
    """x ∈ [−1, 1] starts near 0; x′ = clip(x + 0.2·a); the reward is x′ (dense: go right and stay there)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-0.05, 0.05))
        return np.array([self.x], np.float32), {}

    def step(self, action):
        self.x = float(np.clip(self.x + 0.2 * float(action[0]), -1.0, 1.0))
        return np.array([self.x], np.float32), self.x, False, False, {"success": self.x > 0.9}


@functools.lru_cache(maxsize=None)
def _register_envs() -> None:  # on first use, not at import
    gym.register("iql_test/Counter-v0", entry_point=Counter)
    gym.register("iql_test/GoRight-v0", entry_point=GoRight, max_episode_steps=20)


def left_only_data(n=1000, seed=0):
    """GoRight transitions of a poor behaviour policy: x ∈ [−1, 0] and actions in [−1, 0], never a step right."""
    rng = np.random.default_rng(seed)
    x, a = rng.uniform(-1.0, 0.0, (n, 1)), rng.uniform(-1.0, 0.0, (n, 1))
    x_next = np.clip(x + 0.2 * a, -1.0, 1.0)
    return transitions(x, a, x_next[:, 0], x_next, np.zeros(n))


# One configuration, population and data shape for every test in this file and the learning test, so that the
# compiled programs are shared (compiling dominates these tests). Fast learning rates; γ = 0.9 for a short horizon.
CONFIG = tiny_config(actor_lr=3e-3, critic_lr=3e-3, value_lr=3e-3, discount=0.9)
MEMBERS, CAPACITY = 3, 1500


@functools.lru_cache(maxsize=None)
def offline_data():  # built on first use: no JAX work at import time
    return engine.device_data(left_only_data())


def counter(limit=5, **kwargs):
    _register_envs()
    return functools.partial(gym.make, "iql_test/Counter-v0", max_episode_steps=limit, **kwargs)


def go_right():
    _register_envs()
    return gym.make("iql_test/GoRight-v0")


def population(members=MEMBERS):
    return engine.init_population(CONFIG, list(range(members)), 1, 1, decay_steps=100)[0]


def _fstate(members=MEMBERS, seed=0):
    return init_finetune(population(members), capacity=CAPACITY, env_seed=seed)


def _run(factory, steps, members=MEMBERS, rt=RewardTransform(1.0, -1.0), **kwargs):
    kwargs.setdefault("segment_steps", steps)
    return finetune(_fstate(members), offline_data(), factory, steps, reward_transform=rt, **kwargs)


def _stored(fstate, member=0):
    return buffers.online_transitions(fstate.buffer, member)


def test_termination_stores_mask_zero_and_the_reward_is_transformed_once():
    fstate, history = _run(counter(limit=5, terminate_after=3), 12)
    for m in range(MEMBERS):
        rows = _stored(fstate, m)
        np.testing.assert_array_equal(rows.observations[:, 0], [0, 1, 2] * 4)
        np.testing.assert_array_equal(rows.next_observations[:, 0], [1, 2, 3] * 4)  # the terminal obs, not a reset
        np.testing.assert_array_equal(rows.terminals, [0, 0, 1] * 4)
        np.testing.assert_array_equal(rows.masks, [1, 1, 0] * 4)
        np.testing.assert_array_equal(rows.rewards, np.full(12, 2.0))  # 3 − 1, not 3 − 2
    (chunk,) = history
    np.testing.assert_array_equal(chunk.observed["online/episodes"], [4, 4, 4])
    np.testing.assert_array_equal(chunk.observed["online/return"], [9.0, 9.0, 9.0])  # raw returns are reported
    np.testing.assert_array_equal(np.asarray(fstate.episodes), [4, 4, 4])


def test_time_limit_truncation_keeps_mask_one():
    fstate, history = _run(counter(limit=5), 12, members=1, rt=RewardTransform(2.0, 0.5))
    rows = _stored(fstate)
    np.testing.assert_array_equal(rows.observations[:, 0], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1])
    np.testing.assert_array_equal(rows.next_observations[:, 0], [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2])
    np.testing.assert_array_equal(rows.terminals, np.zeros(12))
    np.testing.assert_array_equal(rows.rewards, np.full(12, 6.5))
    np.testing.assert_array_equal(history[-1].observed["online/length"], [5.0])


def test_segment_boundaries_cut_episodes_with_mask_one():
    fstate, history = _run(counter(limit=5), 14, segment_steps=7)
    rows = _stored(fstate, 1)
    np.testing.assert_array_equal(rows.observations[:, 0], [0, 1, 2, 3, 4, 0, 1, 0, 1, 2, 3, 4, 0, 1])
    np.testing.assert_array_equal(rows.next_observations[:, 0], [1, 2, 3, 4, 5, 1, 2, 1, 2, 3, 4, 5, 1, 2])
    np.testing.assert_array_equal(rows.terminals, np.zeros(14))
    assert [chunk.step for chunk in history] == [7, 14]  # chunks end at segment boundaries
    np.testing.assert_array_equal(np.asarray(fstate.episodes), [2, 2, 2])  # cut episodes are not counted
    assert np.asarray(fstate.states.step).tolist() == [14] * 3  # one update per online step


def _leaves_equal(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_resume_from_serialised_state_is_bit_exact():
    kwargs = dict(reward_transform=RewardTransform(1.0, -1.0), segment_steps=10)
    whole, _ = finetune(_fstate(), offline_data(), go_right, 30, chunk_steps=7, **kwargs)

    first, _ = finetune(_fstate(), offline_data(), go_right, 20, **kwargs)
    blob = serialization.to_bytes(first)
    restored = serialization.from_bytes(_fstate(), blob)  # a fresh template, as a checkpoint restore would build
    rest, _ = finetune(restored, offline_data(), go_right, 10, **kwargs)

    assert int(rest.online_step) == 30
    _leaves_equal(whole, rest)  # params, targets, Adam states, keys, hyper, buffer, counters
    # and the run really did something: a different env seed gives other transitions
    other, _ = finetune(_fstate(seed=1), offline_data(), go_right, 30, **kwargs)
    assert not np.array_equal(np.asarray(other.buffer.observations), np.asarray(whole.buffer.observations))


def test_the_yielded_state_and_metrics_per_chunk():
    seen = []
    spec_like = types.SimpleNamespace(make=go_right)  # an EvalEnvSpec is used through .make() only
    for chunk in finetune_iter(_fstate(), offline_data(), spec_like, 40, reward_transform=RewardTransform(),
                               segment_steps=40, chunk_steps=20):
        fstate, metrics = chunk.carry, chunk.metrics
        seen.append((chunk.step, int(fstate.online_step), int(np.asarray(fstate.buffer.size)[0])))
        assert chunk.states is fstate.states and chunk.saved is fstate  # a checkpoint holds the whole state
        assert metrics["critic/loss"].shape == (MEMBERS,) and np.all(np.isfinite(metrics["critic/loss"]))
        assert np.all(metrics["actor/weight_max"] > 0)
        np.testing.assert_array_equal(chunk.observed["online/episodes"], [1] * MEMBERS)  # 20-step episodes
        assert chunk.observed["online/success"].shape == (MEMBERS,)
        assert chunk.timing["time/steps_per_s"] > 0
    assert seen == [(20, 20, 20), (40, 40, 40)]


def test_updates_per_collect_runs_k_updates_per_k_steps():
    fstate, history = _run(go_right, 12, updates_per_collect=4, segment_steps=12)
    assert np.asarray(fstate.states.step).tolist() == [12] * MEMBERS
    assert np.asarray(fstate.buffer.size).tolist() == [12] * MEMBERS
    with pytest.raises(ConfigError, match="multiples"):
        _run(go_right, 10, updates_per_collect=4, segment_steps=12)


def test_capped_buffer_keeps_only_the_newest_online_rows():
    fstate, _ = _run(counter(limit=10**4), CAPACITY + 6)
    np.testing.assert_array_equal(_stored(fstate).observations[:, 0], np.arange(6, CAPACITY + 6))


def test_mismatched_environment_or_data_is_refused():
    bad = lambda: gym.wrappers.TimeLimit(gym.make("Pendulum-v1").unwrapped, 10)  # obs_dim 3
    with pytest.raises(EnvironmentMismatchError, match="obs_dim=1"):
        _run(bad, 4)
    wrong = engine.device_data(transitions(np.zeros((4, 2)), np.zeros((4, 1)), np.zeros(4), np.zeros((4, 2)),
                                           np.zeros(4)))
    with pytest.raises(ConfigError, match="offline data"):
        finetune(_fstate(), wrong, go_right, 4, reward_transform=RewardTransform(), segment_steps=4)


def test_constant_actor_lr():
    states = population()  # cosine over 100 updates
    assert float(agent.actor_lr(engine.member(states, 0).hyper, 100)) == 0.0
    const = constant_actor_lr(states)
    for i in range(MEMBERS):
        h = engine.member(const, i).hyper
        assert float(agent.actor_lr(h, 100)) == pytest.approx(3e-3)
        assert float(agent.actor_lr(h, 10**6)) == pytest.approx(3e-3)
    assert float(agent.actor_lr(engine.member(constant_actor_lr(states, 1e-5), 1).hyper, 7)) == pytest.approx(1e-5)
    _leaves_equal(const.actor.opt_state, states.actor.opt_state)  # Adam moments carry over


class TwoTasks(gym.Env):
    """FrankaKitchen's success report without the kitchen: ``tasks_to_complete`` shrinks as tasks are done (a step
    with a positive action does the next one); two steps an episode."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    TASKS = ["kettle", "microwave"]

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.done = 0, 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        self.done += int(float(action[0]) > 0)
        info = {"tasks_to_complete": self.TASKS[self.done:], "episode_task_completions": self.TASKS[:self.done]}
        return np.zeros(1, np.float32), float(self.done), False, self.t >= 2, info


def test_online_episodes_count_kitchen_success_as_evaluation_does():
    """One success definition (evaluation.step_success): a kitchen episode succeeds when no task is left open."""
    from iql_jax.evaluation import step_success
    from iql_jax.finetune.online import _Members

    members = _Members(TwoTasks, 2, 1, 1, env_seed=0)
    try:
        obs = members.reset_all(0)
        rows, rewards = np.zeros((2, 2, 5), np.float32), np.zeros((2, 2), np.float32)
        for j, actions in enumerate(([[1.0], [1.0]], [[1.0], [-1.0]])):  # member 1 does only the kettle
            members.step(obs, np.asarray(actions, np.float32), rows, rewards, j)
        stats = members.episode_stats()
    finally:
        members.close()
    np.testing.assert_array_equal(stats["online/success"], [1.0, 0.0])
    np.testing.assert_array_equal(stats["online/return"], [1.0 + 2.0, 1.0 + 1.0])  # the tasks done so far, per step
    assert step_success({"tasks_to_complete": [], "episode_task_completions": TwoTasks.TASKS}) is True
