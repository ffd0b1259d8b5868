"""What one compiled chunk of the fused engine contains: HLO op counts and XLA's cost analysis.

Timings on a shared machine are noisy; the compiled program is not. This prints, for the engine's chunk program
(one member, or ``--members`` vmapped), the number of each HLO op kind in the optimised module, the number of
matrix products and XLA's ``cost_analysis`` (flops, bytes accessed, transcendentals). Used in
``docs/performance.md`` to show which non-matmul work a change removed.

    python benchmarks/hlo_counts.py [--obs-dim 11] [--act-dim 3] [--members 1] [--top 12]
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import synthetic  # noqa: E402

from iql_jax import AgentConfig, engine, init_population  # noqa: E402
from iql_jax.engine import device_data  # noqa: E402


def compiled_chunk(members: int, obs_dim: int, act_dim: int, chunk: int = 100):
    """The optimised executable of one ``train_chunk`` call at the paper's sizes."""
    config = AgentConfig()
    data = device_data(synthetic(10_000, obs_dim, act_dim))
    states, _ = init_population(config, list(range(members)), obs_dim, act_dim, decay_steps=10**6)
    return engine._compiled_chunk(chunk, members == 1).lower(states, data).compile()


def op_counts(hlo_text: str) -> collections.Counter:
    """Op kinds of every instruction (fused computations included)."""
    return collections.Counter(re.findall(r"=\s*(?:\([^=]*?\)|\S+)\s+([a-z][\w-]*)\(", hlo_text))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--obs-dim", type=int, default=11)
    p.add_argument("--act-dim", type=int, default=3)
    p.add_argument("--members", type=int, default=1)
    p.add_argument("--top", type=int, default=12)
    args = p.parse_args()
    compiled = compiled_chunk(args.members, args.obs_dim, args.act_dim)
    text = compiled.as_text()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    counts = op_counts(text)
    ignore = {"parameter", "constant", "get-tuple-element", "bitcast", "tuple"}
    print(f"members {args.members}: {sum(counts.values())} instructions, {counts['fusion']} fusions, "
          f"{counts['dot']} dots, {counts['reduce']} reduce, {counts['reduce-window']} reduce-window, "
          f"{counts['copy']} copy, {counts['conditional']} conditional")
    print("cost_analysis (the loop body once):", {k: f"{cost[k]:.4g}" for k in ("flops", "bytes accessed",
                                                                                 "transcendentals") if k in cost})
    top = [f"{k} {v}" for k, v in counts.most_common() if k not in ignore][:args.top]
    print("top ops:", ", ".join(top))


if __name__ == "__main__":
    main()
