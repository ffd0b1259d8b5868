"""The fine-tuning replay buffer: FIFO ring per member, capacity, and uniform sampling over offline ∪ online."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from iql_jax import engine
from iql_jax.errors import ConfigError
from iql_jax.finetune import buffer as buffers
from tiny import transitions


def _rows(markers, obs_dim=2, act_dim=1):
    """Rows whose every field carries the marker, so a sampled row shows where it came from."""
    v = np.asarray(markers, np.float32)
    return (np.repeat(v[:, None], obs_dim, 1), np.repeat(v[:, None], act_dim, 1), v,
            np.repeat(v[:, None], obs_dim, 1) + 0.5, (v % 2 == 0).astype(np.float32))


def _offline(markers):
    o, a, r, n, t = _rows(markers)
    return engine.device_data(transitions(o, a, r, n, t))


def _member(buffer, i):
    return jax.tree_util.tree_map(lambda x: x[i], buffer)


def _set_member(buffer, i, single):
    return jax.tree_util.tree_map(lambda x, y: x.at[i].set(y), buffer, single)


def test_fifo_wraparound_overwrites_oldest_and_size_saturates():
    buf = _member(buffers.init_buffer(1, 4, 2, 1), 0)
    add = jax.jit(buffers.add)
    buf = add(buf, _rows([1, 2, 3]))
    assert (int(buf.size), int(buf.cursor)) == (3, 3)
    np.testing.assert_array_equal(buffers.online_transitions(buf).rewards, [1, 2, 3])
    buf = add(buf, _rows([4, 5]))  # 5 rows into 4 slots: row 1 is overwritten
    assert (int(buf.size), int(buf.cursor)) == (4, 1)
    np.testing.assert_array_equal(np.asarray(buf.rewards), [5, 2, 3, 4])  # the ring itself
    got = buffers.online_transitions(buf)  # oldest first
    np.testing.assert_array_equal(got.rewards, [2, 3, 4, 5])
    np.testing.assert_array_equal(got.next_observations[:, 0], [2.5, 3.5, 4.5, 5.5])
    np.testing.assert_array_equal(got.terminals, [1, 0, 1, 0])
    for marker in range(6, 12):  # one row at a time, twice round the ring
        buf = add(buf, _rows([marker]))
    assert int(buf.size) == 4
    np.testing.assert_array_equal(buffers.online_transitions(buf).rewards, [8, 9, 10, 11])


def test_adding_more_rows_than_capacity_at_once_is_refused():
    buf = _member(buffers.init_buffer(1, 2, 2, 1), 0)
    with pytest.raises(ConfigError, match="capacity"):
        buffers.add(buf, _rows([1, 2, 3]))


def test_members_are_independent():
    pop = buffers.init_buffer(3, 5, 2, 1)
    rows = [_rows([10 * m + 1, 10 * m + 2]) for m in range(3)]
    stacked = tuple(np.stack(f) for f in zip(*rows))
    pop = jax.jit(jax.vmap(buffers.add))(pop, stacked)
    for m in range(3):
        np.testing.assert_array_equal(buffers.online_transitions(pop, m).rewards, [10 * m + 1, 10 * m + 2])
    # Grow member 1 alone: the others keep their size and contents.
    pop = _set_member(pop, 1, buffers.add(_member(pop, 1), _rows([13, 14, 15, 16])))
    np.testing.assert_array_equal(np.asarray(pop.size), [2, 5, 2])
    np.testing.assert_array_equal(buffers.online_transitions(pop, 1).rewards, [12, 13, 14, 15, 16])
    np.testing.assert_array_equal(buffers.online_transitions(pop, 0).rewards, [1, 2])
    np.testing.assert_array_equal(buffers.online_transitions(pop, 2).rewards, [21, 22])


def test_sampling_is_uniform_over_the_union_and_rows_stay_whole():
    offline = _offline([1, 2, 3])
    buf = buffers.add(_member(buffers.init_buffer(1, 4, 2, 1), 0), _rows([10, 11]))  # rows 2, 3 unused (zeros)
    batch = jax.jit(buffers.sample, static_argnums=3)(offline, buf, jax.random.PRNGKey(0), 50_000)
    r = np.asarray(batch.rewards)
    values, counts = np.unique(r, return_counts=True)
    np.testing.assert_array_equal(values, [1, 2, 3, 10, 11])  # never an unused slot, never outside the union
    np.testing.assert_allclose(counts / r.size, 0.2, atol=0.01)  # 5σ ≈ 0.009
    # every field of a sampled row comes from the same row
    np.testing.assert_array_equal(np.asarray(batch.observations[:, 1]), r)
    np.testing.assert_array_equal(np.asarray(batch.actions[:, 0]), r)
    np.testing.assert_array_equal(np.asarray(batch.next_observations[:, 0]), r + 0.5)
    np.testing.assert_array_equal(np.asarray(batch.terminals), (r % 2 == 0).astype(np.float32))


def test_sampling_from_a_member_never_returns_another_members_rows():
    offline = _offline([1, 2])
    pop = buffers.init_buffer(2, 8, 2, 1)
    pop = _set_member(pop, 1, buffers.add(_member(pop, 1), _rows([20, 21, 22, 23, 24, 25])))
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    batches = jax.vmap(buffers.sample, in_axes=(None, 0, 0, None))(offline, pop, keys, 4000)
    r0, r1 = np.asarray(batches.rewards[0]), np.asarray(batches.rewards[1])
    assert set(np.unique(r0)) == {1.0, 2.0}  # member 0 has no online rows yet: offline only
    assert set(np.unique(r1)) == {1.0, 2.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0}
    assert abs(np.mean(r1 < 10) - 2 / 8) < 0.03  # the offline share is N / (N + size)


def test_empty_online_part_samples_like_the_offline_engine():
    offline = _offline([1, 2, 3, 4])
    buf = _member(buffers.init_buffer(1, 3, 2, 1), 0)
    key = jax.random.PRNGKey(3)
    ours = buffers.sample(offline, buf, key, 64)
    theirs = engine.sample_batch(offline, key, 64)
    for name in buffers.ROW_FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(ours, name)), np.asarray(getattr(theirs, name)))


def test_buffer_is_a_serialisable_pytree():
    from flax import serialization

    pop = jax.vmap(buffers.add)(buffers.init_buffer(2, 3, 2, 1),
                                tuple(np.stack([f, f + 1]) for f in _rows([5, 6])))
    back = serialization.from_bytes(buffers.init_buffer(2, 3, 2, 1), serialization.to_bytes(pop))
    for a, b in zip(pop, back):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert jnp.asarray(back.size).dtype == jnp.int32
