"""The IQL losses on hand-computed values, and the expectile property."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from iql_jax import losses


def test_expectile_loss_hand_values():
    u = jnp.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    # weights [0.3, 0.3, ·, 0.7, 0.7] → [1.2, 0.3, 0, 0.7, 2.8]
    np.testing.assert_allclose(losses.expectile_loss(u, 0.7), [1.2, 0.3, 0.0, 0.7, 2.8], rtol=1e-6)
    assert float(losses.expectile_loss(u, 0.7).mean()) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(losses.expectile_loss(u, 0.5), 0.5 * u**2, rtol=1e-6)


def test_value_loss_sign_convention():
    # V below Q (u = Q − V > 0) weighs τ.
    loss, _ = losses.value_loss(jnp.array([0.0]), jnp.array([1.0]), 0.9)
    assert float(loss) == pytest.approx(0.9)
    loss, _ = losses.value_loss(jnp.array([1.0]), jnp.array([0.0]), 0.9)
    assert float(loss) == pytest.approx(0.1)


def _fit_scalar(samples, expectile, steps=3000, lr=0.05):
    samples = jnp.asarray(samples, jnp.float32)
    grad = jax.grad(lambda v: losses.expectile_loss(samples - v, expectile).mean())

    def body(v, _):
        return v - lr * grad(v), None

    return float(jax.lax.scan(body, jnp.float32(0.3), None, length=steps)[0])


def test_expectile_property_two_points():
    fits = {tau: _fit_scalar([0.0, 1.0], tau) for tau in (0.5, 0.7, 0.9, 0.99)}
    for tau, v in fits.items():
        assert v == pytest.approx(tau, abs=1e-3)  # minimiser over {a, b} is a + τ(b − a)
    assert fits[0.5] < fits[0.7] < fits[0.9] < fits[0.99]
    # Three points: 0.5 gives the mean, τ → 1 approaches the max.
    assert _fit_scalar([0.0, 1.0, 5.0], 0.5) == pytest.approx(2.0, abs=1e-3)
    assert _fit_scalar([0.0, 1.0, 5.0], 0.999, steps=20000) > 4.8


def test_critic_target_terminal_and_not():
    r, masks, next_v = jnp.array([1.0, 1.0]), jnp.array([1.0, 0.0]), jnp.array([2.0, 2.0])
    np.testing.assert_allclose(losses.critic_target(r, masks, next_v, 0.99), [2.98, 1.0], rtol=1e-6)


def test_critic_loss_sums_heads():
    qs = jnp.array([[1.0, 0.0], [3.0, 0.0]])  # (num_critics=2, B=2)
    loss, info = losses.critic_loss(qs, jnp.array([2.0, 0.0]))
    # batch element 0: (1 − 2)² + (3 − 2)² = 2; element 1: 0 → mean 1.0
    assert float(loss) == pytest.approx(1.0)
    assert float(info["critic/q_mean"]) == pytest.approx(1.0)


def test_awr_weights_clip_and_bc_limit():
    adv = jnp.array([-1.0, 0.0, 1.0, 10.0])
    np.testing.assert_allclose(losses.awr_weights(adv, 3.0, 100.0), [np.exp(-3), 1.0, np.exp(3), 100.0],
                               rtol=1e-6)
    np.testing.assert_allclose(losses.awr_weights(adv, 0.0, 100.0), np.ones(4))


def test_actor_loss_weights_are_constants():
    log_probs = jnp.array([-1.0, -2.0])
    weights = jnp.array([2.0, 1.0])
    loss, _ = losses.actor_loss(log_probs, weights)
    assert float(loss) == pytest.approx(2.0)  # −(2·(−1) + 1·(−2)) / 2
    g = jax.grad(lambda w: losses.actor_loss(log_probs, w)[0])(weights)
    np.testing.assert_array_equal(g, 0.0)  # no gradient flows into the advantage
