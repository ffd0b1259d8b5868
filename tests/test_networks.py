"""Flax modules: documented shapes, independent Q heads, the clipped log-std, dropout, the Gaussian log-density."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

from iql_jax.networks import MLP, CriticEnsemble, GaussianPolicy, StateValue, gaussian_log_prob

B, OBS, ACT = 7, 4, 3


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.normal(size=(B, OBS)), jnp.float32), jnp.asarray(rng.uniform(-1, 1, (B, ACT)), jnp.float32)


def test_value_is_b_and_the_ensemble_is_heads_by_b_with_independent_heads():
    obs, act = _inputs()
    v = StateValue((16, 16))
    assert v.apply(v.init(jax.random.PRNGKey(0), obs), obs).shape == (B,)
    q = CriticEnsemble((16, 16), num_critics=3)
    params = q.init(jax.random.PRNGKey(0), obs, act)
    out = np.asarray(q.apply(params, obs, act))
    assert out.shape == (3, B)
    assert not np.allclose(out[0], out[1]) and not np.allclose(out[1], out[2])  # split rngs: heads differ
    kernel = params["params"]["VmapStateActionValue_0"]["MLP_0"]["Dense_0"]["kernel"]
    assert kernel.shape == (3, OBS + ACT, 16)  # one parameter set per head, stacked on the leading axis


@pytest.mark.parametrize("raw, clipped", [(10.0, 2.0), (-10.0, -5.0), (0.3, 0.3)])
def test_policy_log_std_is_clipped_to_its_bounds_and_the_mean_is_squashed(raw, clipped):
    obs, _ = _inputs()
    pi = GaussianPolicy((16,), ACT, log_std_min=-5.0, log_std_max=2.0)
    params = pi.init(jax.random.PRNGKey(0), obs)
    params["params"]["log_std"] = jnp.full((ACT,), raw, jnp.float32)
    mean, log_std = pi.apply(params, obs * 1e3)
    assert mean.shape == log_std.shape == (B, ACT)
    np.testing.assert_allclose(np.asarray(log_std), clipped, rtol=1e-6)
    assert float(jnp.abs(mean).max()) <= 1.0


def test_gaussian_log_prob_equals_scipy():
    rng = np.random.default_rng(1)
    mean, log_std, a = rng.normal(size=(B, ACT)), rng.normal(size=(B, ACT)) * 0.5, rng.normal(size=(B, ACT))
    expected = norm.logpdf(a, mean, np.exp(log_std)).sum(-1)
    got = gaussian_log_prob(jnp.float32(mean), jnp.float32(log_std), jnp.float32(a))
    assert got.shape == (B,)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-5)


def test_mlp_dropout_acts_only_in_training_and_the_last_layer_is_linear():
    x, _ = _inputs()
    mlp = MLP((32, 5), dropout_rate=0.5)
    params = mlp.init(jax.random.PRNGKey(0), x)
    eval_a, eval_b = mlp.apply(params, x), mlp.apply(params, x)
    np.testing.assert_array_equal(eval_a, eval_b)
    train = mlp.apply(params, x, training=True, rngs={"dropout": jax.random.PRNGKey(1)})
    assert not np.allclose(eval_a, train)
    assert float(eval_a.min()) < 0  # no ReLU after the final layer
