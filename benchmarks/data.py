"""Data-layer speed and memory: D4RL HDF5 loading, PointMaze generation, Minari loading.

1. A D4RL-v2-layout HDF5 file (hopper-sized: obs 11, act 3, ``next_observations``, ``timeouts`` every 1000 rows,
   ~1% terminals; float32) of ``--rows`` rows is written once uncompressed and once gzip-compressed (as D4RL ships
   them). Each is loaded by ``load_d4rl_hdf5`` in a fresh subprocess, which reports wall time, the tracemalloc peak
   (NumPy allocations) and the RSS high-water mark above the post-import RSS. Targets: <= 2 s and <= 2x the raw
   arrays (the file's top-level datasets as float32).
2. PointMaze UMaze generation steps/s (the collection loop alone, target >= 10k on one core; Hopper random for
   comparison), then the full
   ``load_builtin`` (collect + reference scores + Minari write) into a temporary cache, its size on disk, and loading
   it back with ``load_minari`` against ``MinariDataset.iterate_episodes``.

Run: ``python benchmarks/data.py [--rows 1000000] [--steps 200000]``. Prints figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import h5py
import numpy as np


def write_d4rl_file(path: Path, rows: int, compression: str | None) -> int:
    """Write a hopper-sized D4RL-layout file; return the bytes of its top-level arrays as float32."""
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(rows, 11)).astype(np.float32)
    arrays = {
        "observations": obs,
        "next_observations": np.roll(obs, -1, axis=0),
        "actions": rng.uniform(-1, 1, size=(rows, 3)).astype(np.float32),
        "rewards": rng.normal(size=rows).astype(np.float32),
        "terminals": rng.random(rows) < 0.01,
        "timeouts": (np.arange(rows) % 1000) == 999,
    }
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=value, compression=compression)
    return sum(a.size * 4 for a in arrays.values())


def child_load(path: str) -> None:
    """Runs in a fresh interpreter: load once, print JSON figures."""
    import tracemalloc

    from iql_jax.data import load_d4rl_hdf5

    rss_before = _rss_bytes()
    tracemalloc.start()
    start = time.perf_counter()
    dataset = load_d4rl_hdf5(path)
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out_bytes = sum(np.asarray(a).nbytes for a in dataset.transitions)
    print(json.dumps(dict(seconds=seconds, traced_peak=traced_peak, rss_extra=peak_rss - rss_before,
                          out_bytes=out_bytes, transitions=dataset.transitions.size)))


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def bench_d4rl(rows: int, workdir: Path) -> None:
    print(f"D4RL HDF5 load, {rows:,} rows (obs 11, act 3):")
    for compression in (None, "gzip"):
        path = workdir / f"hopper-bench-{compression or 'raw'}.hdf5"
        raw = write_d4rl_file(path, rows, compression)
        result = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                                check=True)
        r = json.loads(result.stdout.strip().splitlines()[-1])
        mb = 1 / 2**20
        label = compression or "uncompressed"
        print(f"  {label:<12} file {path.stat().st_size * mb:7.1f} MiB | load {r['seconds']:5.2f} s"
              f" | raw arrays {raw * mb:6.1f} MiB | output {r['out_bytes'] * mb:6.1f} MiB"
              f" | peak extra: tracemalloc {r['traced_peak'] * mb:6.1f} MiB ({r['traced_peak'] / raw:.2f}x raw),"
              f" RSS {r['rss_extra'] * mb:6.1f} MiB ({r['rss_extra'] / raw:.2f}x raw)")


def bench_pointmaze(steps: int, workdir: Path) -> None:
    from iql_jax.data.generate_maze import collect_pointmaze, reference_scores

    from iql_jax.data import load_minari

    reference_scores("umaze")  # cached: the timing below is the collection through DataCollector and its write
    collect_pointmaze("umaze", 2000, 0, workdir / "warm", "local/pm/warm-v0")  # build the env, import everything
    start = time.perf_counter()
    path = collect_pointmaze("umaze", steps, 0, workdir / "timed", "local/pm/timed-v0")
    seconds = time.perf_counter() - start
    episodes = int(load_minari(path).transitions.episode_ends.sum())
    print(f"PointMaze UMaze generation (DataCollector + write): {steps:,} steps in {seconds:.1f} s = "
          f"{steps / seconds:,.0f} steps/s ({episodes:,} episodes, {steps / episodes:.0f} steps per collection goal)")

    from iql_jax.data.generate_random import collect_random

    collect_random("hopper", 500, 0)
    start = time.perf_counter()
    collect_random("hopper", 20_000, 0)
    print(f"Hopper-v5 random generation: {20_000 / (time.perf_counter() - start):,.0f} steps/s")

    os.environ["IQL_JAX_DATA_DIR"] = str(workdir / "cache")
    from iql_jax.data import load_builtin

    start = time.perf_counter()
    reference_scores.cache_clear()
    reference_scores("umaze")
    ref_seconds = time.perf_counter() - start
    start = time.perf_counter()
    dataset = load_builtin("pointmaze-umaze", steps, 0, progress=False)
    total = time.perf_counter() - start
    size = sum(p.stat().st_size for p in Path(dataset.info.source).rglob("*") if p.is_file())
    print(f"  reference scores (2 x 50 eval episodes): {ref_seconds:.1f} s -> min {dataset.info.ref_min_score:.2f},"
          f" max {dataset.info.ref_max_score:.2f}")
    print(f"  load_builtin from scratch (collect + Minari write + load): {total:.1f} s; {size / 2**20:.0f} MiB on disk")
    start = time.perf_counter()
    load_minari(dataset.info.source)
    ours = time.perf_counter() - start
    import minari

    start = time.perf_counter()
    for _ in minari.MinariDataset(Path(dataset.info.source) / "data").iterate_episodes():
        pass
    theirs = time.perf_counter() - start
    print(f"  load_minari {ours:.2f} s vs MinariDataset.iterate_episodes {theirs:.2f} s (iteration alone)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_load(args.child)
        return
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        bench_d4rl(args.rows, Path(tmp))
        bench_pointmaze(args.steps, Path(tmp))


if __name__ == "__main__":
    main()
