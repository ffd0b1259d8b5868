"""SAC: the losses on hand values, the tanh-Gaussian density, the update's gradient routing and Polyak step, and
scan == loop for the fused updates."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from iql_jax.behaviour import programs, sac
from iql_jax.behaviour.sac import SACConfig
from iql_jax.finetune import buffer as buffers
from iql_jax.networks import tanh_gaussian_log_prob

TINY = SACConfig(hidden_dims=(16, 16), batch_size=8)


def test_soft_target_by_hand():
    # y = r + γ·mask·(Q̂(s', a') − α·log π(a'|s')): 1 + 0.99·(2 − 0.2·0.5) = 2.881; a terminal keeps r only.
    y = sac.soft_target(jnp.array([1.0, 1.0]), jnp.array([1.0, 0.0]), jnp.array([2.0, 2.0]), jnp.array([0.5, 0.5]),
                        0.2, 0.99)
    np.testing.assert_allclose(y, [2.881, 1.0], rtol=1e-6)


def test_actor_loss_by_hand():
    # mean(α·log π − Q) = mean(0.5·1 − 2, 0.5·(−1) − 3) = mean(−1.5, −3.5) = −2.5; entropy = −mean(log π) = 0.
    loss, info = sac.actor_loss(jnp.array([1.0, -1.0]), jnp.array([2.0, 3.0]), 0.5)
    assert float(loss) == pytest.approx(-2.5)
    assert float(info["actor/entropy"]) == pytest.approx(0.0)


def test_temperature_loss_by_hand_and_its_direction():
    # −log α·mean(log π + H̄) = −0.3·mean(−2 − 3, −4 − 3) = 1.8; the entropy (3) is above the target (−3), so the
    # gradient (+6) makes gradient descent lower α.
    log_prob, target = jnp.array([-2.0, -4.0]), -3.0
    loss, info = sac.temperature_loss(jnp.float32(0.3), log_prob, target)
    assert float(loss) == pytest.approx(1.8, rel=1e-6)
    assert float(info["alpha/value"]) == pytest.approx(math.exp(0.3), rel=1e-6)
    grad = jax.grad(lambda la: sac.temperature_loss(la, log_prob, target)[0])(jnp.float32(0.3))
    assert float(grad) == pytest.approx(6.0)


def test_tanh_gaussian_log_prob_matches_the_change_of_variables():
    mean, log_std = jnp.array([[0.3, -1.0]]), jnp.array([[-0.5, 0.2]])
    u = jnp.array([[0.7, -2.5]])
    gauss = -0.5 * ((u - mean) / jnp.exp(log_std)) ** 2 - log_std - 0.5 * math.log(2 * math.pi)
    direct = jnp.sum(gauss - jnp.log(1.0 - jnp.tanh(u) ** 2), -1)
    np.testing.assert_allclose(tanh_gaussian_log_prob(mean, log_std, u), direct, rtol=1e-5)
    # finite where tanh(u) rounds to ±1 in float32
    assert np.isfinite(float(tanh_gaussian_log_prob(mean, log_std, jnp.array([[30.0, -30.0]]))[0]))


def _filled_buffer(obs_dim=3, act_dim=2, rows=64, seed=0):
    rng = np.random.default_rng(seed)
    buf = jax.tree_util.tree_map(lambda x: x[0], buffers.init_buffer(1, 128, obs_dim, act_dim))
    packed = rng.normal(size=(rows, programs.row_width(obs_dim, act_dim))).astype(np.float32)
    packed[:, obs_dim:obs_dim + act_dim] = np.tanh(packed[:, obs_dim:obs_dim + act_dim])
    packed[:, -2:] = rng.integers(0, 2, (rows, 2))
    return programs.store(buf, jnp.asarray(packed))


def test_update_routes_gradients_and_moves_the_target_by_polyak():
    state = sac.init(TINY, jax.random.PRNGKey(0), 3, 2)
    buf = _filled_buffer()
    new, metrics = programs.train_step(state, buf)
    changed = lambda a, b: any(not np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a),
                                                                        jax.tree_util.tree_leaves(b)))
    assert changed(new.actor.params, state.actor.params)
    assert changed(new.critic.params, state.critic.params)
    assert changed(new.log_alpha.params, state.log_alpha.params)
    expected = jax.tree_util.tree_map(lambda c, t: TINY.polyak * c + (1 - TINY.polyak) * t, new.critic.params,
                                      state.target_critic_params)
    for a, b in zip(jax.tree_util.tree_leaves(new.target_critic_params), jax.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert int(new.step) == 1 and all(np.isfinite(float(v)) for v in metrics.values())
    # the critic loss is the one of the batch against the entropy-regularised target (both heads summed)
    assert float(metrics["critic/loss"]) > 0


def test_scanned_updates_equal_one_at_a_time():
    buf = _filled_buffer()
    obs = jnp.zeros(3)
    a = sac.init(TINY, jax.random.PRNGKey(1), 3, 2)
    b = jax.tree_util.tree_map(jnp.copy, a)
    sums = programs.zero_sums(a, buf)
    a, sums_a, act_a = programs.train(a, buf, sums, obs, 7, num_updates=4)
    sums_b = programs.zero_sums(b, buf)
    for _ in range(4):
        b, sums_b, act_b = programs.train(b, buf, sums_b, obs, 7, num_updates=1)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(act_a, act_b, rtol=1e-5, atol=1e-6)
    for k in sums_a:
        np.testing.assert_allclose(sums_a[k], sums_b[k], rtol=1e-4, atol=1e-5)


def test_exploration_depends_only_on_the_step():
    state = sac.init(TINY, jax.random.PRNGKey(2), 3, 2)
    obs = jnp.ones(3)
    first, again = sac.explore(state, obs, 5, False), sac.explore(state, obs, 5, False)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, sac.explore(state, obs, 6, False))
    uniform = np.asarray(sac.explore(state, obs, 5, True))
    assert uniform.shape == (2,) and np.all(np.abs(uniform) <= 1)
