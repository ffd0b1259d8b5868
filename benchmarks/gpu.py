"""The fused engine on an accelerator, one prepared run of at most 10 minutes (issue 26).

Phases, in order, each bounded by its own time budget (a failing phase prints one line and the next one runs):

1. **XLA flags** that matter for small networks, each in a fresh process (flags are read when XLA starts): the
   defaults, command buffers (CUDA graphs) off, command buffers extended to the scan's ``while`` and the
   conditional, and the while-loop double-buffering unroll. One seed, the same short window each.
2. **1M updates for one seed**, measured, or extrapolated (and labelled so) when the budget ends first.
3. **Member scaling** at 1, 8, 64 and 256 members: updates/s per member, member-updates/s, and the wall time of the
   same updates as a multiple of one seed's; device memory.
4. The **sharded** path when the machine has several devices.
5. **AntMaze smoke test**: one paper-protocol population (the ``antmaze`` preset, 256×256, ``--data.goal
   relabel``, IQL τ 0.9 with one-step and BC in the same program, as ``experiments/antmaze_table.py`` runs it) on
   a small generated ``antmaze-umaze``, through the ``iql`` command, for a few thousand updates and a few episodes.

Every line it prints is ``label: figures``; ``docs/performance.md`` describes the output. ``--quick`` uses tiny
networks, budgets and populations so that the whole script can be tested on a CPU in a few minutes.

    bash benchmarks/gpu.sh [--quick]      # the bounded wrapper; or: python benchmarks/gpu.py [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
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


FLAG_SETTINGS = {
    "defaults": "",
    "command buffers off": "--xla_gpu_enable_command_buffer=",
    "command buffers + while/conditional": "--xla_gpu_enable_command_buffer=+WHILE,+CONDITIONAL",
    "while-loop double buffering": "--xla_gpu_enable_while_loop_unrolling=WHILE_LOOP_UNROLLING_DOUBLE_BUFFER",
}


@dataclasses.dataclass(frozen=True)
class Sizes:
    """What each phase runs: ``full`` on the accelerator, ``quick`` to test the script on a CPU."""

    config: AgentConfig
    transitions: int
    chunk: int
    target: int  # updates of the one-seed phase (the paper's 1M)
    one_seed_s: float
    flag_window_s: float
    members: tuple[int, ...]
    member_s: float
    antmaze: tuple[str, ...]  # the `iql train` options of the smoke test
    antmaze_s: float


# Budgets (s) for a run inside gpu.sh's 590 s bound, with compiles of tens of seconds each on a GPU: flags 4 x
# (10 s + compile), one seed 100 s, members 4 x 20 s (+ compiles), AntMaze 120 s.
FULL = Sizes(AgentConfig().complete(), 1_000_000, 10_000, 1_000_000, 100, 10, (1, 8, 64, 256), 20,
             ("--dataset", "antmaze-umaze:30k", "--steps", "4000", "--seeds", "3", "--eval-every", "2000",
              "--eval-episodes", "2"), 120)
QUICK = Sizes(dataclasses.replace(AgentConfig().complete(), hidden_dims=(32, 32), batch_size=64), 5_000, 200,
              2_000, 10, 3, (1, 2, 4), 4,
              ("--dataset", "antmaze-umaze:3k", "--steps", "200", "--seeds", "1", "--eval-every", "100",
               "--eval-episodes", "1", "--agent.hidden-dims", "32", "32"), 240)


def flag_rates(sizes: Sizes, quick: bool) -> None:
    """Phase 1: one seed's rate under each XLA flag setting, each in its own process."""
    for label, flags in FLAG_SETTINGS.items():
        env = {**os.environ, "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()}
        command = [sys.executable, __file__, "--rate-only", *(["--quick"] if quick else [])]
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True,
                                  timeout=sizes.flag_window_s + 120)
        except subprocess.TimeoutExpired:
            print(f"flags {label}: no result within {sizes.flag_window_s + 120:.0f} s", flush=True)
            continue
        rate = re.search(r"^rate: (.*)$", done.stdout, re.M)
        said = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith(("\t", " "))]
        why = f"exit {done.returncode}" + (f": {said[-1][:160]}" if said else "")
        print(f"flags {label} [{flags or 'none'}]: {rate.group(1) if rate else f'failed ({why})'}", flush=True)


def antmaze_smoke(sizes: Sizes) -> None:
    """Phase 5: a paper-protocol AntMaze population through the ``iql`` command, end to end."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "iql_jax.cli", "train", "--preset", "antmaze", "--data.goal", "relabel",
                   *sizes.antmaze, "--sweep-list", "expectile=0.9", "expectile=0.5", "beta=0", "--out", out,
                   "--name", "antmaze_smoke", "--quiet"]
        t = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=sizes.antmaze_s)
        except subprocess.TimeoutExpired:
            print(f"antmaze smoke: stopped at its {sizes.antmaze_s:.0f} s budget", flush=True)
            return
        lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        tail = " | ".join([line for line in lines if re.search(r"score|success|updates/s", line)][-3:]
                          or lines[-2:] or done.stderr.strip().splitlines()[-1:])
        status = "ok" if done.returncode == 0 else f"exit {done.returncode}"
        print(f"antmaze smoke: {status} in {time.perf_counter() - t:.0f} s ({' '.join(sizes.antmaze)}): {tail}",
              flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes, a few minutes on a CPU (tests the script)")
    p.add_argument("--rate-only", action="store_true", help="(internal) one seed's rate, for the flags phase")
    p.add_argument("--skip", nargs="*", default=(), choices=("flags", "one", "members", "sharded", "antmaze"),
                   help="phases to leave out")
    args = p.parse_args()
    sizes = QUICK if args.quick else FULL
    config, chunk = sizes.config, sizes.chunk
    data = device_data(synthetic(sizes.transitions, 11, 3))
    if args.rate_only:
        done, seconds, compile_s = run_phase(1, data, config, chunk, sizes.target, sizes.flag_window_s)
        print(f"rate: {done / seconds:,.0f} updates/s (compile {compile_s:.1f} s)")
        return
    devices = jax.local_devices()
    print(f"jax {jax.__version__}; {len(devices)} x {devices[0].device_kind} ({jax.default_backend()}); hidden "
          f"{config.hidden_dims}, batch {config.batch_size}, {sizes.transitions:,} synthetic hopper-shaped "
          f"transitions, chunk {chunk}; XLA_FLAGS={os.environ.get('XLA_FLAGS', '(unset)')}", flush=True)
    if "flags" not in args.skip:
        flag_rates(sizes, args.quick)
    one = None
    if "one" not in args.skip:
        one = report("1 seed", 1, *run_phase(1, data, config, chunk, sizes.target, sizes.one_seed_s), sizes.target)
        print(memory(), flush=True)
    if "members" not in args.skip:
        sub_target = max(chunk, sizes.target // 10)  # a tenth of a run per member is enough for a rate
        for members in sizes.members:
            rate = report(f"{members} members ({sharding.shard_count(members)} device(s))", members,
                          *run_phase(members, data, config, chunk, sub_target, sizes.member_s), sub_target)
            one = one or rate
            print(f"  {members} members: wall time of the same updates = {one / rate:.2f}x one seed's; "
                  f"{memory()}", flush=True)
    if "sharded" not in args.skip:
        if len(devices) > 1:
            members, sub_target = len(devices) * 8, max(chunk, sizes.target // 10)
            sharded = report(f"sharded, {members} members over {sharding.shard_count(members)} devices", members,
                             *run_phase(members, data, config, chunk, sub_target, sizes.member_s), sub_target)
            alone = report(f"unsharded, {members} members on one device", members,
                           *run_phase(members, data, config, chunk, sub_target, sizes.member_s, shards=1),
                           sub_target)
            print(f"  sharded / unsharded throughput: {sharded / alone:.2f}x", flush=True)
        else:
            print("sharded path: one device only, nothing to shard (the engine runs its single-device program)")
    if "antmaze" not in args.skip:
        antmaze_smoke(sizes)
    print(f"XLA_PYTHON_CLIENT_PREALLOCATE={os.environ.get('XLA_PYTHON_CLIENT_PREALLOCATE', '(unset)')}")


if __name__ == "__main__":
    main()
