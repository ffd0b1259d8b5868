"""Members of a population over every local device: the member axis sharded, the dataset replicated.

Members never talk to each other (each has its own parameters, optimiser moments, key and hyperparameters), so the
population splits over devices with no communication at all: :func:`shard_chunk` wraps the engine's per-device
chunk program in ``shard_map`` over a one-axis mesh ``("members",)``. Each device runs today's program on its slice
of members (the unbatched path when the slice has one member) against its own replica of the dataset.

**Rule when the member count does not divide the device count.** The population is split over ``d`` devices, the
largest ``d ≤ len(jax.local_devices())`` that divides the member count ``M`` (e.g. M = 6 on 4 devices uses 3; a
prime M larger than the device count uses 1). No padding: padded members would cost a device's full time and
change nothing. With ``d = 1`` (one device, one member, or no divisor) the engine keeps its unsharded path exactly.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.experimental.shard_map import shard_map
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "members"

_replica: list = []  # (data, its replica, mesh): the last dataset replicated, so a run copies it once


def shard_count(num_members: int, num_devices: int | None = None) -> int:
    """Devices to split ``num_members`` over: the largest divisor of it that is ≤ the local device count."""
    devices = len(jax.local_devices()) if num_devices is None else num_devices
    return next(d for d in range(min(devices, num_members), 0, -1) if num_members % d == 0)


def device_mesh(num_devices: int) -> Mesh:
    """The one-axis ``("members",)`` mesh over the first ``num_devices`` local devices."""
    return Mesh(np.asarray(jax.local_devices()[:num_devices]), (AXIS,))


def shard_chunk(per_device, mesh: Mesh):
    """``per_device(states, data) -> (states, metrics)`` over all members: states and metrics split on their
    leading (member) axis, data replicated. Not jitted; the engine jits and donates."""
    spec = PartitionSpec(AXIS)
    # check_rep off: the program has scans and conds whose replication shard_map cannot infer; nothing here is
    # meant to be replicated on the way out anyway (every output has the member axis).
    return shard_map(per_device, mesh=mesh, in_specs=(spec, PartitionSpec()), out_specs=spec, check_rep=False)


def place(states, data, mesh: Mesh):
    """Put ``states`` split over ``mesh`` and ``data`` replicated on it (no copy when already so placed).

    The replica of the last dataset is kept, so calling this every chunk copies a run's dataset once.
    """
    states = jax.device_put(states, NamedSharding(mesh, PartitionSpec(AXIS)))
    if _replica and _replica[0][0] is data and _replica[0][2] == mesh:
        return states, _replica[0][1]
    replica = jax.device_put(data, NamedSharding(mesh, PartitionSpec()))
    _replica[:] = [(data, replica, mesh)]
    return states, replica
