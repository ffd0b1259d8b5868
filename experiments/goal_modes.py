"""Goal handling on moving-goal PointMaze data (issue: goal-reaching data): `--data.goal` conditioned / relabel / none.

Each mode is one ``iql train`` with the defaults (the dataset's preset: antmaze recipe, τ 0.9, β 10, 256×256) on a
built-in moving-goal dataset collected like Minari's ``D4RL/pointmaze`` (DataCollector, N(0, 0.5) noise). Every run
is evaluated on the fixed-goal map (the run's own evaluation), then with ``iql eval --env <registered id>``, where
start and goal are drawn at random on every reset (the collection env without goal re-draws). The table is
written to ``docs/goal_modes.md``.

    python experiments/goal_modes.py --dataset pointmaze-umaze:100k --steps 50000 --seeds 3
    python experiments/goal_modes.py --dataset pointmaze-medium:200k --steps 50000 --seeds 3 --modes conditioned
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def iql(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "iql_jax.cli", *args], check=True, capture_output=True, text=True)
    return out.stdout


def mean_row(text: str) -> tuple[float, float, list[float], list[float]]:
    """Per-member scores and successes from `iql eval`'s table."""
    rows = re.findall(r"^seed=\S+\s+(-?[\d.]+)\s+(-?[\d.]+)\s+([\d.]+)\s*$", text, re.M)
    scores = [float(r[1]) for r in rows]
    success = [float(r[2]) for r in rows]
    return sum(scores) / len(scores), sum(success) / len(success), scores, success


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="pointmaze-umaze:100k")
    p.add_argument("--steps", type=int, default=50_000)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--modes", nargs="+", default=["conditioned", "relabel", "none"])
    p.add_argument("--out", default=str(ROOT / "runs" / "goal_modes"))
    p.add_argument("--doc", default=str(ROOT / "docs" / "goal_modes.md"))
    args = p.parse_args()
    lines = ["| goal mode | fixed-goal map: score | success | registered env (random start+goal): score | success "
             "| wall |", "|---|---|---|---|---|---|"]
    for mode in args.modes:
        name = f"{args.dataset.replace(':', '-')}-{mode}"
        start = time.time()
        iql("train", "--dataset", args.dataset, "--steps", str(args.steps), "--seeds", str(args.seeds),
            "--eval-every", "10000", "--data.goal", mode, "--out", args.out, "--name", name, "--quiet")
        run_dir = Path(args.out) / name
        env_id = json.loads((run_dir / "config.json").read_text())["eval_env"]["env_id"]
        fixed = mean_row(iql("eval", str(run_dir), "--episodes", str(args.episodes)))
        loose = mean_row(iql("eval", str(run_dir), "--episodes", str(args.episodes), "--env", env_id))
        wall = time.time() - start
        per = lambda r: f"{r[0]:.1f} ({', '.join(f'{v:.1f}' for v in r[2])})"
        succ = lambda r: f"{r[1]:.2f} ({', '.join(f'{v:.2f}' for v in r[3])})"
        lines.append(f"| {mode} | {per(fixed)} | {succ(fixed)} | {per(loose)} | {succ(loose)} | {wall / 60:.1f} min |")
        print(lines[-1], flush=True)
    header = (f"## `{args.dataset}`, {args.steps:,} updates, {args.seeds} seeds, {args.episodes} evaluation episodes "
              f"per seed\n\n`python experiments/goal_modes.py --dataset {args.dataset} --steps {args.steps} "
              f"--seeds {args.seeds} --modes {' '.join(args.modes)}`; per-seed values in brackets.\n\n")
    doc = Path(args.doc)
    doc.parent.mkdir(parents=True, exist_ok=True)
    with open(doc, "a") as f:
        f.write(header + "\n".join(lines) + "\n\n")
    print(f"appended to {doc}")


if __name__ == "__main__":
    main()
