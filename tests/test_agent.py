"""The update: Polyak, gradient routing, update order, shapes and dtypes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from iql_jax import agent, engine
from iql_jax.networks import gaussian_log_prob
from tiny import random_transitions, tiny_config, transitions

OBS, ACT = 5, 2


CONFIG = tiny_config()
UPDATE = jax.jit(agent.update)  # one compiled update for every test: hyperparameters are traced


def _state(seed=0, **hyper):
    s = agent.init(CONFIG, jax.random.PRNGKey(seed), OBS, ACT, decay_steps=1000)
    return s.replace(hyper=s.hyper._replace(**{k: jnp.float32(v) for k, v in hyper.items()}))


def _batch(n=64, seed=0):
    return random_transitions(n, OBS, ACT, seed)


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def _all_changed(before, after):
    return all(not np.array_equal(a, b) for a, b in zip(_leaves(before), _leaves(after)))


def _none_changed(before, after):
    return all(np.array_equal(a, b) for a, b in zip(_leaves(before), _leaves(after)))


def test_target_starts_equal_to_critic():
    s = _state()
    assert _none_changed(s.critic.params, s.target_critic_params)


@pytest.mark.parametrize("rate", [0.0, 1.0, 0.005])
def test_polyak_exact(rate):
    s = _state(polyak=rate)
    s = s.replace(critic=s.critic.replace(params=jax.tree_util.tree_map(lambda p: p + 1.0, s.critic.params)))
    new, _ = UPDATE(s, _batch(), jax.random.PRNGKey(1))
    expected = jax.tree_util.tree_map(lambda q, t: rate * q + (1 - rate) * t, new.critic.params,
                                      s.target_critic_params)
    for got, want in zip(_leaves(new.target_critic_params), _leaves(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    if rate == 0.0:
        assert _none_changed(s.target_critic_params, new.target_critic_params)
    if rate == 1.0:
        assert _none_changed(new.critic.params, new.target_critic_params)


def test_one_update_changes_every_parameter():
    s = _state()
    new, _ = UPDATE(s, _batch(), jax.random.PRNGKey(1))
    assert _all_changed(s.value.params, new.value.params)
    assert _all_changed(s.critic.params, new.critic.params)
    assert _all_changed(s.actor.params, new.actor.params)
    assert int(new.step) == 1


def test_value_step_touches_only_value():
    # With the actor and critic learning rates at 0 only the value step moves anything.
    s = _state(actor_lr=0.0, critic_lr=0.0)
    new, _ = UPDATE(s, _batch(), jax.random.PRNGKey(1))
    assert _all_changed(s.value.params, new.value.params)
    assert _none_changed(s.critic.params, new.critic.params)
    assert _none_changed(s.actor.params, new.actor.params)
    for a, b in zip(_leaves(s.target_critic_params), _leaves(new.target_critic_params)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)  # Polyak of equal trees, up to rounding


def test_value_and_actor_losses_send_no_gradient_to_critic():
    s, b = _state(), _batch()
    obs = b.observations

    def v_loss(critic_params):  # as in update: target critic → value loss
        q = s.critic.apply_fn(critic_params, obs, b.actions).min(0)
        from iql_jax import losses
        return losses.value_loss(s.value.apply_fn(s.value.params, obs), q, 0.7)[0]

    g = jax.grad(v_loss)(s.target_critic_params)
    assert all(np.all(x == 0) for x in _leaves(g))


def test_critic_target_uses_post_update_value():
    s, b = _state(), _batch()
    new, m = UPDATE(s, b, jax.random.PRNGKey(1))
    gamma = float(s.hyper.discount)
    y_new = b.rewards + gamma * b.masks * np.asarray(new.value.apply_fn(new.value.params, b.next_observations))
    y_old = b.rewards + gamma * b.masks * np.asarray(s.value.apply_fn(s.value.params, b.next_observations))
    assert float(m["critic/target_mean"]) == pytest.approx(float(y_new.mean()), rel=1e-5, abs=1e-6)
    assert abs(float(y_new.mean()) - float(y_old.mean())) > 1e-4  # the test can tell the two apart


def test_actor_advantage_uses_target_critic_and_new_value():
    s, b = _state(), _batch()
    s = s.replace(critic=s.critic.replace(params=jax.tree_util.tree_map(lambda p: p * 1.5, s.critic.params)))
    new, m = UPDATE(s, b, jax.random.PRNGKey(1))
    q_target = np.asarray(s.critic.apply_fn(s.target_critic_params, b.observations, b.actions)).min(0)
    v_new = np.asarray(new.value.apply_fn(new.value.params, b.observations))
    assert float(m["actor/adv_mean"]) == pytest.approx(float((q_target - v_new).mean()), rel=1e-5, abs=1e-6)


def test_timeout_does_not_zero_the_mask():
    t = transitions(np.zeros((2, 1)), np.zeros((2, 1)), [1, 1], np.zeros((2, 1)), terminals=[0, 1],
                    timeouts=[1, 0])
    np.testing.assert_array_equal(t.masks, [1.0, 0.0])


def test_shapes_and_dtypes():
    s, b = _state(), _batch(16)
    assert s.value.apply_fn(s.value.params, b.observations).shape == (16,)
    assert s.critic.apply_fn(s.critic.params, b.observations, b.actions).shape == (2, 16)
    mean, log_std = s.actor.apply_fn(s.actor.params, b.observations)
    assert mean.shape == log_std.shape == (16, ACT)
    assert gaussian_log_prob(mean, log_std, b.actions).shape == (16,)
    for key, temperature in ((None, 0.0), (jax.random.PRNGKey(0), 1.0)):
        a = agent.act(s, b.observations * 100, key, temperature)
        assert a.shape == (16, ACT) and a.dtype == jnp.float32
        assert float(jnp.abs(a).max()) <= 1.0
    new, m = UPDATE(s, b, jax.random.PRNGKey(0))
    floats = [x for x in jax.tree_util.tree_leaves((new.actor, new.critic, new.value, new.target_critic_params,
                                                    new.hyper)) if jnp.issubdtype(x.dtype, jnp.floating)]
    assert floats and all(x.dtype == jnp.float32 for x in floats)
    assert all(v.dtype == jnp.float32 and v.shape == () for v in m.values())


def test_cosine_actor_lr():
    h = agent.Hyper.from_config(tiny_config(actor_lr=1.0), decay_steps=100)
    assert float(agent.actor_lr(h, 0)) == pytest.approx(1.0)
    assert float(agent.actor_lr(h, 50)) == pytest.approx(0.5, abs=1e-6)
    assert float(agent.actor_lr(h, 100)) == pytest.approx(0.0, abs=1e-7)
    assert float(agent.actor_lr(h, 500)) == pytest.approx(0.0, abs=1e-7)
    const = agent.Hyper.from_config(tiny_config(actor_lr=1.0, actor_lr_schedule="constant"), decay_steps=100)
    assert float(agent.actor_lr(const, 77)) == pytest.approx(1.0)


def test_dropout_only_in_training():
    s = agent.init(tiny_config(actor_dropout=0.5), jax.random.PRNGKey(0), OBS, ACT)
    b = _batch(8)
    a1 = s.actor.apply_fn(s.actor.params, b.observations)[0]
    a2 = s.actor.apply_fn(s.actor.params, b.observations)[0]
    np.testing.assert_array_equal(a1, a2)
    t1 = s.actor.apply_fn(s.actor.params, b.observations, training=True, rngs={"dropout": jax.random.PRNGKey(0)})
    assert not np.array_equal(a1, t1[0])


def test_observation_normalisation_is_applied():
    mean, std = np.full(OBS, 3.0, np.float32), np.full(OBS, 2.0, np.float32)
    s = agent.init(tiny_config(), jax.random.PRNGKey(0), OBS, ACT, obs_mean=mean, obs_std=std)
    plain = agent.init(tiny_config(), jax.random.PRNGKey(0), OBS, ACT)
    obs = np.random.default_rng(0).normal(size=(4, OBS)).astype(np.float32)
    np.testing.assert_allclose(agent.act(s, obs * 2 + 3), agent.act(plain, obs), rtol=1e-5, atol=1e-6)
