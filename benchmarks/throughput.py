"""Update throughput of the fused engine against the matrix-product ceiling of one IQL update.

Prints, in one run on this machine: updates/s for one seed at chunk sizes 1, 100 and 1000; total and per-seed
updates/s for 4 and 8 vmapped seeds; and the time of exactly the matrix products one update performs (forward and
backward of every MLP at the paper's sizes), i.e. the ceiling, with the ratio.

    python benchmarks/throughput.py [--obs-dim 17] [--act-dim 6] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from iql_jax import AgentConfig, device_data, init_population, train_chunk
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


def matmul_ceiling(shapes, seeds=1, steps=1000):
    """Seconds per update spent in exactly these matrix products, ``seeds`` times over (scanned, like the engine).

    Plain 2-D products: XLA's CPU backend runs batched products far slower than the same products one by one, so
    this is the best case the engine could reach.
    """
    key = jax.random.PRNGKey(0)
    shapes = list(shapes) * seeds
    lhs = [jax.random.normal(key, (m, k)) for m, k, _ in shapes]
    rhs = [jax.random.normal(key, (k, n)) * 0.01 for _, k, n in shapes]

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

    run(lhs, rhs).block_until_ready()
    t = time.perf_counter()
    run(lhs, rhs).block_until_ready()
    return (time.perf_counter() - t) / steps


def updates_per_second(seeds, chunk, total, data, config, repeats):
    states, _ = init_population(config, list(range(seeds)), data.observations.shape[1], data.actions.shape[1],
                                decay_steps=10**6)
    states, _ = train_chunk(states, data, chunk)  # compile
    jax.block_until_ready(states)
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(max(1, total // chunk)):
            states, metrics = train_chunk(states, data, chunk)
        jax.block_until_ready(metrics)
        best = max(best, max(1, total // chunk) * chunk / (time.perf_counter() - t))
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--obs-dim", type=int, default=17)
    p.add_argument("--act-dim", type=int, default=6)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    config = AgentConfig()
    data = device_data(synthetic(100_000, args.obs_dim, args.act_dim))
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), obs {args.obs_dim}, act {args.act_dim},"
          f" hidden {config.hidden_dims}, batch {config.batch_size}")
    shapes = update_matmul_shapes(args.obs_dim, args.act_dim, config.hidden_dims, config.batch_size)
    flops = sum(2 * m * k * n for m, k, n in shapes)
    ceiling = 1.0 / matmul_ceiling(shapes)
    print(f"matmul ceiling, 1 seed: {len(shapes)} products, {flops / 1e6:.1f} MFLOP/update -> {ceiling:,.0f} updates/s"
          f" ({flops * ceiling / 1e9:.1f} GFLOP/s)")
    single = {}
    for chunk, total in ((1, 300), (100, 2000), (1000, 3000)):
        single[chunk] = updates_per_second(1, chunk, total, data, config, args.repeats)
        print(f"1 seed, chunk {chunk:>4}: {single[chunk]:8,.0f} updates/s  ({single[chunk] / ceiling:.0%} of ceiling)")
    for seeds in (4, 8):
        total = updates_per_second(seeds, 1000, 1000, data, config, max(1, args.repeats - 1))
        ceil_s = 1.0 / matmul_ceiling(shapes, seeds=seeds, steps=200)
        print(f"{seeds} seeds vmapped, chunk 1000: {total * seeds:8,.0f} updates/s in total, {total:,.0f} per seed;"
              f" cost per update {single[1000] / total:.2f}x one seed (target <= {seeds}x);"
              f" {total / ceil_s:.0%} of the {seeds}-seed matmul ceiling")
    print(f"1M updates, 1 seed at chunk 1000: {1e6 / single[1000] / 60:.1f} min")


if __name__ == "__main__":
    main()
