"""The update: Polyak, each network moved by its own loss in the official order, masks, shapes and dtypes."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from iql_jax import agent, losses
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


def _adam_step(ts, loss_fn, lr):
    """One step of the update's optimiser (Adam's scaling, then the lr) on ``loss_fn`` alone."""
    grads = jax.grad(lambda p: loss_fn(p)[0])(ts.params)
    updates, _ = optax.scale_by_adam().update(grads, ts.opt_state, ts.params)
    return jax.tree_util.tree_map(lambda p, u: p - lr * u, ts.params, updates)


def _assert_close(a, b):
    for x, y in zip(_leaves(a), _leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_each_network_moves_by_its_own_loss_alone():
    # Every lr non-zero: each network's new parameters must equal one optimiser step on its own loss, with the
    # inputs the official order gives it (V vs the target critic; the actor vs the target critic and the new V;
    # Q vs r + γ·mask·V_new(s')). Any gradient reaching a network from another loss, or a stale input, fails this.
    s, b = _state(actor_lr=1e-3, critic_lr=2e-3, value_lr=3e-3), _batch()
    key = jax.random.PRNGKey(1)
    new, _ = UPDATE(s, b, key)
    obs, h = b.observations, s.hyper
    q_target = s.critic.apply_fn(s.target_critic_params, obs, b.actions).min(0)
    value = _adam_step(s.value, lambda p: losses.value_loss(s.value.apply_fn(p, obs), q_target, h.expectile),
                       h.value_lr)
    _assert_close(value, new.value.params)
    v_new = new.value.apply_fn(new.value.params, obs)
    weights = losses.awr_weights(q_target - v_new, h.beta, h.max_exp_adv)

    def pi_loss(p):
        mean, log_std = s.actor.apply_fn(p, obs, training=True, rngs={"dropout": key})
        return losses.actor_loss(gaussian_log_prob(mean, log_std, b.actions), weights)

    _assert_close(_adam_step(s.actor, pi_loss, agent.actor_lr(h, 0)), new.actor.params)
    y = losses.critic_target(b.rewards, b.masks, new.value.apply_fn(new.value.params, b.next_observations),
                             h.discount)
    critic = _adam_step(s.critic, lambda p: losses.critic_loss(s.critic.apply_fn(p, obs, b.actions), y), h.critic_lr)
    _assert_close(critic, new.critic.params)


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


def test_a_timeout_keeps_bootstrapping_in_the_update():
    # Row 0 ends by time limit (bootstrap), row 1 terminates (no bootstrap); the update's critic target must say so.
    rng = np.random.default_rng(0)
    obs, nxt = rng.normal(size=(2, OBS)), rng.normal(size=(2, OBS))
    b = transitions(obs, rng.uniform(-1, 1, (2, ACT)), [1.0, 2.0], nxt, terminals=[0, 1], timeouts=[1, 0])
    new, m = UPDATE(_state(), b, jax.random.PRNGKey(1))
    v_next = np.asarray(new.value.apply_fn(new.value.params, b.next_observations))
    expected = np.mean([1.0 + 0.99 * v_next[0], 2.0])
    assert float(m["critic/target_mean"]) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert abs(v_next[0] * 0.99) > 1e-3  # a zeroed mask would be visible


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
