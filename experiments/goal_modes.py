"""Goal handling on moving-goal PointMaze data (issue: goal-reaching data): `--data.goal` conditioned / relabel / none.

Each mode is one ``iql train`` with the defaults (the dataset's preset: antmaze recipe, τ 0.9, β 10, 256×256) on a
built-in moving-goal dataset collected like Minari's ``D4RL/pointmaze`` (DataCollector, N(0, 0.5) noise). The final
checkpoint of every seed is then evaluated in two environments:

* the fixed-goal map (the run's own evaluation env): score normalised by the dataset's references (random and
  noise-free controller on that map; return = steps at the goal), and success;
* the collection env (``continuing_task=True, reset_target=True``: the goal is re-drawn at every reach, as in the
  data), cut at the same time limit: return = goals reached, normalised by random and controller measured there;
  success = an episode with at least one reach.

A policy that cannot see the goal (relabel, none) has no way to follow the collection env's goals; only the
conditioned one is expected to score there. The table is appended to ``docs/goal_modes.md``.

    python experiments/goal_modes.py --dataset pointmaze-umaze:100k --steps 50000 --seeds 3
    python experiments/goal_modes.py --dataset pointmaze-medium:200k --steps 50000 --seeds 3 --modes conditioned
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train(args, mode: str, name: str) -> float:
    """One ``iql train`` (skipped when the run already finished); returns its wall time in seconds (0 if reused)."""
    run_dir = Path(args.out) / name
    if (run_dir / "summary.json").is_file():
        return 0.0
    start = time.time()
    subprocess.run([sys.executable, "-m", "iql_jax.cli", "train", "--dataset", args.dataset, "--steps",
                    str(args.steps), "--seeds", str(args.seeds), "--eval-every", "10000", "--data.goal", mode,
                    "--out", args.out, "--name", name, "--quiet"], check=True)
    return time.time() - start


def evaluate_run(run_dir: Path, maze: str, episodes: int) -> dict:
    """Per-seed score and success on the fixed-goal map and in the collection env."""
    from iql_jax import engine
    from iql_jax.data.generate_maze import reference_scores
    from iql_jax.evaluation import EvalEnvSpec, evaluate
    from iql_jax.runs import load_run

    states, members, record, _ = load_run(run_dir)
    policy = engine.population_policy(states)
    fixed = record.eval_env
    collection = EvalEnvSpec(fixed.env_id, {"continuing_task": True, "reset_target": True},
                             fixed.max_episode_steps, fixed.observation_layout)
    out = {}
    for label, spec, refs in (("fixed", fixed, record.ref_scores),
                              ("collection", collection, reference_scores(maze, "collection"))):
        result = evaluate(policy, spec, len(members), episodes, seed=12345, ref_scores=refs)
        out[label] = (result.normalized_score, result.success_rate)
    return out


def cell(values) -> str:
    """Mean ± Student-t 95 % half-width over seeds, then the per-seed values."""
    import common

    return f"{common.fmt_ci(values, 2)} ({', '.join(f'{v:.2f}' for v in values)})"


def main() -> None:
    from iql_jax.runs.plots import plot_scores

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="pointmaze-umaze:100k")
    p.add_argument("--steps", type=int, default=50_000)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--modes", nargs="+", default=["conditioned", "relabel", "none"])
    p.add_argument("--out", default=str(ROOT / "runs" / "goal_modes"))
    p.add_argument("--doc", default=str(ROOT / "docs" / "goal_modes.md"))
    args = p.parse_args()
    maze = args.dataset.partition(":")[0].removeprefix("pointmaze-")
    lines = ["| goal mode | fixed-goal map: score | success | collection env: score | success | train wall |",
             "|---|---|---|---|---|---|"]
    for mode in args.modes:
        name = f"{args.dataset.replace(':', '-')}-{mode}"
        wall = train(args, mode, name)
        r = evaluate_run(Path(args.out) / name, maze, args.episodes)
        lines.append(f"| {mode} | {cell(r['fixed'][0])} | {cell(r['fixed'][1])} | {cell(r['collection'][0])} "
                     f"| {cell(r['collection'][1])} | {wall / 60:.1f} min |")
        print(lines[-1], flush=True)
        # the run's own evaluations during training: has it settled?
        print(f"[figure] {plot_scores([Path(args.out) / name], Path(args.out) / f'{name}_scores.png')}")
    header = (f"## `{args.dataset}`, {args.steps:,} updates, {args.seeds} seeds, {args.episodes} evaluation episodes "
              f"per seed\n\n`python experiments/goal_modes.py --dataset {args.dataset} --steps {args.steps} "
              f"--seeds {args.seeds} --modes {' '.join(args.modes)}`; mean ± 95 % interval over seeds, per-seed values "
              f"in brackets, final checkpoint, {args.episodes} episodes per seed and env; train wall 0.0 = a finished "
              f"run reused.\n\n")
    doc = Path(args.doc)
    doc.parent.mkdir(parents=True, exist_ok=True)
    with open(doc, "a") as f:
        f.write(header + "\n".join(lines) + "\n\n")
    print(f"appended to {doc}")


if __name__ == "__main__":
    main()
