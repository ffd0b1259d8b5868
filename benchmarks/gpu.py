"""The fused engine on an accelerator: 1M updates for one seed, 8 and 64 members, the sharded path, device memory.

Run through ``benchmarks/gpu.sh`` (which bounds the whole run to 8 minutes). Every phase runs whole chunks until
its target or its time budget is reached, whichever comes first; a phase that stopped on its budget reports the
measured rate and an **extrapolated** wall time, labelled as such. ``--quick`` uses tiny networks and a few
thousand updates so the script itself can be tested on a CPU.

    python benchmarks/gpu.py [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import jax

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import synthetic  # noqa: E402

from iql_jax import AgentConfig, engine, init_population, sharding  # noqa: E402
from iql_jax.engine import device_data  # noqa: E402


def run_phase(members, data, config, chunk, target, budget_s, *, shards=None):
    """Train ``members`` members in chunks of ``chunk`` up to ``target`` updates each or ``budget_s`` seconds.

    ``shards=1`` forces the unsharded single-device program (to compare with the sharded one).
    Returns (updates done per member, seconds, compile seconds).
    """
    states, _ = init_population(config, list(range(members)), data.observations.shape[1], data.actions.shape[1],
                                decay_steps=target)
    if shards == 1:
        program = engine._compiled_chunk(chunk, members == 1, 1)
        step = lambda s: program(s, data)
    else:
        step = lambda s: engine.train_chunk(s, data, chunk)
    t = time.perf_counter()
    states, metrics = step(states)
    jax.block_until_ready(metrics)
    compile_s = time.perf_counter() - t
    done, t = 0, time.perf_counter()
    while done < target and (time.perf_counter() - t) < budget_s:
        states, metrics = step(states)
        jax.block_until_ready(metrics)
        done += chunk
    return done, time.perf_counter() - t, compile_s


def memory() -> str:
    stats = jax.local_devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" not in stats:
        return "device memory: not reported by this backend"
    gib = 2.0**30
    return (f"device memory (device 0): peak {stats['peak_bytes_in_use'] / gib:.2f} GiB, in use "
            f"{stats.get('bytes_in_use', 0) / gib:.2f} GiB, limit {stats.get('bytes_limit', 0) / gib:.1f} GiB")


def report(label, members, done, seconds, compile_s, target):
    rate = done / seconds
    line = (f"{label}: {members} member(s), {done:,} updates each in {seconds:.1f} s -> {rate:,.0f} updates/s per "
            f"member, {rate * members:,.0f} member-updates/s (compile {compile_s:.1f} s)")
    if done >= target:
        line += f"; {target:,} updates measured: {seconds / 60:.2f} min"
    else:
        line += f"; {target:,} updates EXTRAPOLATED from {done:,}: {target / rate / 60:.2f} min"
    print(line, flush=True)
    return rate


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes, seconds on a CPU (tests the script)")
    args = p.parse_args()
    if args.quick:
        config = dataclasses.replace(AgentConfig(), hidden_dims=(32, 32), batch_size=64)
        n, chunk, target, budgets, big = 5_000, 200, 2_000, (20, 10, 10, 10), 4
    else:
        config = AgentConfig()
        # Budgets (s) of the phases: 1 seed, 8 members, 64 members, sharded and unsharded each. With compiles
        # (tens of seconds each on a GPU) this stays inside gpu.sh's 470 s bound.
        n, chunk, target, budgets, big = 1_000_000, 10_000, 1_000_000, (100, 40, 60, 40), 64
    devices = jax.local_devices()
    print(f"jax {jax.__version__}; {len(devices)} x {devices[0].device_kind} ({jax.default_backend()}); hidden "
          f"{config.hidden_dims}, batch {config.batch_size}, {n:,} synthetic hopper-shaped transitions, chunk {chunk}",
          flush=True)
    data = device_data(synthetic(n, 11, 3))
    one = report("1 seed", 1, *run_phase(1, data, config, chunk, target, budgets[0]), target)
    print(memory(), flush=True)
    per_member = {}
    for members, budget in ((8, budgets[1]), (big, budgets[2])):
        sub_target = max(chunk, target // 10)  # a tenth of a run per member is enough for a rate
        rate = report(f"{members} members ({sharding.shard_count(members)} device(s))", members,
                      *run_phase(members, data, config, chunk, sub_target, budget), sub_target)
        per_member[members] = rate
        print(f"  {members} members: wall time of the same updates = {one / rate:.2f}x one seed's "
              f"(goal on H100/H200 for 64: <= 10x)", flush=True)
    if len(devices) > 1:
        members = len(devices) * 8
        sub_target = max(chunk, target // 10)
        sharded = report(f"sharded, {members} members over {sharding.shard_count(members)} devices", members,
                         *run_phase(members, data, config, chunk, sub_target, budgets[3]), sub_target)
        alone = report(f"unsharded, {members} members on one device", members,
                       *run_phase(members, data, config, chunk, sub_target, budgets[3], shards=1), sub_target)
        print(f"  sharded / unsharded throughput: {sharded / alone:.2f}x", flush=True)
    else:
        print("sharded path: one device only, nothing to shard (the engine runs its single-device program)")
    print(memory())
    print(f"XLA_PYTHON_CLIENT_PREALLOCATE={os.environ.get('XLA_PYTHON_CLIENT_PREALLOCATE', '(unset)')}")


if __name__ == "__main__":
    main()
