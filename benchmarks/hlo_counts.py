"""Ops per update of the engine's compiled chunk, by kind, read from the optimised HLO (deterministic).

Timings on a shared machine are noisy; the compiled program is not. XLA's CPU runtime dispatches every top-level
instruction of a computation as one op (a "thunk"), at a few microseconds each, so the number of ops an update
executes is a cost of its own beside the flops (``docs/performance.md``). This walks the chunk program from its
entry, expands every ``while`` by its known trip count (the scan over updates, and any loop nested in it, such as
the rolled rounds of ``jax.random``'s threefry on CPU), and divides by the chunk's updates:

    python benchmarks/hlo_counts.py [--obs-dim 11] [--act-dim 3] [--members 1] [--chunk 100]
                                    [--program train online act]

``--program`` picks what is counted: ``train`` (the offline chunk, per update), ``online`` (fine-tuning's
iteration: store the collected rows, ``--chunk`` updates on offline ∪ online, the next exploration action; per
update, the official loop being ``--chunk 1``) and ``act`` (evaluation's population policy, per call).

Kinds follow ``benchmarks/profile_trace.py``: matrix products, elementwise loops, copies, reductions, other.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import synthetic  # noqa: E402

from iql_jax import AgentConfig, engine, init_population  # noqa: E402
from iql_jax.engine import device_data  # noqa: E402

# Instructions that name or regroup buffers and dispatch nothing.
_FREE = {"parameter", "constant", "get-tuple-element", "bitcast", "tuple"}
_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%\S+ = .*? ([a-z][\w-]*)\(")


def compiled_chunk(members: int, obs_dim: int, act_dim: int, chunk: int = 100, config: AgentConfig | None = None):
    """The optimised executable of one ``train_chunk`` call at the paper's sizes."""
    config = config or AgentConfig().complete()
    data = device_data(synthetic(10_000, obs_dim, act_dim))
    states, _ = init_population(config, list(range(members)), obs_dim, act_dim, decay_steps=10**6)
    return engine._compiled_chunk(chunk, members == 1).lower(states, data).compile()


def compiled_online(members: int, obs_dim: int, act_dim: int, updates: int = 1):
    """The optimised executable of one fine-tuning iteration (``finetune.programs.compiled_iteration``)."""
    from iql_jax.finetune import buffer, programs

    config = AgentConfig().complete()
    data = device_data(synthetic(10_000, obs_dim, act_dim))
    states, _ = init_population(config, list(range(members)), obs_dim, act_dim, decay_steps=10**6)
    online = buffer.init_buffer(members, 100_000, obs_dim, act_dim)
    totals = engine.metric_totals(programs.metric_names(states, online, data), (members,))
    rows = jnp.zeros((members, updates, 2 * obs_dim + act_dim + 2), jnp.float32)
    obs = jnp.zeros((members, obs_dim), jnp.float32)
    program = programs.compiled_iteration(updates, 1.0, members == 1)
    return program.lower(states, online, totals, rows, obs, jnp.int32(0), data).compile()


def compiled_act(members: int, obs_dim: int, act_dim: int, episodes: int = 10):
    """The optimised executable of evaluation's policy call (``engine.population_policy``): one step of
    ``episodes`` environments per member."""
    states, _ = init_population(AgentConfig().complete(), list(range(members)), obs_dim, act_dim, decay_steps=10**6)
    obs = jnp.zeros((members, episodes, obs_dim), jnp.float32)
    return engine._policy_fn().lower(states, obs).compile()


def _computations(hlo_text: str) -> dict[str, list[str]]:
    computations, name = {}, None
    for line in hlo_text.splitlines():
        header = re.match(r"^(?:ENTRY )?%(\S+) .*\{$", line)
        if header:
            name = header.group(1)
            computations[name] = []
        elif line.startswith("}"):
            name = None
        elif name and line.strip():
            computations[name].append(line)
    return computations


def kind_of(line: str) -> str | None:
    """The op kind an instruction line counts as, or None when it dispatches nothing."""
    match = _INSTRUCTION.match(line)
    if not match or match.group(1) in _FREE:
        return None
    op = match.group(1)
    target = re.search(r"(?:to_apply|calls)=%(\S+?)[,\s]", line + " ")
    callee = target.group(1) if target else ""
    if op == "dot" or "dot" in callee or "kind=kOutput" in line:
        return "matrix products"
    if op == "copy" or op == "transpose" or "copy" in callee and "select" not in callee:
        return "copies"
    if op.startswith("reduce") or "reduce" in callee or "kind=kInput" in line:
        return "reductions"
    if op in ("fusion", "call") or op in _ELEMENTWISE:
        return "elementwise loops"
    return "other"


_ELEMENTWISE = {"add", "subtract", "multiply", "divide", "maximum", "minimum", "select", "compare", "exponential",
                "log", "negate", "convert", "and", "or", "xor", "shift-left", "shift-right-logical", "broadcast"}


def ops_per_update(hlo_text: str, num_updates: int) -> collections.Counter:
    """Ops the program dispatches per update, by kind: every top-level instruction of the entry, each ``while``
    body counted its trip count of times (nested loops multiply), divided by ``num_updates``. A ``conditional``
    counts as one op (its branches run on one update of the chunk)."""
    computations = _computations(hlo_text)
    entry = next(name for name in computations if name.startswith("main"))

    def walk(name: str, times: int) -> collections.Counter:
        counts = collections.Counter()
        for line in computations[name]:
            kind = kind_of(line)
            if kind is None:
                continue
            if " while(" in line:
                trips = int(re.search(r'"known_trip_count":\{"n":"(\d+)"', line).group(1))
                counts += walk(re.search(r"body=%(\S+?),", line).group(1), times * trips)
            counts[kind] += times
        return counts

    return collections.Counter({k: v / num_updates for k, v in walk(entry, 1).items()})


def report(label: str, compiled, num_updates: int) -> collections.Counter:
    """Print one line of ops per update by kind for ``compiled`` and return the counts."""
    counts = ops_per_update(compiled.as_text(), num_updates)
    kinds = ", ".join(f"{k} {v:.1f}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    print(f"{label}: {sum(counts.values()):.1f} ops per update ({kinds})")
    return counts


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--obs-dim", type=int, default=11)
    p.add_argument("--act-dim", type=int, default=3)
    p.add_argument("--members", type=int, default=1)
    p.add_argument("--chunk", type=int, default=100, help="updates per compiled chunk (online: per iteration)")
    p.add_argument("--program", nargs="+", default=["train"], choices=("train", "online", "act"))
    args = p.parse_args()
    dims = (args.members, args.obs_dim, args.act_dim)
    for program in args.program:
        if program == "train":
            compiled, per = compiled_chunk(*dims, args.chunk), args.chunk
            label = f"train chunk, members {args.members}, chunk {args.chunk}"
        elif program == "online":
            compiled, per = compiled_online(*dims, args.chunk), args.chunk
            label = f"fine-tuning iteration, members {args.members}, {args.chunk} update(s) per collect"
        else:
            compiled, per = compiled_act(*dims), 1
            label = f"evaluation policy call, members {args.members}, 10 envs each (per call)"
        report(label, compiled, per)
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost
        print("  cost_analysis (loop bodies once):",
              {k: f"{cost[k]:.4g}" for k in ("flops", "bytes accessed", "transcendentals") if k in cost})


if __name__ == "__main__":
    main()
