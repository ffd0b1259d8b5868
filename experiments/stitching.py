"""The paper's central claim: multi-step dynamic programming through an upper expectile lets IQL *stitch* sub-optimal
trajectories where one-step methods and behaviour cloning cannot.

Datasets `pointmaze-{umaze,medium,large}-stitch`: short segments between nearby cells (1–2 cells, ≤ 60 steps) that
together cover the maze, none joining the evaluation start and goal (umaze (3, 1) → (1, 1), medium (1, 1) → (6, 6),
large (1, 1) → (7, 9): 4, 10 and 14 cells apart); the AntMaze "diverse" idea on PointMaze. By default the fixed-goal
variant (`--data.goal relabel`: r = terminal = 1[‖xy(s′) − goal‖ ≤ 0.45]); `--goal conditioned` trains on the
segments' own goals and evaluates with the fixed goal appended.

Per maze, ONE vmapped program trains every seed of four settings of the antmaze preset (r − 1, goal terminal,
β 10): IQL τ 0.9, IQL τ 0.7, one-step τ 0.5, and BC (β 0). Success at the last evaluation (fraction of episodes that
reach the goal) with 95 % intervals over seeds, success over training, and V over the maze per setting.

    python experiments/stitching.py                      # CPU default: 256x256, 5 seeds (slow on 2 cores)
    python experiments/stitching.py --stop-at 20000      # stop after 20k updates; re-run with --reuse to continue
    python experiments/stitching.py --full               # paper size (1M updates, 10 seeds, 100 episodes): GPU
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import common  # (importing it applies the init work-around before any training)
from iql_jax.data import load_dataset
from iql_jax.runs.logs import read_eval
from iql_jax.runs.plots import plot_scores
from iql_jax.runs.stats import mean_ci95
from iql_jax.runs.value_maps import plot_value_maps

NAME = "stitching"
MAZES = ("umaze", "medium", "large")
SETTINGS = [{"expectile": 0.9}, {"expectile": 0.7}, {"expectile": 0.5}, {"beta": 0.0}]
LABELS = {"expectile=0.9": "IQL τ 0.9", "expectile=0.7": "IQL τ 0.7", "expectile=0.5": "one-step (τ 0.5)",
          "beta=0": "BC (β 0)"}
CPU = dict(data="1M", hidden=(256, 256), steps=100_000, seeds=5, eval_every=10_000, eval_episodes=20)
FULL = dict(data="1M", hidden=(256, 256), steps=1_000_000, seeds=10, eval_every=50_000, eval_episodes=100)
CLAIM = "IQL τ 0.9 success ≥ 0.8 with a 95 % interval separated from one-step's and BC's"


def success_curves(run_dir: Path) -> dict[str, dict[int, list[float]]]:
    """setting -> {step: [success of each seed]} from ``eval.csv``."""
    curves: dict[str, dict[int, list[float]]] = {}
    for r in read_eval(run_dir):
        curves.setdefault(r["setting"], {}).setdefault(r["step"], []).append(r["success"])
    return curves


def verdict(last: dict[str, list[float]]) -> str:
    """The acceptance reading of one maze, from the per-seed success at the last evaluation."""
    iql = mean_ci95(last["expectile=0.9"])
    others = {s: mean_ci95(last[s]) for s in ("expectile=0.5", "beta=0")}
    separated = all(iql[0] - iql[1] > m + h for m, h in others.values())
    if iql[0] >= 0.8 and separated:
        return "**agrees**: " + CLAIM
    reasons = ([f"τ 0.9 success {iql[0]:.2f} < 0.8"] if iql[0] < 0.8 else []) + \
              ([] if separated else ["its interval overlaps one-step's or BC's"])
    return "**does not show the claim**: " + "; ".join(reasons) + " (see the value maps and the reading)"


def main():
    p = common.parser(NAME, __doc__)
    p.add_argument("--mazes", nargs="+", default=list(MAZES), choices=MAZES)
    p.add_argument("--goal", default="relabel", choices=("relabel", "conditioned"),
                   help="the fixed-goal variant (relabel, default) or the goal-conditioned one")
    args = p.parse_args()
    size = common.budget(args, CPU, FULL)
    t0 = time.perf_counter()
    out = Path(args.out)
    sweeps, rates, figures, coverage = common.Sweeps(args), {}, [], {}
    for maze in args.mazes:
        dataset = f"pointmaze-{maze}-stitch:{size['data']}"
        coverage[maze] = load_dataset(dataset, progress=True).info.extra.get("coverage", {})
        config = common.sized_config(dataset, "antmaze", size, out=out / "runs",
                                     name=f"pointmaze-{maze}-stitch-{args.goal}", goal=args.goal)
        result = sweeps.run(maze, config, SETTINGS)
        if result is None:
            return
        rates[maze] = common.engine_updates_per_s(result.run_dir)
        figures.append(plot_scores([result.run_dir], out / f"{NAME}_{maze}_{args.goal}_scores.png"))
        if args.goal == "relabel":  # the goal-conditioned value also depends on the goal: no single map
            figures.append(plot_value_maps(result.run_dir, out / f"{NAME}_{maze}_{args.goal}_values.png",
                                           by="setting"))

    lines = ["| maze | setting | seeds | success, last eval | success, best eval | wall time (min) |",
             "|---|---|---:|---:|---:|---:|"]
    curves_text, verdicts = [], []
    for maze, run_dir in zip(args.mazes, sweeps.run_dirs):
        curves = success_curves(run_dir)
        last = {s: c[max(c)] for s, c in curves.items()}
        best = {s: np.max(np.array([c[k] for k in sorted(c)]), axis=0) for s, c in curves.items()}
        for s in curves:
            lines.append(f"| {maze} | {LABELS.get(s, s)} | {len(last[s])} | {common.fmt_ci(last[s], 2)} | "
                         f"{common.fmt_ci(best[s], 2)} | {sweeps.walls[maze] / 60:.1f} |")
        steps = sorted(next(iter(curves.values())))
        rows = ["| updates | " + " | ".join(LABELS.get(s, s) for s in curves) + " |",
                "|---:|" + "---:|" * len(curves)]
        rows += [f"| {k:,} | " + " | ".join(common.fmt_ci(c[k], 2) for c in curves.values()) + " |" for k in steps]
        per_seed = ", ".join(f"{LABELS.get(s, s)} {' '.join(f'{x:.2f}' for x in last[s])}" for s in curves)
        cov = coverage[maze]
        curves_text.append(f"**{maze}** ({cov.get('segments', '?'):,} segments) — success during training (mean ± 95 % "
                           f"interval over seeds):\n\n" + "\n".join(rows) + f"\n\nPer seed, last evaluation: "
                           f"{per_seed}.\n")
        verdicts.append(f"- {maze}: {verdict(last)}")
    wall = time.perf_counter() - t0
    note = common.settings_note(args, size, len(SETTINGS), " per maze",
                                f"antmaze preset (r − 1, goal terminal, β 10, batch 256, Adam 3e-4, cosine actor lr, "
                                f"γ 0.99, polyak 0.005), `--data.goal {args.goal}`")
    text = (sweeps.header(f"Stitching: IQL vs one-step vs BC on the stitching mazes ({args.goal})", note, wall)
            + "Success = fraction of evaluation episodes that reach the goal (evaluation start and goal fixed, the "
              "segments never join them); last = at the final evaluation, best = each seed's best evaluation; mean ± "
              "Student-t 95 % interval over seeds. The wall time of a maze covers every session of its run "
              "(compiling, training, evaluating).\n\n"
            + "\n".join(lines) + "\n\n" + "\n".join(curves_text) + "\n"
            + f"Against the claim ({CLAIM}):\n\n" + "\n".join(verdicts) + "\n\n"
            + "Engine throughput (member-updates/s, compiled chunks only): "
            + ", ".join(f"{m} {rates[m]:,.0f}" for m in args.mazes) + ".\n\n")
    common.finish(out, f"{NAME}_{args.goal}", text, sweeps.run_dirs, figures, args.figures, wall)


if __name__ == "__main__":
    main()
