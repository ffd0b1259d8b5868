"""The compiled per-member programs of online fine-tuning (vmapped over members, or run on a lone member).

Two programs per setting: :func:`compiled_iteration` (store the K collected rows, run K ``agent.update`` steps on
batches from offline ∪ online inside one ``lax.scan``, accumulate the metrics, pick the next action) and
:func:`compiled_act` (an action without updating, for the first action of a segment and the K − 1 extra collection
steps). The update is ``agent.update`` itself; only the data source differs from :func:`iql_jax.engine.train_step`.
"""

from __future__ import annotations

import functools

import jax

from iql_jax import agent, engine
from iql_jax.agent import IQLState
from iql_jax.data.transitions import Transitions
from iql_jax.finetune import buffer as buffers
from iql_jax.finetune.buffer import OnlineBuffer


def _sample_union(data: tuple, key, batch_size: int) -> Transitions:
    return buffers.sample(*data, key, batch_size)


def train_step(state: IQLState, offline: Transitions, online: OnlineBuffer):
    """``engine.train_step`` with the union buffer as the data source."""
    return engine.train_step(state, (offline, online), _sample_union)


def explore_action(state: IQLState, obs, step, temperature: float):
    """The exploration action for online step ``step``: its key is ``fold_in(state.key, step)``."""
    return agent.act(state, obs[None], jax.random.fold_in(state.key, step), temperature)[0]


def _unpack(rows, obs_dim: int, act_dim: int) -> tuple:
    """``(K, 2·obs + act + 2)`` packed rows (one host→device copy per call) → the buffer's five fields."""
    o, a = obs_dim, act_dim
    return rows[:, :o], rows[:, o:o + a], rows[:, o + a], rows[:, o + a + 1:2 * o + a + 1], rows[:, -1]


def iteration(state, online, acc, rows, obs, step, offline, *, num_updates: int, temperature: float):
    """Store K collected rows, run K updates on the union, then pick the next action for ``obs``."""
    online = buffers.add(online, _unpack(rows, obs.shape[-1], online.actions.shape[-1]))
    state, metrics = jax.lax.scan(lambda s, _: train_step(s, offline, online), state, None, length=num_updates)
    acc = engine.accumulate(acc, metrics)
    return state, online, acc, explore_action(state, obs, step, temperature)


@functools.lru_cache(maxsize=None)
def compiled_iteration(num_updates: int, temperature: float, single: bool):
    """``iteration`` over the population; the states, the online buffer and the accumulators are donated."""
    fn = functools.partial(iteration, num_updates=num_updates, temperature=temperature)
    return jax.jit(engine.over_members(fn, (0, 0, 0, 0, 0, None, None), single), donate_argnums=(0, 1, 2))


@functools.lru_cache(maxsize=None)
def compiled_act(temperature: float, single: bool):
    """``explore_action`` over the population (nothing donated)."""
    fn = functools.partial(explore_action, temperature=temperature)
    return jax.jit(engine.over_members(fn, (0, 0, None), single))


_METRIC_NAMES: dict = {}  # NetworkConfig -> names of agent.update's metrics


def metric_names(states: IQLState, buffer: OnlineBuffer, offline: Transitions) -> tuple[str, ...]:
    """The names of ``agent.update``'s metrics, from an abstract trace (no computation), once per config."""
    if states.network not in _METRIC_NAMES:
        first = lambda tree: jax.tree_util.tree_map(lambda x: x[0], tree)
        shapes = jax.eval_shape(lambda s, b: train_step(first(s), offline, first(b))[1], states, buffer)
        _METRIC_NAMES[states.network] = tuple(shapes)
    return _METRIC_NAMES[states.network]
