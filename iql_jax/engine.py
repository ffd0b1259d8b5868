"""The fused, multi-seed training engine.

The dataset is put on the device once. :func:`train_step` draws a batch with ``jax.random`` and calls
``agent.update``; :func:`train_chunk` runs K of them inside one ``lax.scan`` and reduces the metrics in the same
compiled call. Members (seeds × hyperparameter settings) are a leading ``vmap`` axis of the state; the dataset is
shared. The state argument is donated, so a chunk updates the learners in place on the device.
"""

from __future__ import annotations

import functools
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import jax
import jax.numpy as jnp

from iql_jax import agent, sharding
from iql_jax.agent import SWEEPABLE, Hyper, IQLState
from iql_jax.config import AgentConfig, NetworkConfig
from iql_jax.data.transitions import Transitions
from iql_jax.errors import ConfigError

# Fields a batch needs; timeouts and episode ends stay on the host.
_TRAIN_FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals")


def device_data(transitions: Transitions) -> Transitions:
    """Put the fields an update reads on the device (once per run); the others become empty placeholders."""
    arrays = {f: jnp.asarray(getattr(transitions, f), jnp.float32) for f in _TRAIN_FIELDS}
    empty = jnp.zeros((0,), jnp.float32)
    return Transitions(**arrays, timeouts=empty, episode_ends=empty)


def sample_batch(data: Transitions, key, batch_size: int) -> Transitions:
    """Uniform with replacement, as the official code (but from an explicit key)."""
    return gather(data, jax.random.randint(key, (batch_size,), 0, data.rewards.shape[0]))


def gather(data: Transitions, idx) -> Transitions:
    """The rows ``idx`` of every field an update reads (the empty placeholders stay as they are)."""
    return Transitions(*(x[idx] if x.shape[0] else x for x in data))


def train_step(state: IQLState, data, sample: Callable = sample_batch, *,
               grad_norms: bool = True) -> tuple[IQLState, dict]:
    """Split the state's key, draw a batch with ``sample(data, key, batch_size)``, run one update (``grad_norms`` as
    in :func:`agent.update`).

    Offline training samples the dataset (:func:`sample_batch`); fine-tuning passes its offline ∪ online sampler,
    so both run this same step.
    """
    key, k_batch, k_update = jax.random.split(state.key, 3)
    batch = sample(data, k_batch, state.network.batch_size)
    return agent.update(state.replace(key=key), batch, k_update, grad_norms=grad_norms)


def over_members(fn: Callable, in_axes: tuple, single: bool) -> Callable:
    """``fn`` over a population: ``vmap`` with ``in_axes``, or, for one member (``single``), the member axis dropped
    and restored around a plain call. A size-1 vmap batches every matmul and gather, which costs about a third of
    the throughput on CPU. Used by the offline chunk and the online programs alike."""
    if not single:
        return jax.vmap(fn, in_axes=in_axes)

    def run(*args):
        args = [a if ax is None else jax.tree_util.tree_map(lambda x: x[0], a) for a, ax in zip(args, in_axes)]
        return jax.tree_util.tree_map(lambda x: x[None], fn(*args))

    return run


def _rule(name: str) -> str:
    return "last" if name.startswith("grad/") else "max" if name.endswith("_max") else "mean"


def metric_totals(names, shape=()) -> dict:
    """Empty accumulators for :func:`accumulate`, one per metric name, of ``shape`` (``(M,)`` on the host)."""
    return {k: jnp.full(shape, -jnp.inf if _rule(k) == "max" else 0.0, jnp.float32) for k in names}


def accumulate(totals: dict, metrics: dict) -> dict:
    """Fold metrics stacked over updates (leading axis) into ``totals``: sums, running maxima for ``*_max``, and
    the newest value for ``grad/*`` (computed on a chunk's last update only)."""
    def one(name, total, v):
        rule = _rule(name)
        return v[-1] if rule == "last" else jnp.maximum(total, v.max(0)) if rule == "max" else total + v.sum(0)

    return {k: one(k, totals[k], v) for k, v in metrics.items()}


def chunk_metrics(totals: dict, count: int) -> dict:
    """The one summary of a chunk of ``count`` updates, offline or online: the mean of each metric, the max for
    ``*_max``, the last update's ``grad/*`` norms."""
    return {k: v / count if _rule(k) == "mean" else v for k, v in totals.items()}


def _key_chain(key, num_updates: int):
    """The keys :func:`train_step` would split off in ``num_updates`` successive steps: the next state key, and per
    step the batch key and the update key. The chain is sequential (each key is split from the last), so it is its
    own small loop; what it feeds (drawing the batches) is then done for the whole chunk at once."""
    def split(k, _):
        k, k_batch, k_update = jax.random.split(k, 3)
        return k, (k_batch, k_update)

    return jax.lax.scan(split, key, None, length=num_updates)


def predrawn(state: IQLState, data: Transitions, num_updates: int):
    """What ``num_updates`` :func:`train_step` calls would draw: the state's key after them, every batch's indices
    ``(K, batch)`` (one vectorised ``randint`` over the sequential key chain) and every update's key."""
    key, (batch_keys, update_keys) = _key_chain(state.key, num_updates)
    size = data.rewards.shape[0]
    indices = jax.vmap(lambda k: jax.random.randint(k, (state.network.batch_size,), 0, size))(batch_keys)
    return key, indices, update_keys


def _chunk(state: IQLState, data: Transitions, num_updates: int):
    """``num_updates`` :func:`train_step` calls with :func:`sample_batch`, bit for bit, in fewer ops: every batch
    index of the chunk is drawn before the scan in one vectorised ``randint``. On CPU each ``jax.random`` call is a
    rolled five-round loop of small ops; inside the scan the four calls of a step dispatched more than half of an
    update's ops (``benchmarks/hlo_counts.py``)."""
    key, indices, update_keys = predrawn(state, data, num_updates)

    def body(s, xs):
        i, idx, k_update = xs
        batch = gather(data, idx)
        return agent.update(s, batch, k_update, grad_norms=i == num_updates - 1)

    state, metrics = jax.lax.scan(body, state, (jnp.arange(num_updates), indices, update_keys))
    return state.replace(key=key), chunk_metrics(accumulate(metric_totals(metrics), metrics), num_updates)


def _per_device_chunk(num_updates: int, single: bool):
    chunk = functools.partial(_chunk, num_updates=num_updates)
    return over_members(chunk, (0, None), single)


@functools.lru_cache(maxsize=None)
def _compiled_chunk(num_updates: int, single: bool, shards: int = 1):
    """The jitted chunk program; ``shards`` > 1 splits the members over that many devices (``sharding``)."""
    if shards == 1:
        return jax.jit(_per_device_chunk(num_updates, single), donate_argnums=0)
    mesh = sharding.device_mesh(shards)
    return jax.jit(sharding.shard_chunk(_per_device_chunk(num_updates, single), mesh), donate_argnums=0)


def train_chunk(states: IQLState, data: Transitions, num_updates: int) -> tuple[IQLState, dict]:
    """Run ``num_updates`` updates for every member of ``states`` (leading axis M) in one compiled call.

    With several local devices the members are split over them and the data replicated
    (:mod:`iql_jax.sharding`, which also states the rule when M is not a multiple of the device count); with one
    device, or one member, this is a single-device program.

    Args:
        states: a population from :func:`init_population` (donated: do not reuse the argument).
        data: the dataset from :func:`device_data`, shared by all members.
        num_updates: updates per member; each distinct value compiles once.

    Returns:
        The new states and per-member metrics ``{name: (M,)}`` averaged over the chunk (maxima for ``*_max``;
        the ``grad/*_norm`` gradient norms are those of the chunk's last update).
    """
    num_members = jax.tree_util.tree_leaves(states)[0].shape[0]
    shards = sharding.shard_count(num_members)
    if shards > 1:
        states, data = sharding.place(states, data, sharding.device_mesh(shards))
    return _compiled_chunk(int(num_updates), num_members // shards == 1, shards)(states, data)


@dataclass(frozen=True)
class Chunk:
    """What a stretch of training hands the driver (:func:`iql_jax.runs.loop.drive`), offline or online.

    Attributes:
        step: steps this phase has done after the chunk (updates offline, environment steps online).
        states: the population after it (donated to the next chunk: evaluate or save it before asking for more).
        metrics: the update metrics per member ``{name: (M,)}``, summarised by :func:`chunk_metrics`; the driver
            stops the run on the first non-finite one.
        observed: other per-member values ``(M,)`` to log as they are (online episode returns, NaN where none ended).
        timing: throughput scalars, added to every metrics row.
        carry: what a checkpoint must hold when it is more than ``states`` (the fine-tuning state); None: ``states``.
    """

    step: int
    states: IQLState
    metrics: dict
    observed: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    carry: Any = None

    @property
    def saved(self):
        """The pytree a checkpoint of this chunk holds."""
        return self.states if self.carry is None else self.carry


def train_iter(states: IQLState, data: Transitions, steps: int, *, start: int = 0, chunk_size: int = 1000,
               align: Sequence[int] = ()) -> Iterator[Chunk]:
    """Offline training as chunks: updates ``start`` to ``steps`` in calls of :func:`train_chunk` of at most
    ``chunk_size`` updates, each ending on every multiple of the ``align`` cadences (0: none) it reaches, so the
    driver can evaluate and checkpoint there.

    Args:
        states: the population (donated, as in :func:`train_chunk`: use only what is yielded).
        data: from :func:`device_data`.
    """
    step = start
    while step < steps:
        n = min(chunk_size, steps - step, *(every - step % every for every in align if every > 0))
        t0 = time.perf_counter()
        states, metrics = train_chunk(states, data, n)
        metrics = jax.device_get(metrics)
        step += n
        yield Chunk(step, states, metrics, timing={"time/updates_per_s": n / (time.perf_counter() - t0)})


@dataclass(frozen=True)
class Member:
    """One learner of a population: its seed and the hyperparameters it overrides."""

    index: int
    seed: int
    overrides: tuple[tuple[str, float], ...] = ()

    @property
    def setting(self) -> str:
        """The hyperparameter setting, e.g. ``expectile=0.9 beta=10`` (empty without a sweep)."""
        return " ".join(f"{k}={v:g}" for k, v in self.overrides)

    @property
    def label(self) -> str:
        return f"seed={self.seed} {self.setting}".strip()


def expand_sweep(sweep) -> list[tuple[tuple[str, float], ...]]:
    """A grid dict or a list of setting dicts → the list of override tuples (``[()]`` for no sweep)."""
    if not sweep:
        return [()]
    if isinstance(sweep, Mapping):
        settings = [dict(zip(sweep.keys(), combo)) for combo in itertools.product(*sweep.values())]
    else:
        settings = [dict(s) for s in sweep]
    unknown = {k for s in settings for k in s} - set(SWEEPABLE)
    if unknown:
        raise ConfigError(f"sweep: unknown hyperparameters {sorted(unknown)}; expected some of {SWEEPABLE}")
    return [tuple((k, float(v)) for k, v in s.items()) for s in settings]


@functools.lru_cache(maxsize=None)
def _compiled_init(network: NetworkConfig, obs_dim: int, act_dim: int):
    # Keyed by the static network settings only: populations that differ in hyperparameters share the program.
    def make(key, hyper, obs_mean, obs_std):
        return agent.init(network, key, obs_dim, act_dim, obs_mean=obs_mean, obs_std=obs_std, hyper=hyper)

    return jax.jit(jax.vmap(make, in_axes=(0, 0, None, None)))


def init_population(config: AgentConfig, seeds: Sequence[int], obs_dim: int, act_dim: int, *,
                    decay_steps: int, sweep: Mapping[str, Sequence[float]] | Sequence[Mapping[str, float]] | None = None,
                    obs_mean=None, obs_std=None) -> tuple[IQLState, list[Member]]:
    """Stack S seeds × H settings into one vmapped state (leading axis M = S·H).

    Args:
        config: the hyperparameters every member starts from (None fields as :meth:`AgentConfig.complete`).
        sweep: optional settings over :data:`agent.SWEEPABLE` fields, either a grid ``{name: values}`` (every
            combination, e.g. ``{"expectile": [0.5, 0.7, 0.9]}``) or an explicit list of settings
            (e.g. ``[{"expectile": 0.9}, {"expectile": 0.7, "beta": 0.0}]``); each is trained with every seed.

    Returns:
        The population state and the list of members in axis order (seed-major).
    """
    settings = expand_sweep(sweep)
    base = Hyper.from_config(config, decay_steps)
    members, hypers, keys = [], [], []
    for seed in seeds:
        for overrides in settings:
            members.append(Member(len(members), int(seed), overrides))
            hypers.append(base._replace(**{k: jnp.float32(v) for k, v in overrides}))
            keys.append(jax.random.PRNGKey(int(seed)))
    stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *hypers)
    obs_mean = jnp.zeros(obs_dim, jnp.float32) if obs_mean is None else jnp.asarray(obs_mean, jnp.float32)
    obs_std = jnp.ones(obs_dim, jnp.float32) if obs_std is None else jnp.asarray(obs_std, jnp.float32)
    states = _compiled_init(config.network(), obs_dim, act_dim)(jnp.stack(keys), stacked, obs_mean, obs_std)
    return states, members


def member_hyper(states: IQLState, index: int) -> dict[str, float]:
    """The hyperparameter values member ``index`` really trains with (what ``config.json`` records per member)."""
    return {name: float(values[index]) for name, values in jax.device_get(states.hyper)._asdict().items()}


def member(states: IQLState, index: int) -> IQLState:
    """The single (unstacked) learner at ``index`` of a population."""
    return jax.tree_util.tree_map(lambda x: x[index], states)


@functools.lru_cache(maxsize=None)
def _policy_fn():
    return jax.jit(jax.vmap(agent.act))


def population_policy(states: IQLState):
    """A deterministic policy over all members: ``(M, E, obs_dim) → (M, E, act_dim)`` numpy, one call per step.

    This is the ``policy_fn`` that evaluation expects.
    """
    import numpy as np

    fn = _policy_fn()
    return lambda observations: np.asarray(fn(states, jnp.asarray(observations, jnp.float32)))
