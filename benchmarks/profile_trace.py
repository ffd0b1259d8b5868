"""Where the wall time of the fused update goes, from XLA's own per-op trace (not from ablations).

It traces ``--updates`` updates of the engine's chunk program with ``jax.profiler`` while XLA CPU records every
executed op (``--xla_cpu_enable_xprof_traceme``, set here before jax starts), then sums the trace:

* op time by kind: matrix products (dots and the fusions XLA built around them), the other fused elementwise
  loops (bias, ReLU and its backward select, losses, Adam; XLA CPU runs the large ones as ``call``s of parallel
  loops), copies, reductions;
* a timeline of the traced window, microsecond by microsecond: the share of the wall time during which a matrix
  product is running, only other ops are running, or **no op at all is running** (the runtime dispatching the
  next op, the scan's loop control), which no change to the maths can remove.

    python benchmarks/profile_trace.py [--members 1] [--updates 200] [--keep DIR]

Tracing costs a few per cent of speed; the shares are what matter. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import sys
import tempfile
from pathlib import Path

if __name__ == "__main__":
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_xprof_traceme=true").strip()

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import Ours, synthetic  # noqa: E402

from iql_jax import AgentConfig  # noqa: E402
from iql_jax.engine import device_data  # noqa: E402

# Trace events that are the runtime's own bookkeeping, not ops of the program.
_RUNTIME = ("$", "ThunkExecutor", "Pjit", "ThreadpoolListener", "TfrtCpu", "ParseArguments", "Transpose", "while")


def kind(name: str) -> str:
    """The kind of one executed op, from the name XLA gave its instruction."""
    if name.startswith("dot") or "dot_fusion" in name:
        return "matrix products"
    if name.startswith("copy") or "transpose" in name:
        return "copies"
    if "reduce" in name:
        return "reductions"
    if name.startswith("call") or "fusion" in name:
        return "elementwise loops"
    return "other ops"


def summarise(trace_file: Path, window_name: str = "run") -> dict:
    """Op time by kind, per-thread busy time and the timeline shares of the traced Python call ``window_name``."""
    events = [e for e in json.load(gzip.open(trace_file))["traceEvents"] if e.get("ph") == "X"]
    window = max((e for e in events if e["name"].startswith("$") and e["name"].endswith(f" {window_name}")),
                 key=lambda e: e["dur"])
    t0, wall = window["ts"], int(window["dur"])
    ops = [e for e in events if not e["name"].startswith(_RUNTIME) and e["dur"] > 0
           and t0 <= e["ts"] <= t0 + wall]
    by_kind, count, by_thread = collections.Counter(), collections.Counter(), collections.Counter()
    running = np.zeros(wall + 1, np.int16)
    product = np.zeros(wall + 1, bool)
    for e in ops:
        k = kind(e["name"])
        by_kind[k] += e["dur"]
        count[k] += 1
        by_thread[e["tid"]] += e["dur"]
        a, b = int(e["ts"] - t0), int(e["ts"] - t0 + e["dur"])
        running[a:b] += 1
        product[a:b] |= k == "matrix products"
    return {
        "wall_us": wall, "by_kind": by_kind, "count": count, "threads": sorted(by_thread.values(), reverse=True),
        "idle": float((running == 0).mean()), "product": float(product.mean()),
        "other_only": float(((running > 0) & ~product).mean()),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--members", type=int, default=1, help="vmapped members of the traced population")
    p.add_argument("--updates", type=int, default=200, help="updates per member in the traced window")
    p.add_argument("--obs-dim", type=int, default=11)
    p.add_argument("--act-dim", type=int, default=3)
    p.add_argument("--keep", default=None, help="keep the trace in this folder (for TensorBoard / Perfetto)")
    args = p.parse_args()
    chunk = min(100, args.updates)
    data = device_data(synthetic(100_000, args.obs_dim, args.act_dim))
    ours = Ours(args.members, chunk, data, AgentConfig().complete())
    ours.run(args.updates)  # warm
    folder = args.keep or tempfile.mkdtemp(prefix="iql-trace-")
    jax.profiler.start_trace(folder)
    ours.run(args.updates)
    jax.profiler.stop_trace()
    trace = sorted(Path(folder).glob("plugins/profile/*/*.trace.json.gz"))[-1]
    s = summarise(trace)
    wall_ms = s["wall_us"] / 1e3
    total = sum(s["by_kind"].values())
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load}; {args.members} member(s), 256x256, batch 256; "
          f"{args.updates} updates traced in {wall_ms:.0f} ms "
          f"({args.updates * args.members / wall_ms * 1e3:.0f} member-updates/s while tracing)")
    print(f"op time by kind (summed over {len(s['threads'])} threads, {total / 1e3:.0f} ms in all; "
          f"per update: ops executed):")
    for k, v in s["by_kind"].most_common():
        print(f"  {k:18} {v / 1e3:8.1f} ms  {100 * v / total:5.1f} %  {s['count'][k] / args.updates:6.1f} ops")
    print("busy share of each runtime thread: "
          + ", ".join(f"{100 * t / s['wall_us']:.0f} %" for t in s["threads"] if t > 0.01 * s["wall_us"]))
    print(f"timeline of the wall time: a matrix product running {100 * s['product']:.1f} %, only other ops "
          f"{100 * s['other_only']:.1f} %, no op running {100 * s['idle']:.1f} %")
    if args.keep:
        print(f"trace kept: {trace}")


if __name__ == "__main__":
    main()
