"""The compiled programs of SAC training: two device calls per environment step.

:func:`store` appends the transition just collected to the replay buffer (resident on the device, a
:class:`~iql_jax.finetune.buffer.OnlineBuffer`, written in place); :func:`train` runs the SAC updates on uniform
batches inside one ``lax.scan``, adds their metrics to running sums and picks the next exploration action. During
warm-up only :func:`store` and :func:`sac.explore` run.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from iql_jax.behaviour import sac
from iql_jax.behaviour.sac import SACState
from iql_jax.finetune import buffer as buffers
from iql_jax.finetune.buffer import OnlineBuffer

# A packed host row: observation, action, reward, next observation, terminal, truncated. The buffer takes the first
# five fields; ``truncated`` (an episode cut by the time limit) stays on the host for the episode boundaries.
HOST_EXTRA = 1


def row_width(obs_dim: int, act_dim: int) -> int:
    return 2 * obs_dim + act_dim + 2 + HOST_EXTRA


def unpack(rows, obs_dim: int, act_dim: int) -> tuple:
    """``(K, row_width)`` rows → (observations, actions, rewards, next_observations, terminals)."""
    o, a = obs_dim, act_dim
    return rows[:, :o], rows[:, o:o + a], rows[:, o + a], rows[:, o + a + 1:2 * o + a + 1], rows[:, 2 * o + a + 1]


def train_step(state: SACState, buffer: OnlineBuffer) -> tuple[SACState, dict]:
    """Split the state's key, draw a batch from the buffer, run one :func:`sac.update`."""
    key, k_batch, k_update = jax.random.split(state.key, 3)
    batch = buffers.sample_rows(buffer, k_batch, state.config.batch_size)
    return sac.update(state.replace(key=key), batch, k_update)


def store(buffer: OnlineBuffer, rows) -> OnlineBuffer:
    """Append packed host ``rows`` to the device buffer."""
    obs_dim = buffer.observations.shape[-1]
    return buffers.add(buffer, unpack(rows, obs_dim, buffer.actions.shape[-1]))


def train(state, buffer, sums, obs, env_step, *, num_updates: int):
    """Run ``num_updates`` updates, add their metrics to ``sums``, and choose the action for ``obs``."""
    state, metrics = jax.lax.scan(lambda s, _: train_step(s, buffer), state, None, length=num_updates)
    sums = {k: sums[k] + v.sum() for k, v in metrics.items()}
    return state, sums, sac.explore(state, obs, env_step, False)


@functools.lru_cache(maxsize=None)
def compiled_store():
    """:func:`store`, the buffer donated (written in place). A separate program from :func:`compiled_train`:
    a buffer written and then read by a loop in one program is copied whole on every call (measured: 1M rows
    took the step from 9 ms to 34 ms)."""
    return jax.jit(store, donate_argnums=0)


@functools.lru_cache(maxsize=None)
def compiled_train(num_updates: int):
    return jax.jit(functools.partial(train, num_updates=num_updates), donate_argnums=(0, 2))


@functools.lru_cache(maxsize=None)
def compiled_explore():
    return jax.jit(sac.explore)


def zero_sums(state: SACState, buffer: OnlineBuffer) -> dict:
    """Zeroed running sums, one per metric of :func:`sac.update` (names from an abstract trace)."""
    names = jax.eval_shape(lambda s, b: train_step(s, b)[1], state, buffer)
    return {k: jnp.zeros((), jnp.float32) for k in names}


@functools.lru_cache(maxsize=None)
def compiled_policy(hidden_dims: tuple[int, ...], act_dim: int, stochastic: bool):
    """``(params, obs (..., O), key) → actions (..., A)``: tanh(μ), or a sample, for evaluation."""
    actor = sac.modules(sac.SACConfig(hidden_dims=tuple(hidden_dims)), act_dim)[0]

    def act(params, observations, key):
        mean, log_std = actor.apply(params, observations)
        if not stochastic:
            return jnp.tanh(mean)
        return jnp.tanh(mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape))

    return jax.jit(act)
