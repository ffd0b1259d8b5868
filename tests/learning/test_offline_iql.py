"""IQL learns the right values and policy on tiny MDPs (asserted outcomes, a few seconds each)."""

import jax.numpy as jnp
import numpy as np
import pytest

from iql_jax import agent, engine
from tiny import bandit, tiny_config, transitions

FAST = dict(actor_lr=3e-3, critic_lr=3e-3, value_lr=3e-3, actor_lr_schedule="constant")


def _train(data, steps=1500, seeds=(0,), sweep=None, **overrides):
    cfg = tiny_config(**{**FAST, **overrides})
    states, members = engine.init_population(cfg, list(seeds), data.obs_dim, data.act_dim, decay_steps=steps,
                                             sweep=sweep)
    states, _ = engine.train_chunk(states, engine.device_data(data), steps)
    return states, members


def test_bandit_values_and_policy():
    data = bandit()
    states, members = _train(data, expectile=0.7, sweep={"beta": [0.0, 3.0]})
    obs = jnp.zeros((1, 1))
    for i, m in enumerate(members):
        s = engine.member(states, i)
        q_bad = float(agent.values(s, obs, jnp.array([[-0.5]]))[0])
        q_good = float(agent.values(s, obs, jnp.array([[0.5]]))[0])
        v = float(agent.values(s, obs)[0])
        assert q_good == pytest.approx(1.0, abs=0.05)
        assert q_bad == pytest.approx(0.0, abs=0.05)
        assert v == pytest.approx(0.7, abs=0.05)  # V is the τ-expectile of {0, 1}
        mean = float(agent.act(s, obs)[0, 0])
        if dict(m.overrides)["beta"] == 0.0:
            assert abs(mean) < 0.1  # behaviour cloning of a 50/50 mix
        else:
            assert mean > 0.3  # advantage weighting prefers the paying action


def test_value_rises_with_expectile():
    states, members = _train(bandit(), sweep={"expectile": [0.5, 0.7, 0.9]}, beta=0.0)
    v = [float(agent.values(engine.member(states, i), jnp.zeros((1, 1)))[0]) for i in range(len(members))]
    np.testing.assert_allclose(v, [0.5, 0.7, 0.9], atol=0.06)


def test_two_step_chain_bootstraps_through_v():
    # s0 -> s1 (r = 0, not terminal), s1 -> end (r = 1, terminal). Q(s0) = γ·1 = 0.99.
    n = 128
    first = np.arange(n) % 2 == 0
    obs = np.where(first, 0.0, 1.0)[:, None]
    next_obs = np.where(first, 1.0, 0.0)[:, None]
    rewards = np.where(first, 0.0, 1.0)
    terminals = np.where(first, 0.0, 1.0)
    data = transitions(obs, np.zeros((n, 1)), rewards, next_obs, terminals)
    states, _ = _train(data, steps=2500, beta=0.0)
    s = engine.member(states, 0)
    q = np.asarray(agent.values(s, jnp.array([[0.0], [1.0]]), jnp.zeros((2, 1))))
    np.testing.assert_allclose(q, [0.99, 1.0], atol=0.05)
