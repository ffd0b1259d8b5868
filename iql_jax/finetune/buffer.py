"""The fine-tuning replay buffer, resident on the device: the shared offline data plus a FIFO ring per member.

The official fine-tuning script (``shared/reference/implementations.md`` §1.8) keeps one 2M-row FIFO buffer,
pre-filled with the whole offline dataset, appends every online transition and samples uniformly from all rows.
Here the same distribution comes from two parts:

* the **offline** data (``engine.device_data``, N rows), put on the device once and shared by every member of the
  population, never copied per member;
* an :class:`OnlineBuffer` holding each member's own online transitions, a ring of ``capacity`` rows with a leading
  member axis, ``(M, capacity, ...)``.

:func:`sample` draws an index uniformly from ``[0, N + size)`` and reads row ``i`` of the offline data when
``i < N`` and row ``i - N`` of the online ring otherwise: exactly the distribution of sampling one buffer that holds
the concatenation. Everything is a pure function on NamedTuples, so it runs inside ``jit`` and ``vmap`` (one
member's buffer per call) and is saved with ``flax.serialization`` like the agent state.

**Capacity.** The default ``capacity`` is the number of online steps, so nothing is ever overwritten and the
buffer equals the official one whenever offline + online rows fit in 2M (the paper's AntMaze runs: about 1M + 1M).
A smaller cap makes the ring overwrite its *oldest online* rows; the offline data always stays in full. The
official FIFO, when it overflows, drops its oldest rows first, i.e. the *offline* data; we never do that (a
member's share of offline data only shrinks relative to the online rows). Memory per member is
``capacity × (2·obs_dim + act_dim + 2) × 4`` bytes, e.g. 272 MB for 1M AntMaze steps.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from iql_jax.data.transitions import Transitions
from iql_jax.errors import ConfigError

ROW_FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals")


class OnlineBuffer(NamedTuple):
    """Online transitions in a FIFO ring. Shapes are per member; a population adds a leading axis M.

    ``terminals`` is 1.0 only where the environment really terminated (never on a time limit), so the bootstrap
    mask ``1 - terminals`` is derived exactly as for the offline data.
    """

    observations: Any  # (C, obs_dim) float32
    actions: Any  # (C, act_dim)
    rewards: Any  # (C,) already through the run's RewardTransform
    next_observations: Any  # (C, obs_dim)
    terminals: Any  # (C,)
    size: Any  # () int32, valid rows: min(rows added, C)
    cursor: Any  # () int32, the row the next transition goes to (the oldest one once full)

    @property
    def capacity(self) -> int:
        return int(self.rewards.shape[-1])


def init_buffer(num_members: int, capacity: int, obs_dim: int, act_dim: int) -> OnlineBuffer:
    """An empty population buffer: arrays ``(num_members, capacity, ...)``, ``size`` and ``cursor`` ``(M,)``.

    Raises:
        ConfigError: a non-positive member count or capacity.
    """
    if num_members < 1 or capacity < 1:
        raise ConfigError(f"online buffer: expected num_members >= 1 and capacity >= 1, found {num_members}, "
                          f"{capacity}")
    m, c = int(num_members), int(capacity)
    zeros = lambda *shape: jnp.zeros((m, c, *shape), jnp.float32)
    counter = lambda: jnp.zeros((m,), jnp.int32)  # separate arrays: the buffer is donated, leaf by leaf
    return OnlineBuffer(zeros(obs_dim), zeros(act_dim), zeros(), zeros(obs_dim), zeros(), counter(), counter())


def add(buffer: OnlineBuffer, rows: Transitions | tuple) -> OnlineBuffer:
    """Append K transitions to one member's ring (jittable; ``jax.vmap`` it over a population).

    Args:
        buffer: one member's buffer (no member axis).
        rows: ``(observations, actions, rewards, next_observations, terminals)`` with a leading axis K ≤ capacity,
            as a tuple in that order or a :class:`Transitions` (its other fields are ignored).

    Returns:
        The buffer with the rows written at ``cursor, cursor + 1, …`` (mod capacity), overwriting the oldest rows
        once full; ``size`` saturates at the capacity.
    """
    if isinstance(rows, Transitions):
        rows = tuple(getattr(rows, f) for f in ROW_FIELDS)
    k, capacity = rows[2].shape[0], buffer.rewards.shape[0]
    if k > capacity:  # scattered writes to repeated indices would have no defined order
        raise ConfigError(f"online buffer: cannot add {k} rows at once to a capacity of {capacity}")
    idx = (buffer.cursor + jnp.arange(k)) % capacity
    arrays = [old.at[idx].set(jnp.asarray(new, old.dtype)) for old, new in zip(buffer[:5], rows)]
    return OnlineBuffer(*arrays, size=jnp.minimum(buffer.size + k, capacity).astype(jnp.int32),
                        cursor=((buffer.cursor + k) % capacity).astype(jnp.int32))


def sample(offline: Transitions, online: OnlineBuffer, key, batch_size: int) -> Transitions:
    """Uniform with replacement over the union of the offline data and one member's online rows.

    Args:
        offline: the shared offline data from ``engine.device_data`` (N rows; already reward-transformed).
        online: one member's :class:`OnlineBuffer` (no member axis).
        key: PRNG key.
        batch_size: rows per batch (static).

    Returns:
        A :class:`Transitions` batch; ``timeouts`` and ``episode_ends`` are empty placeholders, as from
        ``engine.sample_batch``.
    """
    n = offline.rewards.shape[0]
    idx = jax.random.randint(key, (batch_size,), 0, n + online.size)
    from_offline = idx < n
    off_idx = jnp.minimum(idx, n - 1)
    on_idx = jnp.clip(idx - n, 0, online.rewards.shape[0] - 1)

    def pick(field):
        a, b = getattr(offline, field)[off_idx], getattr(online, field)[on_idx]
        return jnp.where(from_offline.reshape((-1,) + (1,) * (a.ndim - 1)), a, b)

    empty = jnp.zeros((0,), jnp.float32)
    return Transitions(*(pick(f) for f in ROW_FIELDS), timeouts=empty, episode_ends=empty)


def online_transitions(buffer: OnlineBuffer, member: int | None = None) -> Transitions:
    """A member's valid online rows as NumPy :class:`Transitions`, oldest first (for inspection and export).

    Args:
        buffer: a population buffer (pass ``member``) or one member's buffer (``member=None``).
        member: index on the member axis.

    Returns:
        ``size`` rows; ``timeouts`` and ``episode_ends`` are zeros (the ring does not keep episode boundaries).
    """
    if member is not None:
        buffer = jax.tree_util.tree_map(lambda x: x[member], buffer)
    buffer = jax.device_get(buffer)
    size, cursor, capacity = int(buffer.size), int(buffer.cursor), buffer.capacity
    order = (np.arange(size) + (cursor if size == capacity else 0)) % capacity
    fields = [np.asarray(getattr(buffer, f))[order] for f in ROW_FIELDS]
    zeros = np.zeros(size, np.float32)
    return Transitions(*fields, timeouts=zeros, episode_ends=zeros)


def sample_rows(buffer: OnlineBuffer, key, batch_size: int) -> Transitions:
    """Uniform with replacement over one buffer's valid rows alone (online RL from scratch, e.g. SAC)."""
    idx = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    empty = jnp.zeros((0,), jnp.float32)
    return Transitions(*(getattr(buffer, f)[idx] for f in ROW_FIELDS), timeouts=empty, episode_ends=empty)
