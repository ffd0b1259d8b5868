"""Online fine-tuning throughput: iterations per second (one env step + one update per member) on real simulators.

For each environment and member count, ``finetune_iter`` runs the official loop (one env step, then one
``agent.update`` on a batch from offline ∪ online) with the paper's networks (256, 256) and batch 256, on a
synthetic offline dataset of the environment's dimensions (its content does not change the cost). The first chunk
(compilation, first touches) is not timed; the figures are the remaining ``--iterations``.

Columns: ``it/s`` online iterations per second (every member takes one env step and one update per iteration);
``member-it/s`` = it/s × members; ``env ms`` and ``dev ms``: wall time per iteration spent stepping the
environments on the host and in the compiled update + action call (including the host↔device round trip);
``fused upd/s``: the offline engine's ``train_chunk`` (300-update ``lax.scan``, no environment, best of 2) for the same
population, the update-only ceiling that the per-step loop is measured against. With ``--updates-per-collect K``
(> 1) the loop collects K steps and then runs K updates in one call (a trade-off: fewer round trips, a policy up to
K − 1 steps stale).

Each (environment, member count) runs in a fresh process, retried when it stalls (see ``stall_watchdog``).

Run: ``python benchmarks/finetune.py [--iterations 300] [--members 1 4] [--updates-per-collect 1 10]``. Prints
figures only. On a shared CPU, expect ±10-20% between runs.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import resource
import subprocess
import sys
import threading
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import jax
import numpy as np

from iql_jax import AgentConfig, init_population, train_chunk
from iql_jax.engine import device_data
from iql_jax.data import RewardTransform
from iql_jax.data.transitions import Transitions
from iql_jax.evaluation import resolve_eval_env
from iql_jax.finetune import constant_actor_lr, finetune_iter, init_finetune


def synthetic(n: int, obs_dim: int, act_dim: int) -> Transitions:
    rng = np.random.default_rng(0)
    f = lambda *s: rng.normal(size=s).astype(np.float32)
    z = np.zeros(n, np.float32)
    return Transitions(f(n, obs_dim), np.tanh(f(n, act_dim)), f(n), f(n, obs_dim), z, z, z)


def population(config, members, obs_dim, act_dim):
    """``members`` seeds, initialised one at a time and stacked (see ``stall_watchdog`` for why not vmapped)."""
    singles = [init_population(config, [seed], obs_dim, act_dim, decay_steps=10**6)[0] for seed in range(members)]
    states = jax.tree_util.tree_map(lambda *xs: jax.numpy.concatenate(xs), *singles)
    return constant_actor_lr(states)


def online_rate(spec, data, config, members, k, warmup, iterations):
    """(iterations/s, env ms/iteration, device ms/iteration) after a ``warmup``-step first chunk."""
    obs_dim, act_dim = data.observations.shape[1], data.actions.shape[1]
    total = warmup + iterations
    fstate = init_finetune(population(config, members, obs_dim, act_dim), capacity=total)
    steps = wall = env = dev = 0.0
    chunks = finetune_iter(fstate, data, spec, total, reward_transform=RewardTransform(), segment_steps=total,
                           updates_per_collect=k, chunk_steps=warmup)
    for i, chunk in enumerate(chunks):
        if i == 0:
            continue  # compilation and first touches
        m = chunk.timing
        n = chunk.step - warmup - steps
        steps += n
        wall += n / m["time/steps_per_s"]
        env += n / m["time/env_steps_per_s"]
        dev += n / m["time/updates_per_s"]
    return steps / wall, 1e3 * env / steps, 1e3 * dev / steps


def fused_rate(data, config, members, updates=300, repeats=2):
    """Updates per second (per member) of the offline engine's fused chunk; best of ``repeats``."""
    obs_dim, act_dim = data.observations.shape[1], data.actions.shape[1]
    states = population(config, members, obs_dim, act_dim)
    states, _ = train_chunk(states, data, updates)  # compile
    jax.block_until_ready(states)
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        states, _ = train_chunk(states, data, updates)
        jax.block_until_ready(states)
        best = max(best, updates / (time.perf_counter() - t))
    return best


def run_one(env_id: str, members: int, args) -> None:
    """Print the rows of one (environment, member count); runs in its own process (see ``main``)."""
    config = AgentConfig().complete()  # (256, 256) networks, batch 256, two critics
    spec = resolve_eval_env(env_id=env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probe = spec.make()
    obs_dim, act_dim = probe.observation_space.shape[0], probe.action_space.shape[0]
    probe.close()
    data = device_data(synthetic(args.offline_rows, obs_dim, act_dim))
    fused = fused_rate(data, config, members) if args.fused else float("nan")
    for k in args.updates_per_collect:
        warmup = max(args.warmup, k) // k * k
        iterations = max(args.iterations // k, 1) * k
        rate, env_ms, dev_ms = online_rate(spec, data, config, members, k, warmup, iterations)
        print(f"{env_id:<20} {members:>2} {k:>3} {rate:>8.1f} {rate * members:>12.1f} {env_ms:>7.2f} "
              f"{dev_ms:>7.2f} {fused:>12.1f}", flush=True)


def stall_watchdog(seconds: float = 60.0) -> None:
    """Exit with status 3 when the process has used no CPU for ``seconds``.

    On the 2-core CPU machines, jax 0.10.2 (the project now pins 0.4.38, where no hang was seen) often never
    finished a *vmapped* Flax orthogonal initialisation of several 256-wide kernels (``engine.init_population``
    with 2+ seeds): every XLA worker thread idles while the caller waits for the result. The same QR
    decompositions unbatched, or one batched QR alone, finish; ``--xla_cpu_multi_thread_eigen=false``,
    ``--xla_cpu_use_xnnpack=false``, ``OPENBLAS_NUM_THREADS=1``, no donation or synchronous dispatch did not help.
    ``population`` therefore initialises members one at a time; this watchdog and ``main``'s retry in a fresh
    process remain as a safety net.
    """

    def watch():
        last = None
        while True:
            time.sleep(seconds)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = usage.ru_utime + usage.ru_stime
            if last is not None and cpu - last < 0.5:
                print(f"stalled: no CPU used for {seconds:.0f} s; threads:", file=sys.stderr, flush=True)
                faulthandler.dump_traceback(sys.stderr, all_threads=True)
                os._exit(3)
            last = cpu

    threading.Thread(target=watch, daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=["PointMaze_UMaze-v3", "Hopper-v5"])
    parser.add_argument("--members", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--updates-per-collect", nargs="+", type=int, default=[1])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--offline-rows", type=int, default=100_000)
    parser.add_argument("--no-fused", dest="fused", action="store_false", help="skip the fused-update reference")
    parser.add_argument("--attempts", type=int, default=3, help="fresh processes per configuration on a stall")
    parser.add_argument("--only", help=argparse.SUPPRESS)  # "ENV:MEMBERS": run one configuration in this process
    args = parser.parse_args()
    if args.only:
        stall_watchdog()
        env_id, members = args.only.rsplit(":", 1)
        run_one(env_id, int(members), args)
        return
    config = AgentConfig().complete()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform} ({jax.devices()[0].device_kind}); "
          f"networks {config.hidden_dims}, batch {config.batch_size}, {args.iterations} timed iterations")
    print(f"{'environment':<20} {'M':>2} {'K':>3} {'it/s':>8} {'member-it/s':>12} {'env ms':>7} {'dev ms':>7} "
          f"{'fused upd/s':>12}")
    passed = [a for a in sys.argv[1:]]
    for env_id in args.envs:
        for members in args.members:
            for attempt in range(1, args.attempts + 1):
                child = subprocess.run([sys.executable, __file__, *passed, "--only", f"{env_id}:{members}"],
                                       stdout=subprocess.PIPE, text=True)
                print(child.stdout, end="", flush=True)
                if child.returncode == 0:
                    break
                print(f"# {env_id} M={members}: attempt {attempt} exited with {child.returncode}"
                      f"{' (stalled)' if child.returncode == 3 else ''}", flush=True)


if __name__ == "__main__":
    main()
