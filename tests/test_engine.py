"""The fused engine: determinism, scan == sequential, vmap over seeds and hyperparameters == separate runs."""

import functools

import jax
import numpy as np
import pytest

from iql_jax import agent, engine
from tiny import random_transitions, tiny_config

OBS, ACT, K = 5, 2, 20
CONFIG = tiny_config()


@functools.lru_cache(maxsize=None)
def _data():  # built on first use: no JAX work at import time
    return engine.device_data(random_transitions(512, OBS, ACT))


def _population(seeds, sweep=None):
    return engine.init_population(CONFIG, seeds, OBS, ACT, decay_steps=1000, sweep=sweep)[0]


def _assert_trees_close(a, b, rtol=1e-5, atol=1e-6):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def _learned(state):
    return (state.actor.params, state.critic.params, state.value.params, state.target_critic_params,
            state.actor.opt_state, state.critic.opt_state, state.value.opt_state)


def test_same_key_bit_identical_different_key_differs():
    a, _ = engine.train_chunk(_population([0]), _data(), K)
    b, _ = engine.train_chunk(_population([0]), _data(), K)
    c, _ = engine.train_chunk(_population([1]), _data(), K)
    for x, y in zip(jax.tree_util.tree_leaves(_learned(a)), jax.tree_util.tree_leaves(_learned(b))):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert not np.array_equal(np.asarray(a.value.params["params"]["MLP_0"]["Dense_0"]["kernel"]),
                              np.asarray(c.value.params["params"]["MLP_0"]["Dense_0"]["kernel"]))
    assert int(a.step[0]) == K


def test_scan_equals_sequential_updates():
    scanned, metrics = engine.train_chunk(_population([3]), _data(), K)
    state = engine.member(_population([3]), 0)
    step = jax.jit(engine.train_step)
    seq_metrics = []
    for _ in range(K):
        state, m = step(state, _data())
        seq_metrics.append(m)
    _assert_trees_close(_learned(engine.member(scanned, 0)), _learned(state))
    np.testing.assert_array_equal(np.asarray(engine.member(scanned, 0).key), np.asarray(state.key))
    mean_loss = np.mean([float(m["critic/loss"]) for m in seq_metrics])
    assert float(metrics["critic/loss"][0]) == pytest.approx(mean_loss, rel=1e-4)
    max_w = max(float(m["actor/weight_max"]) for m in seq_metrics)
    assert float(metrics["actor/weight_max"][0]) == pytest.approx(max_w, rel=1e-5)


def test_vmap_over_seeds_equals_loop_over_seeds():
    seeds = [0, 1, 2]
    together, m_together = engine.train_chunk(_population(seeds), _data(), K)
    for i, seed in enumerate(seeds):
        alone, m_alone = engine.train_chunk(_population([seed]), _data(), K)
        _assert_trees_close(_learned(engine.member(together, i)), _learned(engine.member(alone, 0)))
        assert float(m_together["value/loss"][i]) == pytest.approx(float(m_alone["value/loss"][0]), rel=1e-4)


def test_vmap_over_hyperparameters_equals_separate_runs():
    sweep = {"expectile": [0.5, 0.9], "beta": [0.0, 3.0]}
    states, members = engine.init_population(CONFIG, [7], OBS, ACT, decay_steps=1000, sweep=sweep)
    assert [m.overrides for m in members] == [(("expectile", 0.5), ("beta", 0.0)),
                                              (("expectile", 0.5), ("beta", 3.0)),
                                              (("expectile", 0.9), ("beta", 0.0)),
                                              (("expectile", 0.9), ("beta", 3.0))]
    together, _ = engine.train_chunk(states, _data(), K)
    for i, m in enumerate(members):
        single = {k: [v] for k, v in m.overrides}  # a run of one member with this setting
        alone, _ = engine.train_chunk(_population([7], sweep=single), _data(), K)
        _assert_trees_close(_learned(engine.member(together, i)), _learned(engine.member(alone, 0)))
    # and the settings really differ
    v = [np.asarray(engine.member(together, i).value.params["params"]["MLP_0"]["Dense_2"]["bias"]) for i in (0, 2)]
    assert not np.allclose(v[0], v[1])


def test_unknown_sweep_key_is_a_clear_error():
    from iql_jax.errors import ConfigError
    with pytest.raises(ConfigError, match="tau"):
        engine.init_population(CONFIG, [0], OBS, ACT, decay_steps=10, sweep={"tau": [0.1]})


def test_population_policy_shapes_and_member_order():
    states = _population([0, 1])
    policy = engine.population_policy(states)
    obs = np.random.default_rng(0).normal(size=(2, 3, OBS)).astype(np.float32)
    actions = policy(obs)
    assert actions.shape == (2, 3, ACT)
    np.testing.assert_allclose(actions[1], np.asarray(agent.act(engine.member(states, 1), obs[1])), rtol=1e-5,
                               atol=1e-6)
