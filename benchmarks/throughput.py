"""Update throughput of the fused engine, in one run: against the matrix-product ceiling of one IQL update, against
the official code's ``Learner.update`` (optional peer), and 8 vmapped seeds against one.

The three acceptance figures of issue 11 are printed as ``ACCEPT`` lines. Rates are measured in alternating rounds
(ceiling, ours, official, ours × 8 seeds, then again), so a change of machine load hits all of them alike; each
figure is the median over rounds. The header prints the load average: figures taken under load are relative only.

    python benchmarks/throughput.py [--peer-official DIR [--peer-site DIR]] [--rounds 3] [--window 2000]
                                    [--host-devices 2]

``--host-devices N`` splits the CPU into N XLA host devices (``--xla_force_host_platform_device_count``, set before
jax starts), so the population also runs sharded over them (``iql_jax.sharding``) beside the unsharded one; the
8-seed figure is then the faster of the two, and both are printed.

``DIR`` is a checkout of ``ikostrikov/implicit_q_learning`` (also read from ``$IQL_OFFICIAL_DIR``); it needs
``tensorflow_probability`` importable, from the environment or from ``--peer-site`` / ``$IQL_PEER_SITE`` (see
``benchmarks/official_peer.py`` and ``docs/performance.md``). Default settings (3 rounds of 2,000 updates per
member) should take about 4 minutes on an idle 2-core CPU (estimated from issue 11's rates, not measured idle).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _host_devices_from_argv() -> None:
    """``--host-devices N`` must reach XLA before jax is imported: it is read here, ahead of argparse."""
    if "--host-devices" in sys.argv:
        n = sys.argv[sys.argv.index("--host-devices") + 1]
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()


if __name__ == "__main__":
    _host_devices_from_argv()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from iql_jax import AgentConfig, engine, init_population, sharding  # noqa: E402
from iql_jax.engine import device_data  # noqa: E402
from iql_jax.data.transitions import Transitions


def synthetic(n: int, obs_dim: int, act_dim: int) -> Transitions:
    rng = np.random.default_rng(0)
    f = lambda *s: rng.normal(size=s).astype(np.float32)
    return Transitions(f(n, obs_dim), np.tanh(f(n, act_dim)), f(n), f(n, obs_dim),
                       (rng.random(n) < 0.01).astype(np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32))


def update_matmul_shapes(obs_dim, act_dim, hidden=(256, 256), batch=256, num_critics=2):
    """(m, k, n) of every matrix product in one update: forwards, weight and input gradients."""

    def fwd(d, out):
        dims = [d, *hidden, out]
        return [(batch, dims[i], dims[i + 1]) for i in range(len(dims) - 1)]

    def bwd(d, out):
        dims = [d, *hidden, out]
        shapes = []
        for i in range(len(dims) - 1):
            shapes.append((dims[i], batch, dims[i + 1]))  # dW = xᵀ·g
            if i > 0:
                shapes.append((batch, dims[i + 1], dims[i]))  # dx = g·Wᵀ
        return shapes

    q_in = obs_dim + act_dim
    shapes = []
    shapes += num_critics * fwd(q_in, 1)  # target critic
    shapes += 3 * fwd(obs_dim, 1) + bwd(obs_dim, 1)  # V loss, V_new(s), V_new(s')
    shapes += fwd(obs_dim, act_dim) + bwd(obs_dim, act_dim)  # actor
    shapes += num_critics * (fwd(q_in, 1) + bwd(q_in, 1))  # critic
    return shapes


class MatmulCeiling:
    """Exactly the matrix products of one update, ``seeds`` times over, scanned like the engine (compiled once).

    Plain 2-D products and nothing else: the best case the engine could reach. ``run(steps)`` does ``steps``
    iterations, i.e. the products of ``steps`` updates.
    """

    def __init__(self, shapes, seeds=1):
        key = jax.random.PRNGKey(0)
        shapes = list(shapes) * seeds
        self.lhs = [jax.random.normal(key, (m, k)) for m, k, _ in shapes]
        self.rhs = [jax.random.normal(key, (k, n)) * 0.01 for _, k, n in shapes]
        self._compiled = {}

    def _program(self, steps):
        @jax.jit
        def run(lhs, rhs):
            def body(carry, _):
                lhs, _ = carry
                # The barrier makes the left operands opaque each iteration (no hoisting out of the loop) and the
                # products are carried to the end (none can be dropped); nothing else is computed.
                lhs = jax.lax.optimization_barrier(lhs)
                return (lhs, [a @ b for a, b in zip(lhs, rhs)]), None

            outs = [jnp.zeros((a.shape[0], b.shape[1])) for a, b in zip(lhs, rhs)]
            _, outs = jax.lax.scan(body, (list(lhs), outs), None, length=steps)[0]
            return sum(o.sum() for o in outs)

        return run

    def run(self, steps):
        if steps not in self._compiled:
            self._compiled[steps] = self._program(steps)
            self._compiled[steps](self.lhs, self.rhs).block_until_ready()  # compile
        self._compiled[steps](self.lhs, self.rhs).block_until_ready()


class Ours:
    """A population of ``seeds`` members and a timed window of ``chunk``-sized calls of the engine's chunk program,
    split over ``shards`` devices (1: the unsharded single-device program, whatever the device count)."""

    def __init__(self, seeds, chunk, data, config, shards=1):
        self.chunk, self.data = chunk, data
        self.states, _ = init_population(config, list(range(seeds)), data.observations.shape[1],
                                         data.actions.shape[1], decay_steps=10**6)
        self.program = engine._compiled_chunk(chunk, seeds // shards == 1, shards)
        if shards > 1:
            self.states, self.data = sharding.place(self.states, data, sharding.device_mesh(shards))
        self.run(chunk)  # compile

    def run(self, updates):
        for _ in range(max(1, updates // self.chunk)):
            self.states, metrics = self.program(self.states, self.data)
        jax.block_until_ready(metrics)


def timed(fn, updates):
    t = time.perf_counter()
    fn(updates)
    return time.perf_counter() - t


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--obs-dim", type=int, default=11, help="hopper-shaped by default, as in issue 11")
    p.add_argument("--act-dim", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--window", type=int, default=2000, help="updates per member in one timed window")
    p.add_argument("--seeds", type=int, default=8, help="members of the vmapped population compared to one seed")
    p.add_argument("--peer-official", default=os.environ.get("IQL_OFFICIAL_DIR"),
                   help="checkout of ikostrikov/implicit_q_learning to time beside ours")
    p.add_argument("--peer-site", default=os.environ.get("IQL_PEER_SITE"),
                   help="extra site folder holding tensorflow_probability (also $IQL_PEER_SITE)")
    p.add_argument("--small-chunks", action="store_true", help="also time one seed at chunk sizes 1 and 100")
    p.add_argument("--host-devices", type=int, default=None,
                   help="split the CPU into N XLA host devices and also time the population sharded over them")
    args = p.parse_args()
    config = AgentConfig().complete()
    host = synthetic(100_000, args.obs_dim, args.act_dim)
    data = device_data(host)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    devices = jax.local_devices()
    print(f"load average (1, 5, 15 min): {load}  [figures under load are relative only]")
    print(f"jax {jax.__version__}, {len(devices)} x {devices[0].device_kind} ({jax.default_backend()}), "
          f"{os.cpu_count()} CPUs; obs {args.obs_dim}, act {args.act_dim}, hidden {config.hidden_dims}, "
          f"batch {config.batch_size}; {args.rounds} alternating rounds of {args.window} updates per member")
    shards = sharding.shard_count(args.seeds)
    print(f"members over devices: {args.seeds} members -> {shards} device(s) (iql_jax.sharding)"
          + ("; the unsharded population is timed too" if shards > 1 else ""))
    shapes = update_matmul_shapes(args.obs_dim, args.act_dim, config.hidden_dims, config.batch_size)
    flops = sum(2 * m * k * n for m, k, n in shapes)
    window = args.window
    chunk = min(1000, window)
    if window % chunk:
        raise SystemExit(f"--window {window}: expected a multiple of 1000 (or less than 1000)")
    ceiling = MatmulCeiling(shapes)
    ceiling.run(window)  # compile
    contenders = {
        "ceiling": ceiling.run,
        "ours": Ours(1, chunk, data, config).run,
        f"ours x{args.seeds}": Ours(args.seeds, chunk, data, config).run,
    }
    if shards > 1:
        contenders[f"ours x{args.seeds} over {shards}"] = Ours(args.seeds, chunk, data, config, shards).run
    peer = None
    if args.peer_official:
        from official_peer import OfficialPeer, commit_of

        peer = OfficialPeer(args.peer_official, args.obs_dim, args.act_dim, host, site=args.peer_site)
        contenders["official"] = peer.run
        print(f"official peer: {args.peer_official} at commit {commit_of(args.peer_official)}")
    seconds = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, fn in contenders.items():
            seconds[name].append(timed(fn, window))
        print("  round:", ", ".join(f"{k} {window / v[-1]:,.0f}/s" for k, v in seconds.items()), flush=True)
    rate = {name: window / statistics.median(v) for name, v in seconds.items()}  # updates/s per member
    print(f"matmul ceiling, 1 seed: {len(shapes)} products, {flops / 1e6:.1f} MFLOP/update -> "
          f"{rate['ceiling']:,.0f} updates/s ({flops * rate['ceiling'] / 1e9:.1f} GFLOP/s)")
    print(f"ours, 1 seed, chunk {chunk}: {rate['ours']:,.0f} updates/s")
    populations = [name for name in rate if name.startswith(f"ours x{args.seeds}")]
    for name in populations:
        where = name.partition(" over ")[2]
        print(f"ours, {args.seeds} seeds vmapped{f' over {where} devices' if where else ''}, chunk {chunk}: "
              f"{rate[name] * args.seeds:,.0f} member-updates/s in total, {rate[name]:,.0f} per seed")
    many = max(rate[name] for name in populations)
    if peer:
        print(f"official Learner.update (batches on device): {rate['official']:,.0f} updates/s")
    if args.small_chunks:
        for chunk, total in ((1, 300), (100, 2000)):
            ours = Ours(1, chunk, data, config)
            print(f"ours, 1 seed, chunk {chunk:>4}: {total / timed(ours.run, total):,.0f} updates/s (one window)")
    print(f"1M updates, 1 seed at chunk {chunk}: {1e6 / rate['ours'] / 60:.1f} min")
    print(f"ACCEPT ours / matmul ceiling: {rate['ours'] / rate['ceiling']:.2f} (goal >= 0.85, issue 26)")
    if peer:
        print(f"ACCEPT ours / official update: {rate['ours'] / rate['official']:.2f}x (goal >= 1.4x, issue 26)")
    else:
        print("ACCEPT ours / official update: not measured (pass --peer-official DIR or set IQL_OFFICIAL_DIR)")
    print(f"ACCEPT {args.seeds} seeds / 1 seed, wall time of the same updates per seed: {rate['ours'] / many:.2f}x "
          f"(goal <= 6x)")


if __name__ == "__main__":
    main()
