"""Each op-count cut of issue 26, measured alone against the engine, in one process: ops per update and updates/s.

Every variant is one member's chunk program at the paper's sizes (256×256, batch 256, hopper-shaped data). The
variants are timed in alternating rounds (so a change of machine load hits all alike) and each rate is the median
over rounds; the header prints the load average. Ops per update come from the compiled HLO
(``benchmarks/hlo_counts.py``) and do not depend on the load.

    python benchmarks/op_cuts.py [--rounds 5] [--window 2000] [--chunk 1000]

Variants (the engine's own program is the reference; the others are built here so that cuts not kept need no
switch in the package):

- ``per-step draws``: the engine before issue 26, every ``jax.random`` call inside the scan;
- ``engine``: today's :func:`iql_jax.engine.train_chunk` program;
- ``+ flat Adam``: Adam over one flat buffer per network (``optax.flatten``);
- ``+ metrics in the carry``: metrics summed in the scan carry instead of stacked and reduced after it;
- ``+ scan unroll 2``: two updates per iteration of the scan's loop (``lax.scan(unroll=2)``);
- ``+ unrolled threefry``: jax's unrolled threefry lowering (its default off the CPU) instead of the rolled loop it
  uses on the CPU. Registered process-wide through a private jax module, so it is compiled last.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import optax
from flax.training.train_state import TrainState

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hlo_counts import ops_per_update  # noqa: E402
from throughput import synthetic  # noqa: E402

from iql_jax import AgentConfig, agent, engine  # noqa: E402
from iql_jax.engine import device_data  # noqa: E402


def per_step_chunk(state, data, num_updates):
    """The chunk as it was before issue 26: split, randint and gather inside every step."""
    def body(s, i):
        return engine.train_step(s, data, grad_norms=i == num_updates - 1)

    state, metrics = jax.lax.scan(body, state, jnp.arange(num_updates))
    return state, engine.chunk_metrics(engine.accumulate(engine.metric_totals(metrics), metrics), num_updates)


def carry_metrics_chunk(state, data, num_updates):
    """The engine's chunk with the metrics folded into the scan carry, one update at a time."""
    key, indices, update_keys = engine.predrawn(state, data, num_updates)
    names = jax.eval_shape(lambda s: agent.update(s, engine.gather(data, indices[0]), update_keys[0])[1], state)

    def body(carry, xs):
        s, totals = carry
        i, idx, k_update = xs
        s, metrics = agent.update(s, engine.gather(data, idx), k_update, grad_norms=i == num_updates - 1)
        return (s, engine.accumulate(totals, {k: v[None] for k, v in metrics.items()})), None

    (state, totals), _ = jax.lax.scan(body, (state, engine.metric_totals(names)),
                                      (jnp.arange(num_updates), indices, update_keys))
    return state.replace(key=key), engine.chunk_metrics(totals, num_updates)


def unrolled_scan_chunk(state, data, num_updates, unroll=2):
    """The engine's chunk with two updates per loop iteration (``lax.scan(unroll=2)``): half the loop overhead."""
    key, indices, update_keys = engine.predrawn(state, data, num_updates)

    def body(s, xs):
        i, idx, k_update = xs
        return agent.update(s, engine.gather(data, idx), k_update, grad_norms=i == num_updates - 1)

    state, metrics = jax.lax.scan(body, state, (jnp.arange(num_updates), indices, update_keys), unroll=unroll)
    return state.replace(key=key), engine.chunk_metrics(engine.accumulate(engine.metric_totals(metrics), metrics),
                                                        num_updates)


def flat_adam_state(config, obs_dim, act_dim):
    """One learner whose Adam runs over one flat buffer per network (the parameters keep their tree)."""
    original = agent._train_state
    agent._train_state = lambda module, params: TrainState.create(
        apply_fn=module.apply, params=params, tx=optax.flatten(optax.scale_by_adam()))
    try:
        return agent.init(config, jax.random.PRNGKey(0), obs_dim, act_dim, decay_steps=10**6)
    finally:
        agent._train_state = original


def use_unrolled_threefry() -> None:
    """Lower threefry on the CPU as jax does on other platforms (unrolled rounds): same bits, fewer ops."""
    from jax._src import prng
    from jax.interpreters import mlir

    mlir.register_lowering(prng.threefry2x32_p, prng._threefry2x32_lowering_rule, platform="cpu")


class Variant:
    def __init__(self, name, chunk_fn, state, data, chunk):
        self.name, self.data, self.chunk = name, data, chunk
        self.program = jax.jit(lambda s, d: chunk_fn(s, d, chunk), donate_argnums=0)
        compiled = self.program.lower(state, data).compile()
        self.ops = ops_per_update(compiled.as_text(), chunk)
        self.state = state
        self.run(chunk)  # compile and warm up

    def run(self, updates):
        for _ in range(max(1, updates // self.chunk)):
            self.state, metrics = self.program(self.state, self.data)
        jax.block_until_ready(metrics)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--window", type=int, default=2000, help="updates in one timed window (a multiple of --chunk)")
    p.add_argument("--chunk", type=int, default=1000)
    p.add_argument("--obs-dim", type=int, default=11)
    p.add_argument("--act-dim", type=int, default=3)
    args = p.parse_args()
    config = AgentConfig().complete()
    data = device_data(synthetic(100_000, args.obs_dim, args.act_dim))
    fresh = lambda: agent.init(config, jax.random.PRNGKey(0), args.obs_dim, args.act_dim, decay_steps=10**6)
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}  "
          f"[figures under load are relative only]")
    print(f"jax {jax.__version__}, {jax.default_backend()}, {os.cpu_count()} CPUs; one member, 256x256, batch 256; "
          f"{args.rounds} alternating rounds of {args.window} updates, chunk {args.chunk}")
    variants = [
        Variant("per-step draws (before)", per_step_chunk, fresh(), data, args.chunk),
        Variant("engine", engine._chunk, fresh(), data, args.chunk),
        Variant("engine + flat Adam", engine._chunk, flat_adam_state(config, args.obs_dim, args.act_dim), data,
                args.chunk),
        Variant("engine + metrics in the carry", carry_metrics_chunk, fresh(), data, args.chunk),
        Variant("engine + scan unroll 2", unrolled_scan_chunk, fresh(), data, args.chunk),
    ]
    use_unrolled_threefry()  # process-wide from here on: every program above is already compiled
    variants.append(Variant("engine + unrolled threefry", engine._chunk, fresh(), data, args.chunk))
    for v in variants:
        kinds = ", ".join(f"{k} {n:.1f}" for k, n in sorted(v.ops.items(), key=lambda kv: -kv[1]))
        print(f"  {v.name:32s} {sum(v.ops.values()):6.1f} ops/update ({kinds})")
    seconds = {v.name: [] for v in variants}
    for _ in range(args.rounds):
        for v in variants:
            t = time.perf_counter()
            v.run(args.window)
            seconds[v.name].append(time.perf_counter() - t)
        print("  round:", ", ".join(f"{k} {args.window / s[-1]:,.0f}/s" for k, s in seconds.items()), flush=True)
    rate = {name: args.window / statistics.median(s) for name, s in seconds.items()}
    base = rate["engine"]
    for name, r in rate.items():
        print(f"{name:34s} {r:7,.0f} updates/s  {r / base:5.2f}x the engine")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
