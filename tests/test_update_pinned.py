"""The maths of the update is pinned: the optimised ``agent.update`` and ``engine.train_chunk`` equal a frozen copy of
the update as it was before the speed work (issue 11), on fixed inputs.

``_reference_update`` below is that copy, kept test-local on purpose: speed changes in ``agent.py`` / ``engine.py``
must not change any parameter, optimiser moment, target, key or metric beyond float rounding. It uses only the
loss functions (``iql_jax.losses``, unchanged) and plain optax, never the code under test.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from iql_jax import agent, engine, losses
from iql_jax.networks import gaussian_log_prob
from tiny import random_transitions, tiny_config

OBS, ACT, K = 5, 2, 12


def _ref_apply_grads(ts, grads, lr):
    updates, opt_state = ts.tx.update(grads, ts.opt_state, ts.params)
    params = jax.tree_util.tree_map(lambda p, u: p - lr * u, ts.params, updates)
    return ts.replace(step=ts.step + 1, params=params, opt_state=opt_state)


def _reference_update(state, batch, key):
    """The update of commit 5ae628e, line for line (V → actor → Q → Polyak, every metric)."""
    h = state.hyper
    obs, next_obs = agent.normalize(state, batch.observations), agent.normalize(state, batch.next_observations)
    target_q = state.critic.apply_fn(state.target_critic_params, obs, batch.actions).min(0)

    def v_loss_fn(params):
        return losses.value_loss(state.value.apply_fn(params, obs), target_q, h.expectile)

    (_, v_info), v_grads = jax.value_and_grad(v_loss_fn, has_aux=True)(state.value.params)
    value = _ref_apply_grads(state.value, v_grads, h.value_lr)
    v_new, next_v = jnp.split(value.apply_fn(value.params, jnp.concatenate([obs, next_obs])), 2)
    adv = target_q - v_new
    weights = losses.awr_weights(adv, h.beta, h.max_exp_adv)

    def pi_loss_fn(params):
        mean, log_std = state.actor.apply_fn(params, obs, training=True, rngs={"dropout": key})
        return losses.actor_loss(gaussian_log_prob(mean, log_std, batch.actions), weights)

    (_, pi_info), pi_grads = jax.value_and_grad(pi_loss_fn, has_aux=True)(state.actor.params)
    horizon = jnp.maximum(h.actor_decay_steps, 1.0)
    cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * jnp.minimum(state.step, horizon) / horizon))
    lr_pi = h.actor_lr * jnp.where(h.actor_decay_steps > 0, cosine, 1.0)
    actor = _ref_apply_grads(state.actor, pi_grads, lr_pi)
    target = losses.critic_target(batch.rewards, batch.masks, next_v, h.discount)

    def q_loss_fn(params):
        return losses.critic_loss(state.critic.apply_fn(params, obs, batch.actions), target)

    (_, q_info), q_grads = jax.value_and_grad(q_loss_fn, has_aux=True)(state.critic.params)
    critic = _ref_apply_grads(state.critic, q_grads, h.critic_lr)
    target_params = optax.incremental_update(critic.params, state.target_critic_params, h.polyak)
    metrics = {
        **v_info, **pi_info, **q_info,
        "actor/adv_mean": adv.mean(),
        "actor/weight_mean": weights.mean(),
        "actor/weight_max": weights.max(),
        "actor/lr": lr_pi,
        "grad/value_norm": optax.tree.norm(v_grads),
        "grad/actor_norm": optax.tree.norm(pi_grads),
        "grad/critic_norm": optax.tree.norm(q_grads),
    }
    return state.replace(actor=actor, critic=critic, value=value, target_critic_params=target_params,
                         step=state.step + 1), metrics


def _reference_chunk(state, data, num_updates):
    """K reference updates in a scan; metrics reduced as the engine documents: max for ``*_max``, the last update's
    value for the ``grad/*`` norms (the engine computes them on a chunk's last update only), else the mean."""
    def body(s, _):
        key, k_batch, k_update = jax.random.split(s.key, 3)
        batch = engine.sample_batch(data, k_batch, s.network.batch_size)
        return _reference_update(s.replace(key=key), batch, k_update)

    state, metrics = jax.lax.scan(body, state, None, length=num_updates)
    def reduce(name, v):
        return v[-1] if name.startswith("grad/") else v.max(0) if name.endswith("_max") else v.mean(0)

    return state, {k: reduce(k, v) for k, v in metrics.items()}


def _state(config, seed=0):
    s = agent.init(config, jax.random.PRNGKey(seed), OBS, ACT, decay_steps=100)
    # Non-trivial moments and a target that differs from the critic, so every term of Adam and Polyak is exercised.
    s, _ = jax.jit(_reference_update)(s, random_transitions(config.batch_size, OBS, ACT, 9), jax.random.PRNGKey(5))
    return s


def _assert_close(a, b, rtol=2e-5, atol=1e-6):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb) and len(la) > 0
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_one_update_equals_the_frozen_reference(dropout):
    config = tiny_config(actor_dropout=dropout)
    state = _state(config)
    batch, key = random_transitions(config.batch_size, OBS, ACT, 3), jax.random.PRNGKey(11)
    want_state, want_metrics = jax.jit(_reference_update)(state, batch, key)
    got_state, got_metrics = jax.jit(agent.update)(state, batch, key)
    _assert_close(got_state, want_state)
    assert set(got_metrics) == set(want_metrics)
    for name in want_metrics:
        np.testing.assert_allclose(float(got_metrics[name]), float(want_metrics[name]), rtol=2e-5, atol=1e-6,
                                   err_msg=name)
    # Skipping the norms changes nothing else, and they come back as zeros.
    skip_state, skip_metrics = jax.jit(lambda s, b, k: agent.update(s, b, k, grad_norms=False))(state, batch, key)
    _assert_close(skip_state, want_state)
    for name in want_metrics:
        want = 0.0 if name.startswith("grad/") else float(want_metrics[name])
        np.testing.assert_allclose(float(skip_metrics[name]), want, rtol=2e-5, atol=1e-6, err_msg=name)
    assert float(want_metrics["grad/critic_norm"]) > 0
    # The update really moves the state (a no-op would also be "close" to nothing).
    assert not np.allclose(np.asarray(got_state.critic.params["params"]["VmapStateActionValue_0"]["MLP_0"]
                                      ["Dense_0"]["kernel"]),
                           np.asarray(state.critic.params["params"]["VmapStateActionValue_0"]["MLP_0"]
                                      ["Dense_0"]["kernel"]))


@pytest.mark.parametrize("seeds", [[4], [4, 5]])
def test_train_chunk_equals_the_frozen_reference(seeds):
    config = tiny_config()
    data = engine.device_data(random_transitions(300, OBS, ACT, 1))
    states, _ = engine.init_population(config, seeds, OBS, ACT, decay_steps=100)
    ref = [jax.jit(_reference_chunk, static_argnums=2)(engine.member(states, i), data, K) for i in range(len(seeds))]
    got_states, got_metrics = engine.train_chunk(states, data, K)  # donates `states`: the reference ran first
    for i, (want_state, want_metrics) in enumerate(ref):
        _assert_close(engine.member(got_states, i), want_state, rtol=1e-4, atol=1e-5)
        assert set(got_metrics) == set(want_metrics)
        for name, value in want_metrics.items():
            np.testing.assert_allclose(float(got_metrics[name][i]), float(value), rtol=1e-4, atol=1e-5,
                                       err_msg=name)
